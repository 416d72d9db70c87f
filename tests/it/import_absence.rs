//! The absence importer (DATA-FORMATS.md, absence.csv) on both backends:
//! Norwegian numbers and dates, every rejection rule with line and column
//! and the database unchanged, replacing a period, XLSX with date cells.

use crate::{assert_rejected_unchanged, both_backends, import_text, UNITS};
use diesel::prelude::*;
use naervaer::db::schema::{absence, units};
use naervaer::db::DbConnection;
use naervaer::import::Kind;

const HEAD: &str = "unit_code;period_start;period_end;agreed_workdays;lost_workdays;lost_self_certified;lost_doctor_certified\n";

/// (unit code, start, end, agreed, lost, self-certified, doctor-certified)
type Stored = (String, String, String, f64, f64, Option<f64>, Option<f64>);

fn rows(c: &mut DbConnection) -> Vec<Stored> {
    absence::table
        .inner_join(units::table)
        .order((units::code, absence::period_start))
        .select((
            units::code,
            absence::period_start,
            absence::period_end,
            absence::agreed_workdays,
            absence::lost_workdays,
            absence::lost_self_certified,
            absence::lost_doctor_certified,
        ))
        .load(c)
        .unwrap()
}

fn with_units(t: &crate::support::TestDb) -> DbConnection {
    let mut c = t.conn();
    import_text(&mut c, Kind::Units, UNITS, false).unwrap();
    c
}

both_backends! {
    fn norwegian_numbers_dates_and_headers_import(t) {
        let mut c = with_units(&t);
        let file = "enhetskode;fra;til;avtalte_dagsverk;tapte_dagsverk;egenmeldt;legemeldt;langtid;antall_ansatte\n\
            1110;01.01.2025;31.03.2025;1 210,0;131,5;18,0;113,5;60;14\n\
            1110;2025-04-01;2025-06-30;1\u{a0}190,5;99.25;;;;\n\
            1200;01.01.2025;31.03.2025;640;12;12;0,5;;\n";
        let o = import_text(&mut c, Kind::Absence, file, false).unwrap();
        assert_eq!(o.diff.added.len(), 3);
        assert_eq!(rows(&mut c), vec![
            ("1110".into(), "2025-01-01".into(), "2025-03-31".into(), 1210.0, 131.5, Some(18.0), Some(113.5)),
            ("1110".into(), "2025-04-01".into(), "2025-06-30".into(), 1190.5, 99.25, None, None),
            ("1200".into(), "2025-01-01".into(), "2025-03-31".into(), 640.0, 12.0, Some(12.0), Some(0.5)),
        ]);
    }

    fn importing_the_same_period_again_replaces_it_and_says_so(t) {
        let mut c = with_units(&t);
        import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;01.01.2025;31.03.2025;1000;100;50;50\n"), false).unwrap();
        let o = import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;2025-01-01;2025-03-31;1000;80;40;40\n1110;01.04.2025;30.06.2025;1000;70;35;35\n"), false).unwrap();
        assert_eq!(o.diff.changed.len(), 1);
        assert_eq!(o.diff.changed[0].key, "1110 2025-01-01–2025-03-31");
        assert!(o.diff.render(naervaer::lang::Lang::Nb).contains("replaced"));
        assert_eq!(o.diff.added, ["1110 2025-04-01–2025-06-30"]);
        let r = rows(&mut c);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].4, 80.0);
    }

    fn every_rejection_rule_names_line_and_column_and_changes_nothing(t) {
        let mut c = with_units(&t);
        import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;01.01.2025;31.03.2025;1000;100;50;50\n"), false).unwrap();
        let cases: Vec<(String, Vec<&str>)> = vec![
            (format!("{HEAD}1110;01.04.2025;30.06.2025;-5;1;;\n"),
                vec!["linje 2, kolonne 4 (agreed_workdays): «-5» er negativt"]),
            (format!("{HEAD}1110;01.04.2025;30.06.2025;100;120;;\n"),
                vec!["linje 2, kolonne 5 (lost_workdays): tapte dagsverk er flere enn avtalte dagsverk"]),
            (format!("{HEAD}1110;01.04.2025;30.06.2025;100;10;6;4,6\n"),
                vec!["linje 2, kolonne 7 (lost_doctor_certified): egenmeldt, legemeldt eller langtid er til sammen mer enn tapte dagsverk (utover 0,5 i avrunding)"]),
            (format!("{HEAD}1110;30.06.2025;01.04.2025;100;10;;\n"),
                vec!["linje 2, kolonne 3 (period_end): perioden slutter før den begynner"]),
            (format!("{HEAD}1110;01.04.2025;30.06.2025;100;10;;\n1110;01.06.2025;30.09.2025;100;10;;\n"),
                vec!["linje 3, kolonne 2 (period_start): perioden for enhet «1110» overlapper perioden på linje 2"]),
            (format!("{HEAD}1110;01.03.2025;31.05.2025;100;10;;\n"),
                vec!["linje 2, kolonne 2 (period_start): perioden for enhet «1110» overlapper den importerte perioden 2025-01-01–2025-03-31 (bare nøyaktig samme periode kan erstattes)"]),
            (format!("{HEAD}9999;01.04.2025;30.06.2025;100;10;;\n"),
                vec!["linje 2, kolonne 1 (unit_code): enheten «9999» finnes ikke; importer enhetene først"]),
            (format!("{HEAD}1110;01.04.2025;30.06.2025;1.210,5;10;;\n"),
                vec!["linje 2, kolonne 4 (agreed_workdays): «1.210,5» er ikke et tall (eksempel: 1 210,5)"]),
            (format!("{HEAD}1110;31.02.2025;30.06.2025;100;10;;\n"),
                vec!["linje 2, kolonne 2 (period_start): «31.02.2025» er ikke en dato (01.01.2025 eller 2025-01-01)"]),
            (format!("{HEAD}1110;01.04.2025;30.06.2025;;10;;\n"),
                vec!["linje 2, kolonne 4 (agreed_workdays): verdi mangler"]),
            ("unit_code;period_start;period_end;lost_workdays\n1110;01.04.2025;30.06.2025;10\n".into(),
                vec!["linje 1: kolonnen mangler i overskriftslinja: «agreed_workdays» / «avtalte_dagsverk»"]),
        ];
        for (file, expected) in &cases {
            assert_rejected_unchanged(&mut c, Kind::Absence, file, expected);
        }
        // Within the rounding allowance it passes.
        import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;01.04.2025;30.06.2025;100;10;6;4,5\n"), false).unwrap();
    }

    fn an_xlsx_file_with_date_and_number_cells_imports(t) {
        let mut c = with_units(&t);
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let date_fmt = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
        for (i, h) in ["enhetskode", "fra", "til", "avtalte_dagsverk", "tapte_dagsverk"].iter().enumerate() {
            sheet.write_string(0, i as u16, *h).unwrap();
        }
        sheet.write_number(1, 0, 1110.0).unwrap();
        sheet.write_datetime_with_format(1, 1, rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 1, 1).unwrap(), &date_fmt).unwrap();
        sheet.write_datetime_with_format(1, 2, rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 3, 31).unwrap(), &date_fmt).unwrap();
        sheet.write_number(1, 3, 1210.5).unwrap();
        sheet.write_number(1, 4, 131.5).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        naervaer::import::import(&mut c, Kind::Absence, "fravaer.xlsx", &bytes, false).unwrap();
        assert_eq!(rows(&mut c), vec![("1110".into(), "2025-01-01".into(), "2025-03-31".into(), 1210.5, 131.5, None, None)]);
    }

    fn the_imported_periods_are_listed_once_each_with_several_ends_on_one_first_day(t) {
        let mut c = with_units(&t);
        assert_eq!(naervaer::analysis::absence_periods(&mut c).unwrap(), []);
        let mut own = naervaer::analysis::OwnAbsence::load(&mut c).unwrap();
        assert_eq!(own.windows_and_periods(&mut c, &[]).unwrap().1, []);
        // Months, quarters and an odd period; the same first day with
        // different last days; the same period in several units.
        let file = format!("{HEAD}\
            1110;01.01.2025;31.01.2025;100;1;;\n\
            1110;01.02.2025;28.02.2025;100;1;;\n\
            1110;01.03.2025;31.03.2025;100;1;;\n\
            1200;01.01.2025;31.03.2025;300;3;;\n\
            1200;01.04.2025;30.06.2025;300;3;;\n\
            1100;01.01.2025;31.01.2025;100;1;;\n\
            1100;01.02.2025;30.06.2025;500;5;;\n");
        import_text(&mut c, Kind::Absence, &file, false).unwrap();
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let listed = naervaer::analysis::absence_periods(&mut c).unwrap();
        // As SELECT DISTINCT gives them, in order.
        let mut distinct: Vec<(String, String)> = absence::table
            .select((absence::period_start, absence::period_end))
            .distinct()
            .load(&mut c)
            .unwrap();
        distinct.sort();
        let distinct: Vec<_> = distinct.iter().map(|(a, b)| (d(a), d(b))).collect();
        assert_eq!(listed, distinct);
        // The analysis takes them from its pass over the kept series.
        let mut own = naervaer::analysis::OwnAbsence::load(&mut c).unwrap();
        let (_, from_series) = own.windows_and_periods(&mut c, &[]).unwrap();
        assert_eq!(from_series, listed);
        assert_eq!(
            listed,
            [
                (d("2025-01-01"), d("2025-01-31")),
                (d("2025-01-01"), d("2025-03-31")),
                (d("2025-02-01"), d("2025-02-28")),
                (d("2025-02-01"), d("2025-06-30")),
                (d("2025-03-01"), d("2025-03-31")),
                (d("2025-04-01"), d("2025-06-30")),
            ]
        );
    }
}

/// Each unit's own absence in the window by one SQL aggregate over the
/// absence rows, as the analysis computed it before the kept series: the
/// reference they are checked against. SQL's SUM and MAX skip NULLs and
/// give NULL when every value is NULL; days are summed as whole
/// millionths (exact on both backends); units that report no headcount
/// count their active employees.
fn own_absence_by_sql(
    c: &mut DbConnection,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> std::collections::HashMap<String, naervaer::analysis::Sums> {
    use diesel::dsl::{max, sql};
    use diesel::sql_types::{BigInt, Nullable};
    use naervaer::db::schema::employees;
    fn micro_sum(column: &str) -> diesel::expression::SqlLiteral<Nullable<BigInt>> {
        sql::<Nullable<BigInt>>(&format!(
            "CAST(SUM(CAST(ROUND({column} * 1000000) AS BIGINT)) AS BIGINT)"
        ))
    }
    type Row = (
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i32>,
    );
    let rows: Vec<Row> = absence::table
        .filter(absence::period_start.ge(from.to_string()))
        .filter(absence::period_end.le(to.to_string()))
        .group_by(absence::unit_id)
        .select((
            absence::unit_id,
            micro_sum("agreed_workdays"),
            micro_sum("lost_workdays"),
            micro_sum("lost_self_certified"),
            micro_sum("lost_doctor_certified"),
            micro_sum("lost_long_term"),
            max(absence::headcount),
        ))
        .load(c)
        .unwrap();
    let staff: std::collections::HashMap<String, i64> = employees::table
        .filter(employees::active.eq(true))
        .group_by(employees::unit_id)
        .select((employees::unit_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(c)
        .unwrap()
        .into_iter()
        .collect();
    let days = |m: i64| m as f64 / 1e6;
    rows.into_iter()
        .map(|(unit, agreed, lost, sc, dc, lt, hc)| {
            let headcount = hc
                .map(|h| h.max(0) as u32)
                .unwrap_or_else(|| staff.get(&unit).copied().unwrap_or(0) as u32);
            let sums = naervaer::analysis::Sums {
                agreed: days(agreed.unwrap()),
                lost: days(lost.unwrap()),
                self_certified: sc.map(days),
                doctor_certified: dc.map(days),
                long_term: lt.map(days),
                headcount,
            };
            (unit, sums)
        })
        .collect()
}

/// The analysis sums windows from the kept series, the SQL aggregate over
/// the rows is the reference: they agree on every window, each unit, each
/// part and headcount (none given, some given), after imports and a
/// replacement.
fn series_agree_with_the_rows(c: &mut DbConnection) {
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let mut windows: Vec<_> = naervaer::analysis::absence_periods(c).unwrap();
    for (a, b) in [
        ("2025-01-01", "2025-12-31"),
        ("2024-12-01", "2025-11-30"),
        ("2025-01-15", "2025-06-30"),
        ("2026-01-01", "2026-12-31"),
    ] {
        windows.push((d(a), d(b)));
    }
    let mut own = naervaer::analysis::OwnAbsence::load(c).unwrap();
    // Every window alone, and all in one pass as the trend asks.
    let in_one_pass = own.windows(c, &windows).unwrap();
    for ((from, to), together) in windows.into_iter().zip(in_one_pass) {
        let by_series = own.window(c, from, to).unwrap();
        let by_sql = own_absence_by_sql(c, from, to);
        assert_eq!(by_series, by_sql, "{from}–{to}");
        assert_eq!(together, by_sql, "{from}–{to}, in one pass");
    }
    // The periods the analysis takes from the same pass.
    let (_, periods) = own.windows_and_periods(c, &[]).unwrap();
    assert_eq!(periods, naervaer::analysis::absence_periods(c).unwrap());
}

both_backends! {
    fn the_kept_series_sum_every_window_as_the_rows_do(t) {
        let mut c = with_units(&t);
        import_text(&mut c, Kind::Employees, crate::EMPLOYEES, false).unwrap();
        let file = "unit_code;period_start;period_end;agreed_workdays;lost_workdays;lost_self_certified;lost_doctor_certified;lost_long_term;headcount\n\
            1110;01.01.2025;31.01.2025;100,25;1,125;0,5;;;\n\
            1110;01.02.2025;28.02.2025;100;2;;1,5;;12\n\
            1110;01.03.2025;31.03.2025;100;3;1;2;0,333333;9\n\
            1200;01.01.2025;31.03.2025;300;3;;;;\n\
            1200;01.04.2025;30.06.2025;300;3;;;;\n\
            1100;01.01.2025;31.01.2025;100;1;;;;4\n\
            1100;01.02.2025;30.06.2025;500;5;;;;\n";
        import_text(&mut c, Kind::Absence, file, false).unwrap();
        series_agree_with_the_rows(&mut c);
        // By hand, so that both cannot be wrong alike: unit 1110 in the
        // first quarter, and 1200 with no headcount counts its one employee.
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let q1 = naervaer::analysis::own_absence(&mut c, d("2025-01-01"), d("2025-03-31")).unwrap();
        let unit = |code: &str, c: &mut DbConnection| -> String {
            units::table.filter(units::code.eq(code)).select(units::id).get_result(c).unwrap()
        };
        let s1110 = q1[&unit("1110", &mut c)];
        assert_eq!((s1110.agreed, s1110.lost), (300.25, 6.125));
        assert_eq!((s1110.self_certified, s1110.doctor_certified, s1110.long_term), (Some(1.5), Some(3.5), Some(0.333333)));
        assert_eq!(s1110.headcount, 12);
        let s1200 = q1[&unit("1200", &mut c)];
        assert_eq!((s1200.agreed, s1200.self_certified, s1200.headcount), (300.0, None, 1));
        let s1100 = q1[&unit("1100", &mut c)];
        assert_eq!((s1100.agreed, s1100.headcount), (100.0, 4), "1100's second period reaches past the window");
        // A replaced period and a new one.
        import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;01.02.2025;28.02.2025;90;9;4;5\n1200;01.07.2025;30.09.2025;310;4;;\n"), false).unwrap();
        series_agree_with_the_rows(&mut c);
        let q1 = naervaer::analysis::own_absence(&mut c, d("2025-01-01"), d("2025-03-31")).unwrap();
        assert_eq!(q1[&unit("1110", &mut c)].agreed, 290.25);
        // A rejected file leaves the series as it was.
        let before = naervaer::db::absence_series::load(&mut c).unwrap().units().unwrap();
        assert!(import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;01.02.2025;31.03.2025;90;9;4;5\n"), false).is_err());
        assert_eq!(naervaer::db::absence_series::load(&mut c).unwrap().units().unwrap(), before);
        // The staff changes: Ola moves to 1110, Per leaves, three join
        // 1200. Its absence gives no headcount, so it counts them now
        // (the staff is kept per unit by the employees import).
        let people = "employee_id;name;email;unit_code;leader_of;roles;language\n\
            1;Kari Nordmann;kari@test.no;1110;1110|1100;amu;nb\n\
            2;Ola Nordmann;;1110;;admin;nn\n\
            4;Liv Berg;liv@test.no;1200;;;nb\n\
            5;Nils Dahl;nils@test.no;1200;;;nb\n\
            6;Siri Moe;;1200;;;nb\n";
        import_text(&mut c, Kind::Employees, people, false).unwrap();
        series_agree_with_the_rows(&mut c);
        let q1 = naervaer::analysis::own_absence(&mut c, d("2025-01-01"), d("2025-03-31")).unwrap();
        assert_eq!(q1[&unit("1200", &mut c)].headcount, 3);
        // A rejected employees file leaves the staff as it was.
        let bad = "employee_id;name;email;unit_code;leader_of;roles;language\n7;Tor Lie;tor@test.no;9999;;;nb\n";
        assert!(import_text(&mut c, Kind::Employees, bad, false).is_err());
        let q1 = naervaer::analysis::own_absence(&mut c, d("2025-01-01"), d("2025-03-31")).unwrap();
        assert_eq!(q1[&unit("1200", &mut c)].headcount, 3);
        series_agree_with_the_rows(&mut c);
    }

    fn the_migration_that_keeps_the_staff_per_unit_counts_the_employees(t) {
        let mut c = with_units(&t);
        import_text(&mut c, Kind::Employees, crate::EMPLOYEES, false).unwrap();
        import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;01.01.2025;31.03.2025;1000;100;50;50\n1200;01.01.2025;31.03.2025;640;12;;\n1000;01.01.2025;31.03.2025;640;12;;\n"), false).unwrap();
        // As a database from before it: no table, the migration not yet run.
        diesel::sql_query("DROP TABLE unit_staff").execute(&mut c).unwrap();
        diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = '20261203000019'").execute(&mut c).unwrap();
        assert_eq!(naervaer::migrate::run(&mut c).unwrap(), 1);
        let mut staff = naervaer::db::absence_series::staff(&mut c).unwrap();
        staff.sort();
        let unit = |code: &str, c: &mut DbConnection| -> String {
            units::table.filter(units::code.eq(code)).select(units::id).get_result(c).unwrap()
        };
        let mut expected = vec![(unit("1110", &mut c), 1), (unit("1200", &mut c), 1), (unit("1000", &mut c), 1)];
        expected.sort();
        assert_eq!(staff, expected);
        series_agree_with_the_rows(&mut c);
    }

    fn the_migration_that_made_the_series_fills_them_from_the_rows(t) {
        let mut c = with_units(&t);
        import_text(&mut c, Kind::Absence, &format!("{HEAD}1110;01.01.2025;31.03.2025;1000;100;50;50\n1200;01.01.2025;31.03.2025;640;12;;\n"), false).unwrap();
        // As a database from before the series: no table, the migration
        // not yet run.
        diesel::sql_query("DROP TABLE absence_series").execute(&mut c).unwrap();
        diesel::sql_query("DROP TABLE absence_revision").execute(&mut c).unwrap();
        diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = '20261203000013'").execute(&mut c).unwrap();
        // A filling that fails takes its migration with it: nothing is
        // recorded, no table made, and the next start runs both.
        fn fills_then_fails(version: &str, c: &mut DbConnection) -> Result<(), naervaer::AppError> {
            naervaer::migrate::after(version, c)?;
            match version {
                "20261203000013" => Err(naervaer::AppError::damaged("the filling failed")),
                _ => Ok(()),
            }
        }
        let failed = naervaer::db::run_migrations(&mut c, fills_then_fails).unwrap_err();
        assert!(failed.to_string().contains("the filling failed"), "{failed}");
        assert!(diesel::sql_query("SELECT periods FROM absence_series").execute(&mut c).is_err(), "no table");
        assert!(!naervaer::db::all_applied(&mut c));
        assert_eq!(naervaer::migrate::run(&mut c).unwrap(), 1);
        let series = naervaer::db::absence_series::load(&mut c).unwrap();
        assert_eq!(series.units().unwrap().len(), 2);
        series_agree_with_the_rows(&mut c);
        assert_eq!(naervaer::db::absence_series::revision(&mut c).unwrap(), 1);
    }
}

both_backends! {
    fn two_absence_imports_at_once_keep_series_with_both(t) {
        let mut c = with_units(&t);
        let mut first = t.conn();
        let second = t.conn();
        let file1 = format!("{HEAD}1110;01.01.2025;31.01.2025;100;1;;\n1200;01.01.2025;31.01.2025;200;2;;\n");
        let file2 = format!("{HEAD}1110;01.02.2025;28.02.2025;100;3;;\n1100;01.02.2025;28.02.2025;300;4;;\n");
        // The first import's transaction stays open while the second one
        // starts on another connection (another app node); the second
        // waits for it and then keeps the first one's periods too.
        let waiting = first
            .transaction::<_, diesel::result::Error, _>(|c| {
                import_text(c, Kind::Absence, &file1, false).unwrap();
                let handle = std::thread::spawn(move || {
                    let mut c2 = second;
                    import_text(&mut c2, Kind::Absence, &file2, false)
                        .map(|o| o.diff.added.len())
                        .map_err(|e| format!("{e:?}"))
                });
                std::thread::sleep(std::time::Duration::from_millis(500));
                Ok(handle)
            })
            .unwrap();
        assert_eq!(waiting.join().unwrap(), Ok(2), "the second import went through");
        series_agree_with_the_rows(&mut c);
        let series = naervaer::db::absence_series::load(&mut c).unwrap().units().unwrap();
        assert_eq!(series.iter().map(|(_, p)| p.len()).sum::<usize>(), 4);
    }
}
