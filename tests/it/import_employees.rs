use crate::{assert_rejected_unchanged, both_backends, import_text, EMPLOYEES, UNITS};
use naervaer::db::models::{Employee, Unit};
use naervaer::db::DbConnection;
use naervaer::import::Kind;

const HEAD: &str = "employee_id;name;email;unit_code;leader_of;roles;language\n";

fn organisation(c: &mut DbConnection) {
    import_text(c, Kind::Units, UNITS, false).unwrap();
    import_text(c, Kind::Employees, EMPLOYEES, false).unwrap();
}

fn led_codes(c: &mut DbConnection, number: &str) -> Vec<String> {
    let e = Employee::find_by_number(c, number).unwrap().unwrap();
    let units = Unit::all(c).unwrap();
    let mut codes: Vec<String> = Employee::led_unit_ids(c, &e.id)
        .unwrap()
        .iter()
        .map(|id| units.iter().find(|u| &u.id == id).unwrap().code.clone())
        .collect();
    codes.sort();
    codes
}

both_backends! {
    fn duplicate_employee_ids_are_rejected(t) {
        let mut c = t.conn();
        organisation(&mut c);
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD}7;A;a@x.no;1000;;;\n7;B;b@x.no;1000;;;\n"),
            &["linje 3, kolonne 1 (employee_id): «7» står også på linje 2"]);
    }

    fn unknown_unit_codes_are_rejected(t) {
        let mut c = t.conn();
        organisation(&mut c);
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD}7;A;a@x.no;4242;;;\n8;B;b@x.no;1000;4343|1100;;\n"),
            &["linje 2, kolonne 4 (unit_code): enheten «4242» finnes ikke; importer enhetene først",
              "linje 3, kolonne 5 (leader_of): enheten «4343» finnes ikke; importer enhetene først"]);
    }

    fn a_closed_unit_is_rejected(t) {
        let mut c = t.conn();
        organisation(&mut c);
        import_text(&mut c, Kind::Units, "unit_code;parent_code;name\n1000;;K\n1100;1000;H\n1110;1100;S\n", false).unwrap();
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD}7;A;a@x.no;1200;;;\n"),
            &["linje 2, kolonne 4 (unit_code): enheten «1200» er lagt ned (finnes ikke i siste enhetsimport)"]);
    }

    fn a_control_character_in_a_cell_is_rejected_where_it_is(t) {
        // Found by the fuzzer: a NUL byte reached PostgreSQL, which refused
        // it with a database error instead of a message about the file.
        let mut c = t.conn();
        organisation(&mut c);
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD}7;Kari\u{0}Nordmann;kari@x.no;1000;;;\n8;\"Ola\u{1b}Nordmann\";ola@x.no;1000;;;\n"),
            &["linje 2, kolonne 2 (name): cellen inneholder et kontrolltegn (U+0000); fjern det og last opp fila på nytt",
              "linje 3, kolonne 2 (name): cellen inneholder et kontrolltegn (U+001B); fjern det og last opp fila på nytt"]);
    }

    fn malformed_email_addresses_are_rejected(t) {
        let mut c = t.conn();
        organisation(&mut c);
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD}7;A;kari.nordmann;1000;;;\n8;B;ola@@x.no;1000;;;\n9;C;per@x;1000;;;\n10;D;per hansen@x.no;1000;;;\n"),
            &["linje 2, kolonne 3 (email): ugyldig e-postadresse «kari.nordmann»",
              "linje 3, kolonne 3 (email): ugyldig e-postadresse «ola@@x.no»",
              "linje 4, kolonne 3 (email): ugyldig e-postadresse «per@x»",
              "linje 5, kolonne 3 (email): ugyldig e-postadresse «per hansen@x.no»"]);
    }

    fn unknown_roles_are_rejected(t) {
        let mut c = t.conn();
        organisation(&mut c);
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD}7;A;a@x.no;1000;;amu|superuser;\n"),
            &["linje 2, kolonne 6 (roles): ukjent rolle «superuser» (bruk amu, admin, verneombud eller tillitsvalgt, skilt med |)"]);
    }

    fn unknown_languages_are_rejected(t) {
        let mut c = t.conn();
        organisation(&mut c);
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD}7;A;a@x.no;1000;;;se\n"),
            &["linje 2, kolonne 7 (language): ukjent språk «se» (bruk nb, nn eller en)"]);
    }

    fn missing_values_in_required_columns_are_rejected(t) {
        let mut c = t.conn();
        organisation(&mut c);
        assert_rejected_unchanged(&mut c, Kind::Employees,
            &format!("{HEAD};A;a@x.no;1000;;;\n8;;b@x.no;;;;\n"),
            &["linje 2, kolonne 1 (employee_id): verdi mangler",
              "linje 3, kolonne 2 (name): verdi mangler",
              "linje 3, kolonne 4 (unit_code): verdi mangler"]);
    }

    fn leaders_of_several_units_roles_and_languages_are_imported(t) {
        let mut c = t.conn();
        organisation(&mut c);
        assert_eq!(led_codes(&mut c, "1"), ["1100", "1110"]);
        let kari = Employee::find_by_number(&mut c, "1").unwrap().unwrap();
        assert_eq!(Employee::roles(&mut c, &kari.id).unwrap(), ["amu"]);
        let ola = Employee::find_by_number(&mut c, "2").unwrap().unwrap();
        assert_eq!(ola.email, None, "no e-mail: a paper letter later");
        assert_eq!(ola.language, "nn");
        assert_eq!(Employee::roles(&mut c, &ola.id).unwrap(), ["admin"]);
    }

    fn reimport_updates_by_id_deactivates_the_missing_and_revokes_their_access(t) {
        let mut c = t.conn();
        organisation(&mut c);
        // Kari changes unit and gives up one leader role; Ola is gone; Liv is new.
        let next = format!("{HEAD}1;Kari Nordmann;kari.nordmann@test.no;1200;1110;amu|admin;nb\n3;Per Hansen;per@test.no;1000;1000;;en\n4;Liv Berg;liv@test.no;1110;;;nn\n");
        let o = import_text(&mut c, Kind::Employees, &next, false).unwrap();
        assert_eq!(o.diff.added, ["4 Liv Berg"]);
        assert_eq!(o.diff.deactivated, ["2 Ola Nordmann"]);
        assert_eq!(o.diff.changed.len(), 1);
        assert_eq!(o.diff.changed[0].fields, [
            "email «kari@test.no» → «kari.nordmann@test.no»",
            "unit_code «1110» → «1200»",
            "leader_of «1100|1110» → «1110»",
            "roles «amu» → «admin|amu»",
        ]);
        assert_eq!(led_codes(&mut c, "1"), ["1110"]);
        let ola = Employee::find_by_number(&mut c, "2").unwrap().unwrap();
        assert!(!ola.active, "a missing person is deactivated, not deleted");
        assert!(Employee::roles(&mut c, &ola.id).unwrap().is_empty(), "a person who left keeps no role");
        // Unchanged file: nothing to do.
        assert!(import_text(&mut c, Kind::Employees, &next, false).unwrap().diff.is_empty());
    }

    fn names_with_commas_in_a_semicolon_file_with_bom_stay_whole(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        let text = "\u{feff}Ansattnummer;Navn;E-post;Enhetskode;Leder_for;Roller;Språk\r\n\
                    11;Nordmann, Kari;kari@test.no;1110;;;NN\r\n12;\"Hansen; Per\";;1000;;;\r\n";
        import_text(&mut c, Kind::Employees, text, false).unwrap();
        let all = Employee::all(&mut c).unwrap();
        assert_eq!(all.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["Nordmann, Kari", "Hansen; Per"]);
        assert_eq!(all[0].language, "nn");
        assert_eq!(all[1].language, "nb", "bokmål is the default");
    }

    fn ten_thousand_employees_import_in_one_transaction(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        let mut text = String::from(HEAD);
        for i in 0..10_000 {
            let unit = ["1000", "1100", "1110", "1200"][i % 4];
            let roles = if i % 1000 == 0 { "amu" } else { "" };
            text += &format!("{i};Person {i};p{i}@test.no;{unit};;{roles};nb\n");
        }
        // One bad row at the very end: nothing at all is imported.
        let bad = format!("{text}10000;Siste;ikke-epost;1000;;;nb\n");
        let before = crate::support::dump(&mut c);
        let p = crate::rejection(import_text(&mut c, Kind::Employees, &bad, false));
        assert_eq!(p, ["linje 10002, kolonne 3 (email): ugyldig e-postadresse «ikke-epost»"]);
        assert_eq!(crate::support::dump(&mut c), before);

        let o = import_text(&mut c, Kind::Employees, &text, false).unwrap();
        assert_eq!(o.diff.added.len(), 10_000);
        assert_eq!(Employee::all(&mut c).unwrap().len(), 10_000);
        let amu = Employee::find_by_number(&mut c, "3000").unwrap().unwrap();
        assert_eq!(Employee::roles(&mut c, &amu.id).unwrap(), ["amu"]);
    }
}
