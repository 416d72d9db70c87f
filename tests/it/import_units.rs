use crate::{assert_rejected_unchanged, both_backends, import_text, rejection, UNITS};
use naervaer::db::models::Unit;
use naervaer::import::{IssueKind, Kind};

both_backends! {
    fn duplicate_unit_codes_are_rejected_with_line_and_column(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        assert_rejected_unchanged(&mut c, Kind::Units,
            "unit_code;parent_code;name\n1000;;K\n1100;1000;A\n1100;1000;B\n",
            &["linje 4, kolonne 1 (unit_code): «1100» står også på linje 3"]);
    }

    fn an_unknown_parent_is_rejected(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        assert_rejected_unchanged(&mut c, Kind::Units,
            "unit_code;parent_code;name\n1000;;K\n1100;9999;A\n",
            &["linje 3, kolonne 2 (parent_code): overordnet enhet «9999» finnes ikke i fila"]);
    }

    fn a_cycle_is_rejected(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        assert_rejected_unchanged(&mut c, Kind::Units,
            "unit_code;parent_code;name\n1000;;K\n1100;1120;A\n1110;1100;B\n1120;1110;C\n",
            &["linje 3, kolonne 2 (parent_code): enhetene danner en sløyfe: 1100 → 1120 → 1110 → 1100"]);
    }

    fn a_second_root_is_rejected(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        assert_rejected_unchanged(&mut c, Kind::Units,
            "unit_code;parent_code;name\n1000;;K\n2000;;Annen kommune\n",
            &["linje 3, kolonne 2 (parent_code): «2000» har ingen overordnet enhet, men det har allerede rotenheten på linje 2"]);
    }

    fn a_tree_without_root_is_rejected(t) {
        let mut c = t.conn();
        assert_rejected_unchanged(&mut c, Kind::Units,
            "unit_code;parent_code;name\n1;2;A\n2;1;B\n",
            &["ingen enhet står uten overordnet enhet: treet har ingen rot",
              "linje 2, kolonne 2 (parent_code): enhetene danner en sløyfe: 1 → 2 → 1"]);
    }

    fn a_missing_required_column_is_named_with_its_alias(t) {
        let mut c = t.conn();
        assert_rejected_unchanged(&mut c, Kind::Units,
            "unit_code;parent_code\n1000;\n",
            &["linje 1: kolonnen mangler i overskriftslinja: «name» / «navn»"]);
    }

    fn missing_values_are_rejected(t) {
        let mut c = t.conn();
        assert_rejected_unchanged(&mut c, Kind::Units,
            "unit_code;parent_code;name\n1000;;\n;1000;X\n",
            &["linje 2, kolonne 3 (name): verdi mangler", "linje 3, kolonne 1 (unit_code): verdi mangler"]);
    }

    fn every_problem_is_listed_in_file_order(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        let bad = "enhetskode,overordnet,navn,kostnadssted\n1000,,K,1\n1100,1000,A,2\n1100,1000,B,3\n2000,,R,4\n1200,9999,O,5\n,1000,X,6\n";
        let p = rejection(import_text(&mut c, Kind::Units, bad, true));
        assert_eq!(p, vec![
            "linje 4, kolonne 1 (enhetskode): «1100» står også på linje 3",
            "linje 5, kolonne 2 (overordnet): «2000» har ingen overordnet enhet, men det har allerede rotenheten på linje 2",
            "linje 6, kolonne 2 (overordnet): overordnet enhet «9999» finnes ikke i fila",
            "linje 7, kolonne 1 (enhetskode): verdi mangler",
            "linje 1, kolonne 4 (kostnadssted): ukjent kolonne blir ignorert: «kostnadssted»",
        ]);
    }

    fn a_file_that_is_not_utf8_is_rejected_with_its_line(t) {
        let mut c = t.conn();
        let before = crate::support::dump(&mut c);
        let bytes = b"unit_code;parent_code;name\n1000;;Kommune\n1100;1000;Sj\xf8\n";
        let r = naervaer::import::import(&mut c, Kind::Units, "latin1.csv", bytes, false);
        assert_eq!(rejection(r), vec!["linje 3: fila er ikke UTF-8; lagre den som «CSV UTF-8» eller XLSX"]);
        assert_eq!(crate::support::dump(&mut c), before);
    }

    fn semicolons_bom_quotes_and_norwegian_headers_are_read(t) {
        let mut c = t.conn();
        let text = "\u{feff}Enhetskode;Overordnet;Navn\r\n1000;;\"Kommune; med semikolon\"\r\n1100;1000;Helse, omsorg og mestring\r\n\r\n";
        let o = import_text(&mut c, Kind::Units, text, false).unwrap();
        assert!(o.applied);
        let units = Unit::all(&mut c).unwrap();
        assert_eq!(units.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Kommune; med semikolon", "Helse, omsorg og mestring"]);
        assert_eq!(units[1].parent_id.as_deref(), Some(units[0].id.as_str()));
    }

    fn an_xlsx_file_with_numeric_codes_imports(t) {
        let mut c = t.conn();
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, h) in ["Enhetskode", "Overordnet", "Navn"].iter().enumerate() {
            sheet.write_string(0, col as u16, *h).unwrap();
        }
        sheet.write_number(1, 0, 1000.0).unwrap();
        sheet.write_string(1, 2, "Kommune").unwrap();
        sheet.write_number(2, 0, 1100.0).unwrap();
        sheet.write_number(2, 1, 1000.0).unwrap();
        sheet.write_string(2, 2, "Helse").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        naervaer::import::import(&mut c, Kind::Units, "units.xlsx", &bytes, false).unwrap();
        let codes: Vec<String> = Unit::all(&mut c).unwrap().into_iter().map(|u| u.code).collect();
        assert_eq!(codes, ["1000", "1100"]);

        // Problems in a sheet are located by Excel's column letters.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "unit_code").unwrap();
        sheet.write_string(0, 1, "parent_code").unwrap();
        sheet.write_string(0, 2, "name").unwrap();
        sheet.write_string(1, 0, "1000").unwrap();
        sheet.write_string(1, 2, "Kommune").unwrap();
        sheet.write_string(2, 0, "1100").unwrap();
        sheet.write_string(2, 1, "77").unwrap();
        sheet.write_string(2, 2, "Helse").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let before = crate::support::dump(&mut c);
        let r = naervaer::import::import(&mut c, Kind::Units, "units.xlsx", &bytes, false);
        assert_eq!(rejection(r), vec!["linje 3, kolonne B (parent_code): overordnet enhet «77» finnes ikke i fila"]);
        assert_eq!(crate::support::dump(&mut c), before);
    }

    fn a_corrupt_xlsx_file_is_rejected_clearly(t) {
        let mut c = t.conn();
        let r = naervaer::import::import(&mut c, Kind::Units, "units.xlsx", b"PK\x03\x04 not really a zip", false);
        let p = rejection(r);
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("fila kan ikke leses: not a readable XLSX file"), "{p:?}");
    }

    fn reimport_updates_by_code_and_deactivates_the_missing(t) {
        let mut c = t.conn();
        let first = import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        assert_eq!(first.diff.added.len(), 4);
        let ids_before: Vec<(String, String)> = Unit::all(&mut c).unwrap().into_iter().map(|u| (u.code, u.id)).collect();
        // 1110 moves under 1200 and is renamed; 1100 disappears; 1300 is new.
        let next = "unit_code;parent_code;name\n1000;;Testkommune\n1110;1200;Sykehjemmet\n1200;1000;Oppvekst\n1300;1000;Teknisk\n";
        let o = import_text(&mut c, Kind::Units, next, false).unwrap();
        assert_eq!(o.diff.added, ["1300 Teknisk"]);
        assert_eq!(o.diff.changed.len(), 1);
        assert_eq!(o.diff.changed[0].key, "1110");
        assert_eq!(o.diff.changed[0].fields, ["name «Sykehjem» → «Sykehjemmet»", "parent_code «1100» → «1200»"]);
        assert_eq!(o.diff.deactivated, ["1100 Helse"]);
        let units = Unit::all(&mut c).unwrap();
        let by_code = |code: &str| units.iter().find(|u| u.code == code).unwrap().clone();
        assert!(!by_code("1100").active, "a missing unit is closed, not deleted");
        assert_eq!(by_code("1110").parent_id, Some(by_code("1200").id));
        for (code, id) in ids_before {
            assert_eq!(by_code(&code).id, id, "ids are stable across imports");
        }
        // The same file again changes nothing; bringing 1100 back reopens it.
        assert!(import_text(&mut c, Kind::Units, next, false).unwrap().diff.is_empty());
        let back = format!("{next}1100;1000;Helse\n");
        let o = import_text(&mut c, Kind::Units, &back, false).unwrap();
        assert_eq!(o.diff.changed[0].fields, ["active no → yes"]);
    }

    fn a_dry_run_reports_the_diff_and_changes_nothing(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        let before = crate::support::dump(&mut c);
        let next = "unit_code;parent_code;name\n1000;;Testkommune\n1100;1000;Helse og mestring\n1200;1000;Oppvekst\n1300;1000;Teknisk\n";
        let o = import_text(&mut c, Kind::Units, next, true).unwrap();
        assert!(!o.applied);
        assert_eq!(o.diff.added, ["1300 Teknisk"]);
        assert_eq!(o.diff.changed[0].fields, ["name «Helse» → «Helse og mestring»"]);
        assert_eq!(o.diff.deactivated, ["1110 Sykehjem"]);
        assert_eq!(crate::support::dump(&mut c), before);
        let rendered = o.diff.render(naervaer::lang::Lang::Nb);
        assert!(rendered.contains("Lagt til (1):\n  + 1300 Teknisk\n"), "{rendered}");
        assert!(rendered.contains("Deaktivert (1):\n  - 1110 Sykehjem\n"), "{rendered}");
    }

    fn closing_units_with_people_in_them_warns(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        import_text(&mut c, Kind::Employees, crate::EMPLOYEES, false).unwrap();
        let o = import_text(&mut c, Kind::Units, "unit_code;parent_code;name\n1000;;K\n1200;1000;O\n", false).unwrap();
        assert_eq!(o.warnings.iter().map(|w| w.kind.clone()).collect::<Vec<_>>(), [IssueKind::StrandedEmployees(1)]);
    }
}
