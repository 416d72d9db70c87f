use naervaer::lang::Lang;
use naervaer::survey::{self, SurveyError, DECLINE_KEY};
use std::path::Path;

fn shipped(name: &str) -> survey::Survey {
    survey::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("surveys")
            .join(name),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{name}: {}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

#[test]
fn the_shipped_10_faktor_file_has_the_ten_factors_and_36_items() {
    let s = shipped("10-faktor.toml");
    let keys: Vec<&str> = s.factors.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "indre_motivasjon",
            "mestringstro",
            "autonomi",
            "bruk_av_kompetanse",
            "mestringsorientert_ledelse",
            "rolleklarhet",
            "relevant_kompetanseutvikling",
            "fleksibilitetsvilje",
            "mestringsklima",
            "prososial_motivasjon",
        ]
    );
    assert_eq!(s.items.len(), 36);
    for f in &s.factors {
        let n = s.items_of(&f.key).count();
        assert!((3..=5).contains(&n), "{} has {n} items", f.key);
    }
    for b in &s.background {
        assert!(
            b.options.iter().any(|o| o.key == DECLINE_KEY),
            "{} lacks «vil ikke svare»",
            b.key
        );
    }
    assert_eq!(s.scale_labels[0].get(Lang::Nb), "Svært uenig");
    assert_eq!(s.scale_labels[4].get(Lang::Nn), "Svært samd");
    assert_eq!(s.sha256.len(), 64);
}

#[test]
fn the_shipped_presence_module_covers_the_research_list() {
    let s = shipped("naervaer-modul.toml");
    let keys: Vec<&str> = s.factors.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "sosial_stotte",
            "lederstotte",
            "rollekonflikt",
            "motstridende_krav",
            "emosjonelle_krav",
            "skjule_folelser",
            "stress",
            "innflytelse_kontroll",
            "mobbing",
            "fysisk_belastning",
        ]
    );
    assert!(s.factors.iter().all(|f| s.items_of(&f.key).count() == 3));
    assert!(
        s.items.iter().any(|i| i.reverse),
        "risk-worded items are reverse-coded"
    );
}

const VALID: &str = r#"
id = "t"
version = "1"
title = { nb = "T", nn = "T", en = "T" }
[scale]
min = 1
max = 5
dont_know = { nb = "Vet ikke", nn = "Veit ikkje", en = "Don't know" }
[scale.labels]
1 = { nb = "a", nn = "a", en = "a" }
2 = { nb = "b", nn = "b", en = "b" }
3 = { nb = "c", nn = "c", en = "c" }
4 = { nb = "d", nn = "d", en = "d" }
5 = { nb = "e", nn = "e", en = "e" }
[[factors]]
key = "f"
name = { nb = "F", nn = "F", en = "F" }
description = { nb = "D", nn = "D", en = "D" }
[[items]]
key = "i1"
factor = "f"
text = { nb = "x", nn = "x", en = "x" }
[[items]]
key = "i2"
factor = "f"
text = { nb = "x", nn = "x", en = "x" }
[[items]]
key = "i3"
factor = "f"
reverse = true
text = { nb = "x", nn = "x", en = "x" }
[[background]]
key = "b"
question = { nb = "Q", nn = "Q", en = "Q" }
options = [ { key = "o1", label = { nb = "1", nn = "1", en = "1" } }, { key = "o2", label = { nb = "2", nn = "2", en = "2" } } ]
"#;

fn errors(src: &str) -> Vec<String> {
    survey::parse(src)
        .expect_err("should be rejected")
        .iter()
        .map(SurveyError::to_string)
        .collect()
}

#[test]
fn the_minimal_valid_file_passes_and_gets_the_decline_option() {
    let s = survey::parse(VALID).unwrap();
    assert_eq!(s.background[0].options.last().unwrap().key, DECLINE_KEY);
    assert_eq!(
        s.background[0].options.last().unwrap().label.get(Lang::Nb),
        "Vil ikke svare"
    );
    assert!(s.items[2].reverse);
}

#[test]
fn an_item_in_an_unknown_factor_is_explained() {
    let src = VALID.replacen("factor = \"f\"\ntext", "factor = \"g\"\ntext", 1);
    assert_eq!(
        errors(&src),
        [
            "line 16: factor 'f' has 2 item(s); a factor needs at least 3 to give a reliable score",
            "line 21: item 'i1' belongs to unknown factor 'g'",
        ]
    );
}

#[test]
fn a_factor_with_fewer_than_three_items_is_explained() {
    let src = VALID.replace("reverse = true\n", "").replacen("key = \"i3\"\nfactor = \"f\"", "key = \"i3\"\nfactor = \"f2\"", 1)
        + "[[factors]]\nkey = \"f2\"\nname = { nb = \"F\", nn = \"F\", en = \"F\" }\ndescription = { nb = \"D\", nn = \"D\", en = \"D\" }\n";
    let e = errors(&src);
    assert!(e.contains(&"line 16: factor 'f' has 2 item(s); a factor needs at least 3 to give a reliable score".to_string()), "{e:?}");
    assert!(
        e.iter().any(|m| m.ends_with(
            "factor 'f2' has 1 item(s); a factor needs at least 3 to give a reliable score"
        )),
        "{e:?}"
    );
}

#[test]
fn a_missing_translation_is_explained() {
    let src = VALID.replacen(
        "key = \"i2\"\nfactor = \"f\"\ntext = { nb = \"x\", nn = \"x\", en = \"x\" }",
        "key = \"i2\"\nfactor = \"f\"\ntext = { nb = \"x\", en = \"x\" }",
        1,
    );
    assert_eq!(
        errors(&src),
        ["line 24: item 'i2': missing translation nn (Nynorsk)"]
    );
    let src = VALID.replace(
        "title = { nb = \"T\", nn = \"T\", en = \"T\" }",
        "title = { nb = \"T\", nn = \"\", en = \"T\", se = \"T\" }",
    );
    assert_eq!(
        errors(&src),
        [
            "line 4: title: the Nynorsk text (nn) is empty",
            "line 4: title: unknown language key 'se' (use nb, nn, en)"
        ]
    );
}

#[test]
fn duplicate_keys_are_explained_with_the_first_line() {
    let src = VALID.replacen("key = \"i2\"", "key = \"i1\"", 1);
    assert_eq!(
        errors(&src),
        ["line 24: duplicate item key 'i1' (first on line 20)"]
    );
    let src = VALID.replace("{ key = \"o2\"", "{ key = \"o1\"");
    assert_eq!(
        errors(&src),
        ["line 35: duplicate option of background 'b' key 'o1' (first on line 35)"]
    );
}

#[test]
fn a_wrong_scale_and_syntax_errors_are_explained() {
    let src = VALID.replace("max = 5", "max = 7");
    assert_eq!(
        errors(&src),
        ["line 5: scale must run from 1 to 5, not 1 to 7"]
    );
    let src = VALID.replace("5 = { nb = \"e\", nn = \"e\", en = \"e\" }\n", "");
    assert_eq!(errors(&src), ["line 5: scale label for 5 is missing"]);
    let e = errors("id = \"t\"\nversion = \n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("line 2: "), "{e:?}");
    let e = errors(&VALID.replace("reverse = true", "reversed = true"));
    assert!(e[0].contains("unknown field `reversed`"), "{e:?}");
}

#[test]
fn a_toml_error_without_a_message_of_its_own_still_says_what_is_wrong() {
    // Found by the fuzzer: a stray carriage return at the start of the file
    // gave "line 1: " and nothing more.
    let e = naervaer::survey::parse(&format!("\r{}", naervaer::demo::SURVEY_MODULE)).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, Some(1));
    assert_eq!(
        e[0].problem.render(Lang::En),
        "not valid TOML: unexpected control character U+000D"
    );
    assert_eq!(
        e[0].render(Lang::Nb),
        "linje 1: ikke gyldig TOML: uventet kontrolltegn U+000D"
    );
}

#[test]
fn every_problem_is_explained_in_each_language() {
    let src = VALID.replacen("factor = \"f\"\ntext", "factor = \"g\"\ntext", 1);
    let e = survey::parse(&src).unwrap_err();
    let nb: Vec<String> = e.iter().map(|e| e.render(Lang::Nb)).collect();
    let nn: Vec<String> = e.iter().map(|e| e.render(Lang::Nn)).collect();
    assert_eq!(
        nb,
        [
            "linje 16: faktor 'f' har 2 påstand(er); en faktor trenger minst 3 for å gi en pålitelig skår",
            "linje 21: påstand 'i1' hører til en ukjent faktor 'g'",
        ]
    );
    assert_eq!(
        nn[1],
        "linje 21: påstand 'i1' høyrer til ein ukjend faktor 'g'"
    );
    // Each problem reads differently in each language.
    let samples = [
        survey::Problem::NoFactors,
        survey::Problem::EmptyId,
        survey::Problem::ScaleLabelMissing(3),
        survey::Problem::TooManyOptions {
            question: "q".into(),
            n: 40,
        },
        survey::Problem::MissingTranslation {
            subject: survey::Subject::Title,
            lang: Lang::Nn,
        },
    ];
    for p in samples {
        let [b, n, en] = [Lang::Nb, Lang::Nn, Lang::En].map(|l| p.render(l));
        assert!(b != en && n != en, "{p:?}: {b} / {n} / {en}");
    }
}
