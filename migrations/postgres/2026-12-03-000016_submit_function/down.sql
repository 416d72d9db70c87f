DROP FUNCTION submit_answers(TEXT, TEXT[], TEXT[], TEXT[], TEXT[]);
