//! Fuzzing the edges: random and mutated input to the three importers (CSV
//! and XLSX), the questionnaire parser and the answering-form parser. No
//! panic; every rejection is a message a person can act on (with line and
//! column where it concerns a cell); a rejected import leaves the database
//! exactly as it was.
//!
//! Bounded in the normal suite; `NAERVAER_FUZZ_CASES` raises the number of
//! cases per target for a long run (see the README).

use crate::support::dump;
use crate::{both_backends, import_text, EMPLOYEES, UNITS};
use naervaer::import::{self, ImportError, IssueKind, Kind};
use naervaer::lang::Lang;
use naervaer::rounds::answer;
use naervaer::survey;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases(default: u32) -> u32 {
    std::env::var("NAERVAER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(default: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Values that have broken importers elsewhere: injection attempts, number
/// and date edge cases, control characters, formulas, very long text.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_string()),
        Just("'; DROP TABLE units; --".to_string()),
        Just("1' OR '1'='1".to_string()),
        Just("\"".to_string()),
        Just("\";\"".to_string()),
        Just("=HYPERLINK(\"http://x\")".to_string()),
        Just("1e309".to_string()),
        Just("-0".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("1 234,5".to_string()),
        Just("1.234,5".to_string()),
        Just("31.02.2025".to_string()),
        Just("2025-13-01".to_string()),
        Just("0000-01-01".to_string()),
        Just("01.01.99999".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{202e}ø\u{301}".to_string()),
        Just("a@b".to_string()),
        Just("x".repeat(5000)),
        "[ -~]{0,12}",
        "\\PC{0,12}",
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    SetField {
        line: usize,
        col: usize,
        value: String,
    },
    DeleteLine(usize),
    DuplicateLine(usize),
    Insert {
        at: usize,
        text: String,
    },
    Truncate(usize),
    Separator(char),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0..12usize, 0..10usize, nasty())
            .prop_map(|(line, col, value)| Edit::SetField { line, col, value }),
        1 => (0..12usize).prop_map(Edit::DeleteLine),
        1 => (0..12usize).prop_map(Edit::DuplicateLine),
        1 => (0..2000usize, "\\PC{1,6}|[;,\"\n\r\t]")
            .prop_map(|(at, text)| Edit::Insert { at, text }),
        1 => (0..2000usize).prop_map(Edit::Truncate),
        1 => prop_oneof![Just(','), Just('\t'), Just('|')].prop_map(Edit::Separator),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::SetField { line, col, value } => {
                if let Some(l) = lines.get_mut(line % n) {
                    let mut fields: Vec<String> = l.split(';').map(str::to_string).collect();
                    let i = col % fields.len();
                    fields[i] = value.clone();
                    *l = fields.join(";");
                }
            }
            Edit::DeleteLine(i) => {
                if !lines.is_empty() {
                    lines.remove(i % n);
                }
            }
            Edit::DuplicateLine(i) => {
                if let Some(l) = lines.get(i % n).cloned() {
                    lines.insert(i % n, l);
                }
            }
            Edit::Insert { at, text } => {
                let mut s = lines.join("\n");
                let mut at = at % (s.len() + 1);
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                s.insert_str(at, text);
                lines = s.lines().map(str::to_string).collect();
            }
            Edit::Truncate(at) => {
                let mut s = lines.join("\n");
                let mut at = at % (s.len() + 1);
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                s.truncate(at);
                lines = s.lines().map(str::to_string).collect();
            }
            Edit::Separator(c) => {
                for l in &mut lines {
                    *l = l.replace(';', &c.to_string());
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

/// An XLSX file holding `text`'s cells, each written as a number when it
/// reads as one (as a spreadsheet would hold it).
fn xlsx(text: &str) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, line) in text.lines().enumerate() {
        for (c, cell) in line.split(';').enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => sheet.write_number(r, c, v).map(|_| ()),
                _ => sheet.write_string(r, c, cell).map(|_| ()),
            }
            .unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

const ABSENCE: &str = "enhetskode;fra;til;avtalte_dagsverk;tapte_dagsverk;egenmeldt;legemeldt;langtid;antall_ansatte\n\
    1110;01.01.2025;31.01.2025;1 050,0;84,5;12;60,5;30;50\n\
    1100;2025-01-01;2025-01-31;2100;150;;;;100\n\
    1200;01.01.2025;31.01.2025;420;21,5;3;18;0;20\n";

/// Imports `bytes` under `name` and checks the contract: it either succeeds
/// or is rejected with located, readable problems and an unchanged database.
fn check_import(
    conn: &mut naervaer::db::DbConnection,
    kind: Kind,
    name: &str,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let before = dump(conn);
    let lines = bytes.iter().filter(|b| **b == b'\n').count() + 2;
    match import::import(conn, kind, name, bytes, false) {
        Ok(_) => Ok(()),
        Err(ImportError::Rejected(issues)) => {
            prop_assert!(!issues.is_empty(), "a rejection names its problems");
            for issue in &issues {
                for lang in Lang::ALL {
                    let text = issue.render(lang);
                    prop_assert!(text.len() > 8, "too short to act on: {text:?}");
                }
                match &issue.location {
                    Some(loc) => {
                        prop_assert!(loc.line >= 1, "{}", issue.render(Lang::Nb));
                        if name.ends_with(".csv") {
                            prop_assert!(loc.line <= lines, "{}", issue.render(Lang::Nb));
                        }
                    }
                    None => prop_assert!(
                        matches!(
                            issue.kind,
                            IssueKind::Unreadable(_)
                                | IssueKind::NotUtf8
                                | IssueKind::Malformed(_)
                                | IssueKind::Empty
                                | IssueKind::MissingColumn { .. }
                                | IssueKind::NoHeader { .. }
                                | IssueKind::HeaderBelowTop { .. }
                                | IssueKind::NoRoot
                                | IssueKind::StrandedEmployees(_)
                        ),
                        "a problem in a cell must say where: {}",
                        issue.render(Lang::Nb)
                    ),
                }
            }
            prop_assert_eq!(dump(conn), before, "a rejected import changed the database");
            Ok(())
        }
        Err(e) => Err(TestCaseError::fail(format!(
            "not a rejection but an error: {e}"
        ))),
    }
}

fn fuzz_importers(t: crate::support::TestDb, default_cases: u32) {
    let mut conn = t.conn();
    import_text(&mut conn, Kind::Units, UNITS, false).unwrap();
    import_text(&mut conn, Kind::Employees, EMPLOYEES, false).unwrap();
    // The runner takes `Fn` closures; the one connection goes through a cell.
    let c = std::cell::RefCell::new(conn);
    let seeds = [
        (Kind::Units, UNITS),
        (Kind::Employees, EMPLOYEES),
        (Kind::Absence, ABSENCE),
    ];
    for (kind, seed) in seeds {
        let mut run = runner(default_cases);
        run.run(
            &(proptest::collection::vec(edit(), 1..6), any::<bool>()),
            |(edits, as_xlsx)| {
                let text = apply(seed, &edits);
                if as_xlsx {
                    check_import(&mut c.borrow_mut(), kind, "fuzz.xlsx", &xlsx(&text))
                } else {
                    check_import(&mut c.borrow_mut(), kind, "fuzz.csv", text.as_bytes())
                }
            },
        )
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        // Bytes that are no file at all, under either name, and a real XLSX
        // file with bytes flipped.
        let mut run = runner(default_cases / 2);
        let book = xlsx(seed);
        run.run(
            &(
                proptest::collection::vec(any::<u8>(), 0..600),
                proptest::collection::vec((0..book.len(), any::<u8>()), 1..8),
            ),
            |(junk, flips)| {
                check_import(&mut c.borrow_mut(), kind, "junk.csv", &junk)?;
                check_import(&mut c.borrow_mut(), kind, "junk.xlsx", &junk)?;
                let mut broken = book.clone();
                for (at, b) in flips {
                    broken[at] = b;
                }
                check_import(&mut c.borrow_mut(), kind, "flipped.xlsx", &broken)
            },
        )
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    }
}

both_backends! {
    fn the_importers_never_panic_and_a_rejection_changes_nothing(t) {
        fuzz_importers(t, 48);
    }
}

#[test]
fn the_questionnaire_parser_never_panics_and_every_error_has_a_line() {
    for seed in [
        naervaer::demo::SURVEY_10_FAKTOR,
        naervaer::demo::SURVEY_MODULE,
    ] {
        let mut run = runner(96);
        run.run(&proptest::collection::vec(edit(), 1..6), |edits| {
            // Survey files are TOML, not tables: the edits still cut, move and
            // insert lines and text, which is what breaks a parser.
            let text = apply(seed, &edits);
            let lines = text.lines().count() + 1;
            if let Err(errors) = survey::parse(&text) {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    let shown = e.to_string();
                    prop_assert!(shown.len() > 8, "too short to act on: {shown:?}");
                    if let Some(line) = e.line {
                        prop_assert!((1..=lines).contains(&line), "{shown}");
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    }
    let mut run = runner(96);
    run.run(&"\\PC{0,400}", |text| {
        let _ = survey::parse(&text);
        Ok(())
    })
    .unwrap();
}

#[test]
fn the_answering_form_parser_never_panics_and_accepts_only_what_the_survey_allows() {
    let surveys = vec![
        survey::parse(naervaer::demo::SURVEY_10_FAKTOR).unwrap(),
        survey::parse(naervaer::demo::SURVEY_MODULE).unwrap(),
    ];
    // Every field with the values it accepts; the generator mostly picks
    // one of those, so that accepted forms are reached too.
    let scale: Vec<String> = (0..=5).map(|v| v.to_string()).collect();
    let mut fields: Vec<(String, Vec<String>)> = vec![
        (
            "go".into(),
            ["next", "back", "submit", "nb", "nn", "en"]
                .map(String::from)
                .to_vec(),
        ),
        ("csrf".into(), vec!["x".into()]),
    ];
    let mut items = std::collections::BTreeSet::new();
    let mut options = std::collections::BTreeSet::new();
    for s in &surveys {
        for item in &s.items {
            fields.push((answer::item_field(s, &item.key), scale.clone()));
            items.insert(answer::item_field(s, &item.key));
        }
        for b in &s.background {
            let f = answer::background_field(s, &b.key);
            fields.push((f.clone(), b.options.iter().map(|o| o.key.clone()).collect()));
            for o in &b.options {
                options.insert((f.clone(), o.key.clone()));
            }
        }
    }
    let pair = (
        proptest::sample::select(fields),
        any::<proptest::sample::Index>(),
        0..100u8,
        nasty(),
        "\\PC{0,20}",
    )
        .prop_map(|((field, valid), pick, roll, nasty, name)| match roll {
            0..=89 => (field, pick.get(&valid).clone()),
            90..=95 => (field, nasty),
            _ => (name, nasty),
        });
    let n_pages = answer::pages(&surveys).len();
    let mut run = runner(256);
    let accepted = std::cell::Cell::new(0);
    run.run(
        &(
            proptest::option::weighted(0.9, 0..n_pages + 1),
            proptest::collection::vec(pair, 0..10),
        ),
        |(page, fields)| {
            let mut pairs: Vec<(String, String)> = page
                .map(|p| ("page".to_string(), p.to_string()))
                .into_iter()
                .chain(fields)
                .collect();
            if pairs.len() > 3 {
                let last = pairs.len() - 1;
                pairs.swap(0, last);
            }
            match answer::parse_form(&surveys, &pairs) {
                Ok(form) => {
                    accepted.set(accepted.get() + 1);
                    // Whatever was accepted is within the scale, the
                    // questionnaires' own options and the pages.
                    prop_assert!(form.target_page(n_pages) < n_pages);
                    for (k, v) in &form.answers.items {
                        prop_assert!(items.contains(k), "unknown item {k}");
                        prop_assert!(*v <= 5, "{k} = {v}");
                    }
                    for (k, v) in &form.answers.background {
                        prop_assert!(options.contains(&(k.clone(), v.clone())), "{k} = {v}");
                    }
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        },
    )
    .unwrap();
    assert!(
        accepted.get() > cases(256) / 20,
        "the generator reaches accepted forms too: {}",
        accepted.get()
    );
}
