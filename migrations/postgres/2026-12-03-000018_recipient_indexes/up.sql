-- "The results are ready" and the requests for written accounts are
-- written in the language of the person their address or number belongs
-- to (outbox::recipient_lang). Without these indexes each message scanned
-- every employee: 50 000 results messages took minutes to send.
CREATE INDEX employees_email ON employees(email);
CREATE INDEX employees_mobile ON employees(mobile);
