//! HR files as Excel and Windows systems write them: CR LF line ends, a
//! byte-order mark, quoted cells that span lines, and report titles above
//! the header row. Every line number in a message must be the line an
//! editor (or Excel's row number) shows, for every importer, in the
//! library, in `naervaer import --dry-run` and on the administrator's
//! upload preview.

use crate::cli::naervaer;
use crate::results::{multipart, sign_in};
use crate::support::{http_raw, TestServer};
use crate::{both_backends, import_text, rejection, UNITS};
use naervaer::db::DbConnection;
use naervaer::import::{self, Kind};
use naervaer::lang::Lang;

/// The same text with LF, CR LF, and each with a byte-order mark.
fn encodings(lf: &str) -> Vec<(&'static str, Vec<u8>)> {
    let crlf = lf.replace('\n', "\r\n");
    let bom = |s: &str| [&b"\xEF\xBB\xBF"[..], s.as_bytes()].concat();
    vec![
        ("LF", lf.as_bytes().to_vec()),
        ("CRLF", crlf.as_bytes().to_vec()),
        ("BOM+LF", bom(lf)),
        ("BOM+CRLF", bom(&crlf)),
    ]
}

/// Each importer's file: line 3 holds a quoted cell that goes on to line 4,
/// and the problems are on lines 5 and 6, so a count that misses the
/// line break inside the cell, or a CR, is off.
fn cases() -> Vec<(Kind, &'static str, Vec<&'static str>)> {
    vec![
        (
            Kind::Units,
            "unit_code;parent_code;name\n1000;;Testkommune\n1100;1000;\"Helse og\nmestring\"\n1100;1000;Dublett\n1300;9999;Ukjent forelder\n",
            vec![
                "linje 5, kolonne 1 (unit_code): «1100» står også på linje 3",
                "linje 6, kolonne 2 (parent_code): overordnet enhet «9999» finnes ikke i fila",
            ],
        ),
        (
            Kind::Employees,
            "employee_id;name;email;unit_code\n1;Kari;kari@test.no;1000\n2;\"Ola\nNordmann\";;1100\n2;Dublett;;1100\n3;Per;ikke-en-adresse;1000\n",
            vec![
                "linje 5, kolonne 1 (employee_id): «2» står også på linje 3",
                "linje 6, kolonne 3 (email): ugyldig e-postadresse «ikke-en-adresse»",
            ],
        ),
        (
            Kind::Absence,
            "unit_code;period_start;period_end;agreed_workdays;lost_workdays;kommentar\n1100;01.01.2025;31.01.2025;100;5;ok\n1100;01.02.2025;28.02.2025;100;5;\"to\nlinjer\"\n1100;01.02.2025;28.02.2025;100;5;dublett\n1110;01.01.2025;31.01.2025;10;20;for mye\n",
            vec![
                "linje 5, kolonne 2 (period_start): perioden for enhet «1100» overlapper perioden på linje 3",
                "linje 6, kolonne 5 (lost_workdays): tapte dagsverk er flere enn avtalte dagsverk",
                "linje 1, kolonne 6 (kommentar): ukjent kolonne blir ignorert: «kommentar»",
            ],
        ),
    ]
}

fn with_units(c: &mut DbConnection) {
    import_text(c, Kind::Units, UNITS, false).unwrap();
}

both_backends! {
    fn every_importer_names_the_editors_lines_with_any_line_ends_and_a_bom(t) {
        let mut c = t.conn();
        with_units(&mut c);
        let before = crate::support::dump(&mut c);
        for (kind, text, expected) in cases() {
            for (name, bytes) in encodings(text) {
                for dry_run in [true, false] {
                    let r = import::import(&mut c, kind, "fil.csv", &bytes, dry_run);
                    assert_eq!(rejection(r), expected, "{} {name} dry run {dry_run}", kind.name());
                }
            }
        }
        assert_eq!(crate::support::dump(&mut c), before);
    }

    fn a_good_crlf_file_with_a_bom_and_a_multiline_cell_imports(t) {
        let mut c = t.conn();
        let text = "\u{feff}enhetskode;overordnet;navn\r\n1000;;Testkommune\r\n1100;1000;\"Helse og\r\nmestring\"\r\n";
        let o = import::import(&mut c, Kind::Units, "enheter.csv", text.as_bytes(), false).unwrap();
        assert_eq!(o.diff.added, ["1000 Testkommune", "1100 Helse og\r\nmestring"]);
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    }

    fn dry_run_on_the_command_line_names_the_editors_lines_with_any_line_ends(t) {
        let dir = tempfile::tempdir().unwrap();
        let units = dir.path().join("units.csv");
        std::fs::write(&units, UNITS).unwrap();
        assert_eq!(naervaer(Some(&t), &["import", "units", units.to_str().unwrap()]).0, 0);
        for (kind, text, expected) in cases() {
            for (name, bytes) in encodings(text) {
                let file = dir.path().join(format!("{}.csv", kind.name()));
                std::fs::write(&file, &bytes).unwrap();
                let (code, out, err) = naervaer(Some(&t), &["import", kind.name(), file.to_str().unwrap(), "--dry-run"]);
                assert_eq!(code, 1, "{out}{err}");
                for e in expected.iter().filter(|e| !e.contains("ukjent kolonne")) {
                    assert!(err.contains(e), "{} {name}: missing «{e}» in\n{err}", kind.name());
                }
            }
        }
    }

    fn the_upload_preview_names_the_editors_lines_for_every_importer_and_line_end(t) {
        let mut c = t.conn();
        with_units(&mut c);
        import_text(&mut c, Kind::Employees, crate::EMPLOYEES, false).unwrap();
        let admin: String = {
            use diesel::prelude::*;
            use naervaer::db::schema::employees;
            employees::table.filter(employees::employee_number.eq("2")).select(employees::id).get_result(&mut c).unwrap()
        };
        let server = TestServer::start(&t);
        let (cookie, csrf) = sign_in(&server, &mut c, &admin);
        let before = crate::support::dump(&mut c);
        for (kind, text, expected) in cases() {
            for (name, bytes) in encodings(text) {
                let file = String::from_utf8(bytes).unwrap();
                let (ct, body) = multipart(&csrf, kind.name(), "fil.csv", &file);
                let r = http_raw(server.addr, "POST", "/admin/import?lang=nb", &ct, &body, Some(&cookie));
                assert_eq!(r.status, 422, "{} {name}: {}", kind.name(), r.body);
                for e in expected.iter().filter(|e| !e.contains("ukjent kolonne")) {
                    assert!(r.body.contains(e), "{} {name}: missing «{e}» in\n{}", kind.name(), r.body);
                }
            }
        }
        assert_eq!(crate::support::dump(&mut c), before, "a rejected upload changes nothing");
    }
}

/// A sheet whose rows are `rows` (strings; blank strings leave cells empty).
fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (col, v) in row.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32, col as u16, *v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

const TITLE_EMPLOYEES: &[&[&str]] = &[
    &["Ansattliste Fjordvik kommune per 01.11.2026"],
    &[],
    &["ansattnummer", "navn", "epost", "enhetskode"],
    &["1", "Kari Nordmann", "kari@test.no", "1110"],
    &["1", "Dublett", "", "1110"],
];

both_backends! {
    fn headers_below_a_title_are_found_and_the_lines_stay_physical(t) {
        let mut c = t.conn();
        with_units(&mut c);
        let before = crate::support::dump(&mut c);
        // XLSX: the report title on row 1, row 2 blank, the headers on row 3.
        let bytes = xlsx(TITLE_EMPLOYEES);
        let r = import::import(&mut c, Kind::Employees, "ansatte.xlsx", &bytes, true);
        assert_eq!(rejection(r), vec![
            "linje 5, kolonne A (ansattnummer): «1» står også på linje 4",
            "overskriftene står på linje 3; linjene over er hoppet over",
        ]);
        // CSV the same, with CR LF and a title line holding a semicolon.
        let csv = "Ansattliste Fjordvik kommune;per 01.11.2026\r\n;\r\nansattnummer;navn;epost;enhetskode\r\n1;Kari Nordmann;kari@test.no;1110\r\n1;Dublett;;1110\r\n";
        let r = import::import(&mut c, Kind::Employees, "ansatte.csv", csv.as_bytes(), true);
        assert_eq!(rejection(r), vec![
            "linje 5, kolonne 1 (ansattnummer): «1» står også på linje 4",
            "overskriftene står på linje 3; linjene over er hoppet over",
        ]);
        assert_eq!(crate::support::dump(&mut c), before);
        // Without the duplicate the file imports, and says where the headers were.
        let good = xlsx(&TITLE_EMPLOYEES[..4]);
        let o = import::import(&mut c, Kind::Employees, "ansatte.xlsx", &good, false).unwrap();
        assert_eq!(o.diff.added.len(), 1);
        let notes: Vec<String> = o.warnings.iter().map(|w| w.render(Lang::Nb)).collect();
        assert_eq!(notes, ["overskriftene står på linje 3; linjene over er hoppet over"]);
    }

    fn a_file_without_a_recognisable_header_says_what_was_looked_for_and_where(t) {
        let mut c = t.conn();
        with_units(&mut c);
        let before = crate::support::dump(&mut c);
        let bytes = xlsx(&[&["Rapport"], &[], &["Nr", "Fullt navn", "Avdeling"], &["1", "Kari", "1110"]]);
        let r = import::import(&mut c, Kind::Employees, "ansatte.xlsx", &bytes, false);
        assert_eq!(rejection(r), vec![
            "fant ingen overskriftslinje på linje 1 til 4: «employee_id» / «ansattnummer» / «ansattnr», «name» / «navn», «unit_code» / «enhetskode» (én linje må ha alle disse kolonnene)",
        ]);
        assert_eq!(crate::support::dump(&mut c), before);
    }

    fn the_dry_run_and_the_preview_say_where_the_headers_are(t) {
        let mut c = t.conn();
        naervaer::demo::seed(&mut c).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let code = naervaer::demo::UNITS[0].0;
        let file = dir.path().join("fravaer.csv");
        let text = format!("Sykefravær per enhet, januar 2025\r\n\r\nenhetskode;fra;til;avtalte_dagsverk;tapte_dagsverk\r\n{code};01.01.2025;31.01.2025;100;5\r\n");
        std::fs::write(&file, &text).unwrap();
        let (status, out, err) = naervaer(Some(&t), &["import", "absence", file.to_str().unwrap(), "--dry-run"]);
        assert_eq!(status, 0, "{out}{err}");
        assert!(err.contains("overskriftene står på linje 3"), "{err}");

        let admin = naervaer::demo::sign_in_people(&mut c).unwrap()[2].id.clone();
        let server = TestServer::start(&t);
        let (cookie, csrf) = sign_in(&server, &mut c, &admin);
        let (ct, body) = multipart(&csrf, "absence", "fravaer.csv", &text);
        let r = http_raw(server.addr, "POST", "/admin/import?lang=nb", &ct, &body, Some(&cookie));
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("overskriftene står på linje 3"), "{}", r.body);
    }
}
