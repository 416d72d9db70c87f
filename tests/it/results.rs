//! Protected results over HTTP, on both backends: sign-in and sessions, the
//! role × route matrix, and that no hidden group's figures leak into any
//! page, CSV, XLSX or JSON.

use crate::both_backends;
use crate::support::{http_cookie, http_raw, key, Response, TestServer};
use diesel::prelude::*;
use naervaer::crypto::lookup_hash;
use naervaer::db::schema::{invitations, login_tokens, measures, units};
use naervaer::db::DbConnection;
use naervaer::rounds::answer::{self, Answers};
use naervaer::rounds::{self, Round};
use naervaer::snapshot::Scores;
use naervaer::{auth, demo};
use rand::{Rng, SeedableRng};

/// The unit whose three people answer the extreme pattern: hidden (3 < 5).
pub const SMALL: &str = "1260";

pub struct Fixture {
    pub round: naervaer::ids::RoundId,
    pub open_round: naervaer::ids::RoundId,
    pub unit: std::collections::HashMap<String, String>,
    /// (role, employee id): leader of 1200, leader of 1100, AMU, admin,
    /// the verneombud of 1200.
    pub people: Vec<(&'static str, String)>,
}

/// The demo organisation with one closed round: everyone answers around
/// 3.5, except the people of [`SMALL`], whose every factor score is 1.0:
/// a figure that no shown group can have, so finding it anywhere is a leak.
/// The demo organisation with one open round everyone answered as
/// [`closed_round`] describes, not yet closed.
pub fn answered_round(c: &mut DbConnection) -> Round {
    demo::seed(c).unwrap();
    let round = crate::rounds::new_round(c, None);
    rounds::open(c, &key(), &round.id).unwrap();
    let round = Round::find(c, &round.id).unwrap();
    answer(c, &round, 7);
    round
}

/// Answers an open round as [`closed_round`] describes, about 70 % of the
/// invited, drawn from `seed`.
pub fn answer(c: &mut DbConnection, round: &Round, seed: u64) {
    let surveys = round.surveys(c).unwrap();
    let unit: std::collections::HashMap<String, String> = units::table
        .select((units::code, units::id))
        .load::<(String, String)>(c)
        .unwrap()
        .into_iter()
        .collect();
    let invs: Vec<(String, String)> = invitations::table
        .filter(invitations::round_id.eq(&round.id))
        .order(invitations::id)
        .select((invitations::id, invitations::unit_id))
        .load(c)
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for (inv, u) in &invs {
        let extreme = *u == unit[SMALL];
        if !extreme && rng.gen_bool(0.3) {
            continue;
        }
        let mut a = Answers::default();
        for s in surveys.iter() {
            for item in &s.items {
                let v = if extreme {
                    if item.reverse {
                        5
                    } else {
                        1
                    }
                } else {
                    rng.gen_range(2..=5)
                };
                a.items.insert(answer::item_field(s, &item.key), v);
            }
            if extreme {
                continue;
            }
            for b in &s.background {
                if !rng.gen_bool(0.85) {
                    continue;
                }
                // The last option is rare: its cell stays below k.
                let last = b.options.len() - 1;
                let o = if rng.gen_bool(0.005) {
                    last
                } else {
                    rng.gen_range(0..last)
                };
                a.background.insert(
                    answer::background_field(s, &b.key),
                    b.options[o].key.clone(),
                );
            }
        }
        let hash = lookup_hash(&key().survey_token(inv));
        answer::submit(c, &hash, &surveys, &a).unwrap();
    }
}

pub fn closed_round(c: &mut DbConnection) -> Fixture {
    let round = answered_round(c);
    let unit: std::collections::HashMap<String, String> = units::table
        .select((units::code, units::id))
        .load::<(String, String)>(c)
        .unwrap()
        .into_iter()
        .collect();
    rounds::close(c, &round.id, true).unwrap();
    let open = crate::rounds::new_round(c, None);
    rounds::open(c, &key(), &open.id).unwrap();
    let people = demo::sign_in_people(c).unwrap();
    let leader_of = |code: &str, c: &mut DbConnection| -> String {
        use naervaer::db::schema::unit_leaders;
        unit_leaders::table
            .filter(unit_leaders::unit_id.eq(&unit[code]))
            .select(unit_leaders::employee_id)
            .first(c)
            .unwrap()
    };
    let own = leader_of("1200", c);
    let other = leader_of("1100", c);
    assert_eq!(people[0].id.as_str(), own);
    Fixture {
        round: round.id,
        open_round: open.id,
        people: vec![
            ("leader", own),
            ("other", other),
            ("amu", people[1].id.to_string()),
            ("admin", people[2].id.to_string()),
            ("verneombud", people[3].id.to_string()),
        ],
        unit,
    }
}

/// Twelve monthly absence rows per demo unit with people, ending where the
/// test round's absence window ends: the day it was closed (today, a week
/// before its planned closing day).
pub fn absence_for_the_year(c: &mut DbConnection) {
    let closes = rounds::today();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut csv = String::from("unit_code;period_start;period_end;agreed_workdays;lost_workdays\n");
    for (code, _, _, people) in demo::UNITS.iter().filter(|u| u.3 > 0) {
        for m in 0..12 {
            let end = closes - chrono::Duration::days(30 * m);
            let start = end - chrono::Duration::days(29);
            let agreed = *people as f64 * 21.0;
            let lost = (agreed * rng.gen_range(0.02..0.1) * 2.0).round() / 2.0;
            csv += &format!("{code};{start};{end};{agreed};{lost}\n");
        }
    }
    naervaer::import::import(
        c,
        naervaer::import::Kind::Absence,
        "a.csv",
        csv.as_bytes(),
        false,
    )
    .unwrap();
}

/// Signs in through the link, as a browser does: returns the cookie
/// header value and the session's CSRF token.
pub fn sign_in(server: &TestServer, c: &mut DbConnection, employee: &str) -> (String, String) {
    sign_in_at(server.addr, c, employee)
}

/// [`sign_in`] on any server, such as a `naervaer serve` process.
pub fn sign_in_at(
    addr: std::net::SocketAddr,
    c: &mut DbConnection,
    employee: &str,
) -> (String, String) {
    let token =
        auth::link_token_for(c, &naervaer::ids::EmployeeId::from(employee.to_string())).unwrap();
    let page = http_cookie(addr, "GET", &format!("/innlogging/{token}"), "", None);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("method=\"post\""),
        "a button, not a GET sign-in"
    );
    let r = http_cookie(addr, "POST", &format!("/innlogging/{token}"), "", None);
    assert_eq!(r.status, 303, "{}", r.body);
    let set = r
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let id = cookie.split_once('=').unwrap().1;
    let csrf = auth::viewer(c, id).unwrap().unwrap().csrf;
    (cookie, csrf)
}

fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> Response {
    http_cookie(server.addr, "GET", path, "", cookie)
}

fn post(server: &TestServer, path: &str, body: &str, cookie: Option<&str>) -> Response {
    http_cookie(server.addr, "POST", path, body, cookie)
}

pub fn multipart(csrf: &str, kind: &str, name: &str, file: &str) -> (String, Vec<u8>) {
    let b = "naervaerBoundary7";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n\
         --{b}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={b}"),
        body.into_bytes(),
    )
}

const NONE: usize = 0;
const LEADER: usize = 1;
const OTHER: usize = 2;
const AMU: usize = 3;
const ADMIN: usize = 4;
/// The verneombud of 1200 (the leader's unit): reads what the leader may
/// read there, changes nothing.
const REP: usize = 5;

both_backends! {
    fn every_route_answers_every_role_as_the_table_says(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let mut sessions: Vec<Option<(String, String)>> = vec![None];
        for (_, id) in &f.people {
            sessions.push(Some(crate::results::sign_in(&server, &mut c, id)));
        }
        let r = &f.round;
        let own = &f.unit["1200"];
        let below = &f.unit["1230"];
        let small = &f.unit[SMALL];
        let root = &f.unit["1000"];
        let others = &f.unit["1100"];
        // A measure of the own unit's plan, for the done toggle.
        let item_id = {
            let (cookie, csrf) = sessions[LEADER].clone().unwrap();
            let res = post(&server, &format!("/resultater/{r}/{own}/tiltak"),
                &format!("csrf={csrf}&factor=10-faktor%2Fmestringstro&measure=Fagdag&responsible=Leder&due_on=2027-03-01"),
                Some(&cookie));
            assert_eq!(res.status, 303, "{}", res.body);
            measures::table.select(measures::id).first::<String>(&mut c).unwrap()
        };
        let draft = crate::rounds::new_round(&mut c, None);
        let fu = crate::followup::follow_up(&mut c, &f);
        let account = format!("/redegjorelse/{}/{}", fu.account, fu.token);
        let measure = &fu.measure;
        let period = naervaer::followup::report::Period::of(naervaer::followup::report::ReportKind::Tertial, naervaer::rounds::today()).label();
        let units_csv = "unit_code;parent_code;name\n1000;;Demo kommune\n";
        // An answering link of the open round, and a sign-in link nobody
        // asked for (a button, then an unknown token).
        let invitation = crate::rounds::invitation_ids(&mut c, &f.open_round).remove(0);
        let survey_token = crate::support::key().survey_token(&invitation);
        // The "results are ready" messages of the closed round, sent into
        // a folder, record the group links.
        let outbox = tempfile::tempdir().unwrap();
        let s = crate::support::settings(&t, &[("NAERVAER_OUTBOX_DIR", outbox.path().to_str().unwrap())]);
        naervaer::mail::outbox::send_due(&t.pool(), &naervaer::mail::Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
        let results_link = crate::support::key().results_token(r.as_str(), own);
        // (method, path, form body (csrf appended), [none, leader, other, amu, admin])
        let table: Vec<(&str, String, String, [u16; 6])> = vec![
            ("GET", "/".into(), "".into(), [200; 6]),
            ("GET", "/healthz".into(), "".into(), [200; 6]),
            // Only with NAERVAER_METRICS_TOKEN, to that token (metrics.rs).
            ("GET", "/metrics".into(), "".into(), [404; 6]),
            ("GET", "/innlogging".into(), "".into(), [200; 6]),
            ("GET", "/kode".into(), "".into(), [200; 6]),
            ("GET", "/tilgjengelighet".into(), "".into(), [200; 6]),
            ("GET", "/static/app.css".into(), "".into(), [200; 6]),
            ("GET", "/static/kode.js".into(), "".into(), [200; 6]),
            ("GET", "/kvittering".into(), "".into(), [200; 6]),
            // Answering needs the link's token, not a role; without the
            // answering cookie there is no questionnaire.
            ("GET", format!("/s/{survey_token}"), "".into(), [303; 6]),
            ("GET", "/svar".into(), "".into(), [404; 6]),
            ("POST", "/svar".into(), "page=0&go=next".into(), [404; 6]),
            ("POST", "/kode".into(), "kode=ZZZZ-ZZZZ-ZZZ".into(), [200; 6]),
            ("POST", "/innlogging".into(), "email=nobody%40example.no".into(), [200; 6]),
            ("GET", "/innlogging/unknowntoken".into(), "".into(), [200; 6]),
            ("POST", "/innlogging/unknowntoken".into(), "".into(), [400; 6]),
            ("GET", "/resultater".into(), "".into(), [401, 200, 200, 200, 200, 200]),
            // Counts of the open round: every signed-in page shows the rows
            // the viewer may see (none for AMU and representatives).
            ("GET", "/svarprosent".into(), "".into(), [401, 200, 200, 200, 200, 200]),
            // A group's results link: no sign-in, the token is the key.
            ("GET", format!("/r/{results_link}"), "".into(), [200; 6]),
            ("GET", "/r/unknowntoken".into(), "".into(), [404; 6]),
            // No identity provider in this installation (oidc.rs has one).
            ("GET", "/oidc/login".into(), "".into(), [404; 6]),
            ("GET", "/oidc/callback?code=c&state=s".into(), "".into(), [404; 6]),
            ("GET", format!("/resultater/{r}/{own}"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/resultater/{r}/{below}"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/resultater/{r}/{small}"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/resultater/{r}/{root}"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/resultater/{r}/{others}"), "".into(), [401, 403, 200, 200, 200, 403]),
            ("GET", format!("/resultater/{r}/{own}/utskrift"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/resultater/{r}/{own}/csv"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/resultater/{r}/{own}/xlsx"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/resultater/{r}/{own}/kart"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/resultater/{r}/{root}/kart?farge=endring"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/resultater/{r}/nosuchgroup"), "".into(), [401, 404, 404, 404, 404, 404]),
            ("GET", "/api/v1/openapi.json".into(), "".into(), [200, 200, 200, 200, 200, 200]),
            ("GET", "/api/v1/rounds".into(), "".into(), [401, 200, 200, 200, 200, 200]),
            ("GET", format!("/api/v1/rounds/{r}/groups/nosuchgroup"), "".into(), [401, 404, 404, 404, 404, 404]),
            ("GET", format!("/api/v1/rounds/{r}/groups/{own}"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/api/v1/rounds/{r}/groups/{root}"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("POST", format!("/resultater/{r}/{below}/tiltak"),
                "factor=10-faktor%2Fmestringstro&measure=Kurs&responsible=Per&due_on=2027-01-31".into(),
                [401, 303, 403, 403, 403, 403]),
            ("POST", format!("/tiltak/{item_id}"), "done=true".into(), [401, 303, 403, 403, 403, 403]),
            ("GET", "/tiltak".into(), "".into(), [401, 200, 200, 200, 200, 200]),
            ("POST", "/tiltak".into(), format!("unit={own}&title=Vernerunde&type_key=vernerunde&started_on=2026-04-01"), [401, 303, 403, 303, 303, 403]),
            ("POST", "/tiltak/typer".into(), "key=trivselstiltak&name_nb=Trivsel&name_nn=Trivsel&name_en=Well-being".into(), [401, 403, 403, 403, 303, 403]),
            ("GET", "/tiltak/effekt".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", "/oppfolging".into(), "".into(), [401, 200, 200, 200, 200, 200]),
            ("POST", "/oppfolging/sjekk".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", "/oppfolging/over-mal".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", "/oppfolging/over-mal/utskrift".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/oppfolging/enheter/{own}"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/oppfolging/enheter/{below}"), "".into(), [401, 200, 403, 200, 200, 200]),
            ("GET", format!("/oppfolging/enheter/{root}"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", "/oppfolging/enheter/nosuchunit".into(), "".into(), [401, 404, 404, 404, 404, 404]),
            ("POST", format!("/oppfolging/enheter/{own}/maal"), "year=2026&kind=total&value=7%2C5".into(), [401, 303, 403, 303, 303, 403]),
            ("POST", format!("/oppfolging/enheter/{own}/tiltak"), "title=Fokussak&type_key=fokussak_personalmote&started_on=2026-04-01".into(), [401, 303, 403, 303, 303, 403]),
            ("POST", format!("/oppfolging/tiltak/{measure}/status"), "status=ongoing".into(), [401, 303, 403, 303, 303, 403]),
            ("GET", "/oppfolging/rapporter".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/oppfolging/rapporter/tertial/{period}"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/oppfolging/rapporter/tertial/{period}/xlsx"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", "/oppfolging/rapporter/tertial/1999T9".into(), "".into(), [401, 403, 403, 404, 404, 403]),
            // The account's own link: no sign-in, the token is the key.
            ("GET", account.clone(), "".into(), [200; 6]),
            ("POST", account.clone(), "done_now=Oppf%C3%B8lging&planned=Plan&support=hr".into(), [200; 6]),
            ("GET", format!("/redegjorelse/{}/wrongtoken", fu.account), "".into(), [404; 6]),
            ("GET", "/amu".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/amu/rapport?round={r}&window=after"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", "/amu/csv".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", "/amu/xlsx".into(), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/api/v1/rounds/{r}/analysis"), "".into(), [401, 403, 403, 200, 200, 403]),
            ("GET", format!("/api/v1/rounds/{r}/analysis?window=yesterday"), "".into(), [401, 403, 403, 400, 400, 403]),
            ("GET", "/admin".into(), "".into(), [401, 403, 403, 403, 200, 403]),
            ("GET", "/admin/behandling".into(), "".into(), [401, 403, 403, 403, 200, 403]),
            ("GET", "/admin/behandling.md".into(), "".into(), [401, 403, 403, 403, 200, 403]),
            ("GET", format!("/admin/runder/{r}"), "".into(), [401, 403, 403, 403, 200, 403]),
            ("GET", format!("/admin/runder/{}/brev", f.open_round), "".into(), [401, 403, 403, 403, 200, 403]),
            ("POST", "/admin/runder".into(),
                "title=Ny&opens_on=2027-01-01&closes_on=2027-01-14&min_group_size=5".into(),
                [401, 403, 403, 403, 303, 403]),
            ("POST", format!("/admin/runder/{}/apne", draft.id), "".into(), [401, 403, 403, 403, 303, 403]),
            ("POST", format!("/admin/runder/{}/purring", f.open_round), "".into(), [401, 403, 403, 403, 303, 403]),
            ("POST", format!("/admin/runder/{r}/k"), "k=5".into(), [401, 403, 403, 403, 303, 403]),
            ("POST", "/admin/utsending".into(), "".into(), [401, 403, 403, 403, 303, 403]),
            ("POST", "/admin/import".into(), "MULTIPART".into(), [401, 403, 403, 403, 200, 403]),
            ("POST", "/admin/import/nosuchupload".into(), "".into(), [401, 403, 403, 403, 400, 403]),
            ("POST", format!("/admin/runder/{}/lukk", f.open_round), "".into(), [401, 403, 403, 403, 303, 403]),
            ("POST", "/utlogging".into(), "".into(), [401, 303, 303, 303, 303, 303]),
        ];
        // Every route the service declares is in the table.
        let mut covered: Vec<(&str, String)> = table
            .iter()
            .map(|(m, p, _, _)| (*m, crate::support::route_of(m, p)))
            .collect();
        covered.sort();
        covered.dedup();
        assert_eq!(covered, crate::support::declared_routes(), "every route is tried as every role");
        let mut failures = Vec::new();
        for (method, path, body, expected) in &table {
            for role in [NONE, LEADER, OTHER, AMU, ADMIN, REP] {
                let session = sessions[role].clone();
                let cookie = session.as_ref().map(|s| s.0.as_str());
                let csrf = session.as_ref().map(|s| s.1.clone()).unwrap_or_default();
                let res = if body == "MULTIPART" {
                    let (ct, bytes) = multipart(&csrf, "units", "units.csv", units_csv);
                    http_raw(server.addr, "POST", path, &ct, &bytes, cookie)
                } else if *method == "POST" {
                    let form = if body.is_empty() { format!("csrf={csrf}") } else { format!("{body}&csrf={csrf}") };
                    post(&server, path, &form, cookie)
                } else {
                    get(&server, path, cookie)
                };
                if res.status != expected[role] {
                    failures.push(format!("{method} {path} as {role}: {} (expected {})", res.status, expected[role]));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // After signing out, the old cookies are refused.
        for s in sessions.iter().flatten() {
            assert_eq!(get(&server, "/resultater", Some(&s.0)).status, 401);
        }
    }

    fn a_leader_of_one_unit_gets_nothing_of_another_in_any_format(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let (cookie, _) = sign_in(&server, &mut c, &f.people[0].1);
        let r = &f.round;
        for code in ["1100", "1110", "1000", "1400"] {
            let b = &f.unit[code];
            for path in [
                format!("/resultater/{r}/{b}"),
                format!("/resultater/{r}/{b}/utskrift"),
                format!("/resultater/{r}/{b}/csv"),
                format!("/resultater/{r}/{b}/xlsx"),
                format!("/api/v1/rounds/{r}/groups/{b}"),
            ] {
                let res = get(&server, &path, Some(&cookie));
                assert_eq!(res.status, 403, "{path}");
                assert!(!res.body.contains("mean"), "{path}");
            }
        }
        // And the list of rounds names only the leader's own subtree.
        let list: serde_json::Value = serde_json::from_str(&get(&server, "/api/v1/rounds", Some(&cookie)).body).unwrap();
        let round = list["rounds"].as_array().unwrap().iter().find(|x| x["id"] == r.as_str()).unwrap();
        let codes: Vec<&str> = round["groups"].as_array().unwrap().iter().map(|g| g["code"].as_str().unwrap()).collect();
        assert!(codes.contains(&"1200") && codes.contains(&SMALL));
        assert!(!codes.contains(&"1100") && !codes.contains(&"1000"), "{codes:?}");
    }

    fn sign_in_links_work_once_within_fifteen_minutes_and_sessions_end(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let leader = &f.people[0].1;
        // Reused link.
        let token = auth::link_token_for(&mut c, &naervaer::ids::EmployeeId::from(leader.to_string())).unwrap();
        assert_eq!(post(&server, &format!("/innlogging/{token}"), "", None).status, 303);
        let again = post(&server, &format!("/innlogging/{token}"), "", None);
        assert_eq!(again.status, 400);
        assert!(again.header("set-cookie").is_none());
        // Expired link.
        let token = auth::link_token_for(&mut c, &naervaer::ids::EmployeeId::from(leader.to_string())).unwrap();
        diesel::update(login_tokens::table.filter(login_tokens::token_hash.eq(naervaer::crypto::lookup_hash(&token))))
            .set(login_tokens::expires_at.eq(naervaer::db::now_unix() - 1))
            .execute(&mut c)
            .unwrap();
        let expired = post(&server, &format!("/innlogging/{token}"), "", None);
        assert_eq!(expired.status, 400);
        assert!(expired.header("set-cookie").is_none());
        // A made-up link.
        assert_eq!(post(&server, &format!("/innlogging/{}", "ab".repeat(32)), "", None).status, 400);
        // Only hashes are stored.
        let stored: Vec<String> = login_tokens::table.select(login_tokens::token_hash).load(&mut c).unwrap();
        assert!(!stored.contains(&token) && stored.contains(&naervaer::crypto::lookup_hash(&token)));

        // Missing or wrong CSRF token: refused, nothing stored.
        let (cookie, csrf) = sign_in(&server, &mut c, leader);
        let own = &f.unit["1200"];
        let path = format!("/resultater/{}/{own}/tiltak", f.round);
        let form = "factor=10-faktor%2Fmestringstro&measure=Fagdag&responsible=Leder&due_on=2027-03-01";
        assert_eq!(post(&server, &path, form, Some(&cookie)).status, 403);
        assert_eq!(post(&server, &path, &format!("{form}&csrf=wrong{}", &csrf[5..]), Some(&cookie)).status, 403);
        let count = |c: &mut DbConnection| measures::table.count().get_result::<i64>(c).unwrap();
        assert_eq!(count(&mut c), 0);
        assert_eq!(post(&server, "/utlogging", "", Some(&cookie)).status, 403, "sign-out needs the token too");
        // A bad form gets every problem named, and stores nothing.
        let bad = post(&server, &format!("{path}?lang=nb"), &format!("csrf={csrf}&factor=nope&measure=&responsible=&due_on=31.12"), Some(&cookie));
        assert_eq!(bad.status, 400);
        for m in ["Velg en av faktorene", "Beskriv tiltaket", "ansvarlig", "Fristen må være en dato"] {
            assert!(bad.body.contains(m), "{m}: {}", bad.body);
        }
        assert_eq!(count(&mut c), 0);
        assert_eq!(post(&server, &path, &format!("{form}&csrf={csrf}"), Some(&cookie)).status, 303);
        assert_eq!(count(&mut c), 1);

        // An expired session is refused like no session.
        let (old_cookie, _) = sign_in(&server, &mut c, leader);
        assert_eq!(get(&server, "/resultater", Some(&old_cookie)).status, 200);
        diesel::update(naervaer::db::schema::sessions::table.filter(
            naervaer::db::schema::sessions::id_hash.eq(naervaer::crypto::lookup_hash(old_cookie.split_once('=').unwrap().1)),
        ))
        .set(naervaer::db::schema::sessions::expires_at.eq(naervaer::db::now_unix() - 1))
        .execute(&mut c)
        .unwrap();
        assert_eq!(get(&server, "/resultater", Some(&old_cookie)).status, 401);
        // Signed out: the cookie no longer works, and the request page
        // answers the same for a known and an unknown address.
        assert_eq!(post(&server, "/utlogging", &format!("csrf={csrf}"), Some(&cookie)).status, 303);
        assert_eq!(get(&server, "/resultater", Some(&cookie)).status, 401);
        let known = post(&server, "/innlogging?lang=nb", "email=emma.jensen344%40demo-kommune.no", None);
        let unknown = post(&server, "/innlogging?lang=nb", "email=nobody%40example.no", None);
        assert_eq!((known.status, unknown.status), (200, 200));
        assert_eq!(known.body, unknown.body);
    }

    fn no_page_export_or_api_answer_shows_a_hidden_groups_figures(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let snapshot = naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap();
        let small = snapshot.group(&f.unit[SMALL]).unwrap();
        assert!(small.figures.is_none(), "the small unit is hidden");
        let hidden: Vec<String> = snapshot.groups.iter().filter(|g| g.figures.is_none()).map(|g| g.key.clone()).collect();
        assert!(hidden.len() >= 3);
        let mut checked = 0;
        for who in [0, 2, 3] {
            let (cookie, _) = sign_in(&server, &mut c, &f.people[who].1);
            let viewer_groups: Vec<String> = {
                let list: serde_json::Value = serde_json::from_str(&get(&server, "/api/v1/rounds", Some(&cookie)).body).unwrap();
                list["rounds"][0]["groups"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap().to_string()).collect()
            };
            for g in &viewer_groups {
                let base = format!("/resultater/{}/{g}", f.round);
                for path in [format!("{base}?lang=nb"), format!("{base}/utskrift?lang=nb"), format!("{base}?lang=en")] {
                    let page = get(&server, &path, Some(&cookie));
                    assert_eq!(page.status, 200);
                    assert!(!page.body.contains(">1,00<") && !page.body.contains(": 1,00\"") && !page.body.contains(">1.00<"), "{path}");
                    if hidden.contains(g) {
                        assert!(page.body.contains("resultatene vises på nivået over") || page.body.contains("shown at the level above"), "{path}");
                        assert!(!page.body.contains("class=\"chart\""), "{path}");
                    }
                }
                let csv = get(&server, &format!("{base}/csv"), Some(&cookie));
                for row in csv_rows(&csv.body) {
                    if !["unit", "above", "organisation"].contains(&row[0].as_str()) {
                        continue;
                    }
                    if let Some(mean) = row.get(5).and_then(|m| m.parse::<f64>().ok()) {
                        assert!(mean > 1.5, "{base}/csv: {row:?}");
                        checked += 1;
                    }
                }
                let xlsx = get(&server, &format!("{base}/xlsx"), Some(&cookie));
                use calamine::Reader;
                let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
                let sheet = book.worksheet_range("Faktorer").unwrap();
                for row in sheet.rows().skip(1) {
                    if let Some(mean) = row.get(5).and_then(calamine::DataType::get_float) {
                        assert!(mean > 1.5, "{base}/xlsx");
                        checked += 1;
                    }
                }
                let json: serde_json::Value = serde_json::from_str(&get(&server, &format!("/api/v1/rounds/{}/groups/{g}", f.round), Some(&cookie)).body).unwrap();
                checked += walk_means(&json, &format!("{g} json"));
                if hidden.contains(g) {
                    assert!(json["group"]["respondents"].is_null() && json["group"]["invited"].is_null());
                    assert!(json["factors"].as_array().unwrap().iter().all(|f| f["figure"].is_null()));
                }
                for b in json["below"].as_array().unwrap() {
                    if hidden.contains(&b["id"].as_str().unwrap().to_string()) {
                        assert!(b["respondents"].is_null() && b["response_rate"].is_null());
                    }
                }
            }
        }
        assert!(checked > 500, "the search looked at {checked} means");
        // The organisation's background tables show some cells and hide
        // the rare ones, with no count and no mean for those.
        let (cookie, _) = sign_in(&server, &mut c, &f.people[3].1);
        let root: serde_json::Value = serde_json::from_str(&get(&server, &format!("/api/v1/rounds/{}/groups/{}", f.round, snapshot.root().key), Some(&cookie)).body).unwrap();
        let cells: Vec<&serde_json::Value> = root["background"].as_array().unwrap().iter().flat_map(|q| q["cells"].as_array().unwrap()).collect();
        assert!(cells.iter().any(|c| c["respondents"].is_u64()));
        let hidden_cells: Vec<_> = cells.iter().filter(|c| c["respondents"].is_null()).collect();
        assert!(!hidden_cells.is_empty());
        assert!(hidden_cells.iter().all(|c| c["factors"].as_array().unwrap().iter().all(|x| x.is_null())));
        assert_eq!(root["reliability"].as_array().unwrap().len(), root["factors"].as_array().unwrap().len());
    }

    fn exports_hold_exactly_the_figures_of_the_page(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let (cookie, _) = sign_in(&server, &mut c, &f.people[0].1);
        let base = format!("/resultater/{}/{}", f.round, f.unit["1200"]);
        let page = get(&server, &format!("{base}?lang=en"), Some(&cookie)).body;
        let json: serde_json::Value = serde_json::from_str(&get(&server, &format!("/api/v1/rounds/{}/groups/{}?lang=en", f.round, f.unit["1200"]), Some(&cookie)).body).unwrap();
        let csv = get(&server, &format!("{base}/csv?lang=en"), Some(&cookie)).body;
        let xlsx = get(&server, &format!("{base}/xlsx?lang=en"), Some(&cookie));
        assert!(xlsx.header("content-disposition").unwrap().contains(".xlsx"));
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
        let sheet = book.worksheet_range("Faktorer").unwrap();
        let mut shown = 0;
        for fac in json["factors"].as_array().unwrap() {
            let name = fac["name"].as_str().unwrap();
            let Some(fig) = fac["figure"].as_object() else { continue };
            let mean = fig["mean"].as_f64().unwrap();
            // The page shows it at two decimals, the exports at four.
            assert!(page.contains(&format!("<strong>{mean:.2}</strong>")), "{name} on the page");
            let rows = csv_rows(&csv);
            let csv_row = rows.iter().find(|r| r[0] == "unit" && r[3] == name).unwrap();
            assert_eq!(csv_row[5], format!("{mean:.4}"));
            let x = sheet.rows().find(|r| r[0] == "unit" && r[3] == name).unwrap();
            assert!((calamine::DataType::get_float(&x[5]).unwrap() - mean).abs() < 1e-4);
            shown += 1;
        }
        assert!(shown >= 20);
        // Rows of the exports: this unit's factors and the level above's
        // means, nothing more.
        let unit_rows = csv.lines().filter(|l| l.starts_with("unit,")).count();
        let above_rows = csv.lines().filter(|l| l.starts_with("above,")).count();
        assert_eq!((unit_rows, above_rows), (json["factors"].as_array().unwrap().len(), json["factors"].as_array().unwrap().len()));
        assert_eq!(csv.lines().filter(|l| l.starts_with("organisation,")).count(), 0, "the level above is the organisation");
    }
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Every "mean" in a JSON answer is a shown group's: none is the hidden
/// group's 1.0. Returns how many were looked at.
fn walk_means(v: &serde_json::Value, what: &str) -> usize {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                if k.ends_with("mean") {
                    if let Some(x) = x.as_f64() {
                        assert!(x > 1.5, "{what}: {k} = {x}");
                        return 1;
                    }
                }
                walk_means(x, what)
            })
            .sum(),
        serde_json::Value::Array(a) => a.iter().map(|x| walk_means(x, what)).sum(),
        _ => 0,
    }
}

/// The whole way a leader signs in: the request page, the e-mail as it
/// lands in a real SMTP server, the link in it, the button, the results.
#[test]
fn a_leader_signs_in_from_the_link_in_the_email() {
    let t = crate::support::TestDb::new(crate::support::Backend::Sqlite);
    let mut c = t.conn();
    let f = closed_round(&mut c);
    let sink = crate::mail::SmtpSink::start();
    let url = sink.url();
    let settings = crate::support::settings(
        &t,
        &[
            ("NAERVAER_SMTP_URL", url.as_str()),
            ("NAERVAER_BASE_URL", "http://naervaer.test"),
        ],
    );
    let server = TestServer::start_with(&t, settings);
    let r = post(
        &server,
        "/innlogging?lang=nb",
        "email=emma.jensen344%40demo-kommune.no",
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("er en innloggingslenke sendt"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sink.count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no sign-in e-mail arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mail = &sink.messages()[0];
    assert!(mail.envelope_to.contains("emma.jensen344@demo-kommune.no"));
    let text = mail.text();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http://naervaer.test/innlogging/"))
        .expect("a link in the e-mail");
    let path = link.trim_start_matches("http://naervaer.test");
    assert_eq!(get(&server, path, None).status, 200);
    let signed = post(&server, path, "", None);
    assert_eq!(signed.status, 303);
    let cookie = signed
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = get(
        &server,
        &format!("/resultater/{}/{}?lang=nb", f.round, f.unit["1200"]),
        Some(&cookie),
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("class=\"chart\""));
    assert!(
        page.body.contains("Skjult (færre enn 5 svar)"),
        "the hidden unit below is named as hidden"
    );
    // The link is spent.
    assert_eq!(post(&server, path, "", None).status, 400);
    // A person without a role gets no e-mail, and the same answer.
    let before = sink.count();
    let plain: String = naervaer::db::schema::employees::table
        .filter(naervaer::db::schema::employees::email.is_not_null())
        .filter(
            naervaer::db::schema::employees::id.ne_all(
                naervaer::db::schema::unit_leaders::table
                    .select(naervaer::db::schema::unit_leaders::employee_id),
            ),
        )
        .filter(
            naervaer::db::schema::employees::id.ne_all(
                naervaer::db::schema::employee_roles::table
                    .select(naervaer::db::schema::employee_roles::employee_id),
            ),
        )
        .select(naervaer::db::schema::employees::email.assume_not_null())
        .first(&mut c)
        .unwrap();
    let r2 = post(
        &server,
        "/innlogging?lang=nb",
        &format!("email={}", plain.replace('@', "%40")),
        None,
    );
    assert_eq!(r2.body, r.body);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(sink.count(), before);
}

both_backends! {
    fn the_amu_analysis_kept_in_the_cache_is_made_anew_when_the_absence_changes(t) {
        use naervaer::lang::Lang;
        let mut c = t.conn();
        let f = closed_round(&mut c);
        absence_for_the_year(&mut c);
        let cache = naervaer::cache::Cache::new(100, 1 << 28);
        let first = naervaer::analysis::cached(&mut c, &cache, &f.round, "before", None, Lang::Nb).unwrap();
        let again = naervaer::analysis::cached(&mut c, &cache, &f.round, "before", None, Lang::Nb).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again), "the second asking is answered from the cache");
        // One month of one unit imported again with other figures: as many
        // rows as before, and likely within the same second.
        let (code, _, _, people) = demo::UNITS.iter().find(|u| u.3 > 0).unwrap();
        let end = rounds::today();
        let start = end - chrono::Duration::days(29);
        let agreed = *people as f64 * 21.0;
        let csv = format!("unit_code;period_start;period_end;agreed_workdays;lost_workdays\n{code};{start};{end};{agreed};{agreed}\n");
        naervaer::import::import(&mut c, naervaer::import::Kind::Absence, "b.csv", csv.as_bytes(), false).unwrap();
        let after = naervaer::analysis::cached(&mut c, &cache, &f.round, "before", None, Lang::Nb).unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &after), "an analysis of the absence before the import");
        assert!(after.0.organisation_rate > first.0.organisation_rate, "{:?} {:?}", first.0.organisation_rate, after.0.organisation_rate);
        let direct = naervaer::analysis::run(&mut c, &naervaer::cache::Cache::none(), &f.round, naervaer::analysis::Window::Before, None, Lang::Nb).unwrap();
        assert_eq!(serde_json::to_string(&after.0).unwrap(), serde_json::to_string(&direct).unwrap());
    }
}

both_backends! {
    fn the_amu_analysis_kept_in_the_cache_is_made_anew_when_the_staff_changes(t) {
        use naervaer::lang::Lang;
        let mut c = t.conn();
        let f = closed_round(&mut c);
        // The absence file gives no headcount: each unit counts its staff.
        absence_for_the_year(&mut c);
        let cache = naervaer::cache::Cache::new(100, 1 << 28);
        let first = naervaer::analysis::cached(&mut c, &cache, &f.round, "before", None, Lang::Nb).unwrap();
        // The employees file again, with one large unit down to two people:
        // fewer than k, so its absence may no longer be shown on its own.
        // A unit the analysis shows: which units have enough answers to be
        // shown differs from run to run (the answers go to invitations in
        // the order of their random ids).
        let shown: std::collections::HashSet<&str> = first.0.groups.iter().map(|g| g.code.as_str()).collect();
        let (code, ..) = demo::UNITS.iter().rfind(|u| u.3 >= 8 && shown.contains(u.0)).unwrap();
        let file = demo::generate(demo::SEED).employees_csv;
        let mut kept_there = 0;
        let csv: String = file
            .lines()
            .filter(|line| {
                if line.split(';').nth(3) != Some(*code) {
                    return true;
                }
                kept_there += 1;
                kept_there <= 2
            })
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(kept_there >= 8, "{kept_there} people in {code}");
        naervaer::import::import(&mut c, naervaer::import::Kind::Employees, "e.csv", csv.as_bytes(), false).unwrap();
        let after = naervaer::analysis::cached(&mut c, &cache, &f.round, "before", None, Lang::Nb).unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &after), "an analysis of the staff before the import");
        let direct = naervaer::analysis::run(&mut c, &naervaer::cache::Cache::none(), &f.round, naervaer::analysis::Window::Before, None, Lang::Nb).unwrap();
        let (before, after, direct) = (serde_json::to_string(&first.0).unwrap(), serde_json::to_string(&after.0).unwrap(), serde_json::to_string(&direct).unwrap());
        assert_eq!(after, direct);
        assert_ne!(before, after, "the staff matters to this analysis");
        // A preview of the same file changes nothing, and keeps the cache.
        let again = naervaer::analysis::cached(&mut c, &cache, &f.round, "before", None, Lang::Nb).unwrap();
        naervaer::import::import(&mut c, naervaer::import::Kind::Employees, "e.csv", csv.as_bytes(), true).unwrap();
        let previewed = naervaer::analysis::cached(&mut c, &cache, &f.round, "before", None, Lang::Nb).unwrap();
        assert!(std::sync::Arc::ptr_eq(&again, &previewed), "a preview is not an import");
    }
}

both_backends! {
    fn closing_freezes_a_snapshot_that_only_raising_k_changes(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let first = naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap();
        crate::snapshot::check_released(&first);
        // Stored as released: the hidden unit has no figures in the row.
        let (data, body): (Option<Vec<u8>>, Option<String>) = naervaer::db::schema::snapshots::table
            .find(&f.round)
            .select((naervaer::db::schema::snapshots::data, naervaer::db::schema::snapshots::body))
            .first(&mut c)
            .unwrap();
        assert!(body.is_none(), "a new snapshot is stored in the compact form only");
        let stored: naervaer::snapshot::Snapshot =
            naervaer::snapshot::stored::decode(&data.expect("stored")).unwrap();
        assert_eq!(&stored, first.as_ref());
        assert!(stored.group(&f.unit[SMALL]).unwrap().figures.is_none());
        // Reading it again gives the same; the responses no longer matter.
        diesel::delete(naervaer::db::schema::responses::table).execute(&mut c).unwrap();
        assert_eq!(naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap(), first);
        // Lowering k is refused and changes nothing.
        let err = naervaer::snapshot::raise_k(&mut c, &f.round, 4).unwrap_err();
        assert!(err.to_string().contains("can only be raised"), "{err}");
        assert_eq!(naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap(), first);
        // Raising it hides more, never less, and obeys the rules for the new k.
        let raised = naervaer::snapshot::raise_k(&mut c, &f.round, 12).unwrap();
        assert_eq!(raised.k, 12);
        crate::snapshot::check_released(&raised);
        let before = first.groups.iter().filter(|g| g.figures.is_some()).count();
        let after = raised.groups.iter().filter(|g| g.figures.is_some()).count();
        assert!(after < before, "{after} < {before}");
        for (a, b) in first.groups.iter().zip(&raised.groups) {
            assert!(a.figures.is_some() || b.figures.is_none(), "{} came back", a.code);
        }
        assert_eq!(naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap().as_ref(), &raised);
        assert_eq!(Round::find(&mut c, &f.round).unwrap().min_group_size, 12);
        // The analysis's scores are stored with every snapshot, from it.
        assert_eq!(stored_scores(&mut c, &f.round), Some(Scores::from(&raised)));
        assert_eq!(
            naervaer::snapshot::load_scores(&mut c, &naervaer::cache::Cache::none(), &f.round).unwrap().unwrap().as_ref(),
            &Scores::from(&raised)
        );
        assert_eq!(
            Scores::from(first.as_ref()).groups.iter().filter(|g| g.figures.is_some()).count(),
            before
        );
    }
}

both_backends! {
    fn raising_k_withdraws_the_next_rounds_changes_against_the_figures_it_hides(t) {
        let mut c = t.conn();
        let (f, next, before) = closed_after_the_previous(&mut c);
        let load = snapshot_of;
        let revision = |c: &mut DbConnection, round: &str| -> i32 {
            naervaer::db::schema::snapshots::table
                .find(round)
                .select(naervaer::db::schema::snapshots::revision)
                .first(c)
                .unwrap()
        };
        // As closed (compact), then as a snapshot stored as JSON text before
        // the compact form, raised again to the same k.
        for as_text in [false, true] {
            if as_text {
                use naervaer::db::schema::snapshots;
                diesel::update(snapshots::table.find(&next.id))
                    .set((
                        snapshots::body.eq(Some(serde_json::to_string(before.as_ref()).unwrap())),
                        snapshots::data.eq(None::<Vec<u8>>),
                        snapshots::revision.eq(snapshots::revision + 1),
                    ))
                    .execute(&mut c)
                    .unwrap();
                assert_eq!(
                    serde_json::to_string(load(&mut c, &next.id).as_ref()).unwrap(),
                    serde_json::to_string(before.as_ref()).unwrap(),
                    "the text reads as the bytes did"
                );
            }
            let next_revision = revision(&mut c, &next.id);
            // Raised the way the administrator page and `round raise-k` do.
            let raised = rounds::raise_k(&mut c, &f.round, 12).unwrap();
            let after = load(&mut c, &next.id);
            let (mut kept, mut withdrawn) = (0, 0);
            for (b, a) in before.groups.iter().zip(&after.groups) {
                let (Some(fb), Some(fa)) = (&b.figures, &a.figures) else {
                    assert_eq!(b, a, "a hidden group stays as it was");
                    continue;
                };
                for (i, (sb, sa)) in fb.factors.iter().zip(&fa.factors).enumerate() {
                    let (Some(sb), Some(sa)) = (sb, sa) else {
                        assert_eq!(sb, sa, "{}: a hidden figure stays hidden", b.code);
                        continue;
                    };
                    let shown_before = shows(&raised, &b.code, i);
                    match (sb.change(), sa.change()) {
                        (Some(x), Some(y)) => {
                            assert!(shown_before, "{}: a change against a hidden figure", b.code);
                            assert_eq!(x, y);
                            kept += 1;
                        }
                        (Some(_), None) => {
                            assert!(!shown_before, "{}: a change withdrawn for nothing", b.code);
                            withdrawn += 1;
                        }
                        (None, None) => {}
                        (None, Some(_)) => panic!("{}: a change came from nowhere", b.code),
                    }
                    let mut without = sb.clone();
                    without.since = sa.since.clone();
                    assert_eq!(&without, sa, "{}: only the change moves", b.code);
                }
                assert_eq!(fb.items, fa.items);
            }
            assert!(kept > 0 && withdrawn > 0, "{kept} kept, {withdrawn} withdrawn");
            assert_eq!(revision(&mut c, &next.id), next_revision + 1, "stored anew");
            let mut same = after.as_ref().clone();
            same.groups.iter_mut().zip(&before.groups).for_each(|(a, b)| a.figures.clone_from(&b.figures));
            assert_eq!(&same, before.as_ref(), "nothing else moves, k included");
        }
    }
}

both_backends! {
    fn the_migration_after_format_2_withdraws_the_changes_an_earlier_raise_of_k_left(t) {
        use naervaer::db::schema::snapshots;
        let mut c = t.conn();
        let (f, next, before) = closed_after_the_previous(&mut c);
        let load = snapshot_of;
        let stored_before: (Option<Vec<u8>>, Option<Vec<u8>>) = snapshots::table
            .find(&next.id)
            .select((snapshots::data, snapshots::scores_data))
            .first(&mut c)
            .unwrap();
        let raised = rounds::raise_k(&mut c, &f.round, 12).unwrap();
        let as_raised_now = load(&mut c, &next.id);
        let changes = |s: &naervaer::snapshot::Snapshot| -> usize {
            s.groups
                .iter()
                .filter_map(|g| g.figures.as_ref())
                .flat_map(|f| f.factors.iter().flatten())
                .filter(|f| f.change().is_some())
                .count()
        };
        let (all, kept) = (changes(&before), changes(&as_raised_now));
        assert!(0 < kept && kept < all, "the raise kept {kept} of {all} changes");
        // As a raise before format version 2 left them: the previous round
        // raised, the next round's snapshot as it was closed, and the
        // migration not yet applied.
        diesel::update(snapshots::table.find(&next.id))
            .set((
                snapshots::data.eq(&stored_before.0),
                snapshots::scores_data.eq(&stored_before.1),
                snapshots::revision.eq(snapshots::revision + 1),
            ))
            .execute(&mut c)
            .unwrap();
        assert_eq!(load(&mut c, &next.id), before);
        let pending = |c: &mut DbConnection| {
            diesel::sql_query(format!(
                "DELETE FROM __diesel_schema_migrations WHERE version = '{}'",
                naervaer::migrate::WITHDRAW_CHANGES
            ))
            .execute(c)
            .unwrap()
        };
        assert_eq!(pending(&mut c), 1, "the migration was applied");
        assert_eq!(naervaer::migrate::run(&mut c).unwrap(), 1);
        assert_eq!(
            load(&mut c, &next.id),
            as_raised_now,
            "withdrawn as a raise withdraws them now"
        );
        assert_eq!(load(&mut c, &f.round), std::sync::Arc::new(raised), "the raised round stays");
        assert_eq!(naervaer::migrate::run(&mut c).unwrap(), 0, "once");
        // Applied again to snapshots that hold nothing to withdraw, it
        // stores nothing anew.
        let revisions = |c: &mut DbConnection| -> Vec<(String, i32)> {
            snapshots::table
                .select((snapshots::round_id, snapshots::revision))
                .order(snapshots::round_id)
                .load(c)
                .unwrap()
        };
        let was = revisions(&mut c);
        pending(&mut c);
        assert_eq!(naervaer::migrate::run(&mut c).unwrap(), 1);
        assert_eq!(revisions(&mut c), was);
    }
}

both_backends! {
    fn a_close_while_the_previous_round_is_raised_measures_against_it_as_raised(t) {
        let mut c = t.conn();
        let (f, next) = answered_next_round(&mut c);
        let mut first = t.conn();
        let second = t.conn();
        // The raise's transaction stays open while the next round closes
        // on another connection (another app node, or the close of the day
        // in `serve`); the close waits for it and measures its changes
        // against the raised figures.
        let (raised, closing) = first
            .transaction::<_, naervaer::AppError, _>(|c| {
                let raised = rounds::raise_k(c, &f.round, 12)?;
                let id = next.id.clone();
                let closing = std::thread::spawn(move || {
                    let mut c2 = second;
                    rounds::close(&mut c2, &id, true).map_err(|e| format!("{e:?}"))
                });
                std::thread::sleep(std::time::Duration::from_millis(500));
                Ok((raised, closing))
            })
            .unwrap();
        assert!(closing.join().unwrap().is_ok(), "the close went through");
        let after = naervaer::snapshot::load(&mut c, &next.id).unwrap().unwrap();
        assert_eq!(after.previous_round.as_ref(), Some(&f.round));
        let mut changes = 0;
        for g in &after.groups {
            let Some(fig) = &g.figures else { continue };
            for (i, s) in fig.factors.iter().enumerate() {
                if s.as_ref().and_then(|s| s.change()).is_none() {
                    continue;
                }
                assert!(shows(&raised, &g.code, i), "{}: a change against a figure the raise hid", g.code);
                changes += 1;
            }
        }
        assert!(changes > 0, "the close measured changes");
    }
}

/// [`closed_round`], and its next round (open) answered as it describes:
/// once closed, its changes are measured against the first.
fn answered_next_round(c: &mut DbConnection) -> (Fixture, Round) {
    let f = closed_round(c);
    let next = Round::find(c, &f.open_round).unwrap();
    answer(c, &next, 11);
    (f, next)
}

/// [`answered_next_round`], closed: the fixture, the next round and its
/// snapshot, measured against the first round.
fn closed_after_the_previous(
    c: &mut DbConnection,
) -> (Fixture, Round, std::sync::Arc<naervaer::snapshot::Snapshot>) {
    let (f, next) = answered_next_round(c);
    rounds::close(c, &next.id, true).unwrap();
    let closed = snapshot_of(c, &next.id);
    assert_eq!(closed.previous_round.as_ref(), Some(&f.round));
    (f, next, closed)
}

fn snapshot_of(c: &mut DbConnection, round: &str) -> std::sync::Arc<naervaer::snapshot::Snapshot> {
    naervaer::snapshot::load(c, &naervaer::ids::RoundId::from(round))
        .unwrap()
        .unwrap()
}

/// Whether `s` shows the figure of factor `factor` for the group `code`.
fn shows(s: &naervaer::snapshot::Snapshot, code: &str, factor: usize) -> bool {
    s.groups
        .iter()
        .find(|g| g.code == code)
        .and_then(|g| g.figures.as_ref())
        .is_some_and(|g| g.factors[factor].is_some())
}

fn stored_scores(c: &mut DbConnection, round: &str) -> Option<naervaer::snapshot::Scores> {
    use naervaer::db::schema::snapshots;
    let bytes: Option<Vec<u8>> = snapshots::table
        .find(round)
        .select(snapshots::scores_data)
        .first(c)
        .unwrap();
    bytes.map(|b| naervaer::snapshot::stored::decode(&b).unwrap())
}

both_backends! {
    fn the_analysis_reads_scores_stored_beside_the_snapshot_or_made_from_an_older_body(t) {
        use naervaer::db::schema::snapshots;
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let snapshot = naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap();
        let scores = stored_scores(&mut c, &f.round).expect("scores stored at close");
        assert_eq!(scores, Scores::from(snapshot.as_ref()));
        // A hidden group has no scores; a shown one the snapshot's n, mean, SD.
        let small = scores.groups.iter().find(|g| g.key == f.unit[SMALL]).unwrap();
        assert!(small.figures.is_none());
        let root = &scores.groups[0];
        let fig = snapshot.root().figures.as_ref().unwrap();
        for (a, b) in root.figures.as_ref().unwrap().factors.iter().zip(&fig.factors) {
            let (a, b) = (a.unwrap(), b.as_ref().unwrap());
            assert_eq!((a.n, a.mean, a.sd), (b.n, b.mean, b.sd));
        }
        let analyse = |c: &mut DbConnection| {
            let a = naervaer::analysis::run(
                c,
                &naervaer::cache::Cache::none(),
                &f.round,
                naervaer::analysis::Window::Before,
                None,
                naervaer::lang::Lang::Nb,
            );
            serde_json::to_string(&a.unwrap()).unwrap()
        };
        let analysed = analyse(&mut c);
        // A snapshot stored before scores were kept (a new revision, so no
        // cache holds it): the same scores and the same analysis, from the body.
        diesel::update(snapshots::table.find(&f.round))
            .set((
                snapshots::scores_data.eq(None::<Vec<u8>>),
                snapshots::revision.eq(snapshots::revision + 1),
            ))
            .execute(&mut c)
            .unwrap();
        assert_eq!(
            naervaer::snapshot::load_scores(&mut c, &naervaer::cache::Cache::none(), &f.round).unwrap().unwrap().as_ref(),
            &scores
        );
        assert_eq!(
            analyse(&mut c),
            analysed
        );
        // A snapshot stored as JSON text, before the compact form: read as
        // it is, with its scores beside it or without, to the same figures.
        for with_scores in [true, false] {
            diesel::update(snapshots::table.find(&f.round))
                .set((
                    snapshots::body.eq(Some(serde_json::to_string(snapshot.as_ref()).unwrap())),
                    snapshots::scores.eq(with_scores.then(|| serde_json::to_string(&scores).unwrap())),
                    snapshots::data.eq(None::<Vec<u8>>),
                    snapshots::scores_data.eq(None::<Vec<u8>>),
                    snapshots::revision.eq(snapshots::revision + 1),
                ))
                .execute(&mut c)
                .unwrap();
            assert_eq!(naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap(), snapshot);
            assert_eq!(
                naervaer::snapshot::load_scores(&mut c, &naervaer::cache::Cache::none(), &f.round).unwrap().unwrap().as_ref(),
                &scores
            );
            assert_eq!(analyse(&mut c), analysed);
        }
        // A row can hold only one form.
        let both = diesel::update(snapshots::table.find(&f.round))
            .set(snapshots::data.eq(Some(naervaer::snapshot::stored::encode(snapshot.as_ref()))))
            .execute(&mut c);
        assert!(both.is_err(), "a row with both forms is refused");
        // Raising k writes the compact form again.
        naervaer::snapshot::raise_k(&mut c, &f.round, snapshot.k + 1).unwrap();
        let (data, body): (Option<Vec<u8>>, Option<String>) = snapshots::table
            .find(&f.round)
            .select((snapshots::data, snapshots::body))
            .first(&mut c)
            .unwrap();
        assert!(data.is_some() && body.is_none());
    }
}

/// The brute-force attacker of tests/it/anonymity.rs, on what a real
/// round published: every combination of up to four shown groups with
/// coefficients ±1, against the true number of respondents per unit (from
/// the daily counters: the stored responses are coarsened at close). No
/// combination may single out 1 to k−1 people.
fn attack_published(c: &mut DbConnection, s: &naervaer::snapshot::Snapshot) -> usize {
    use naervaer::db::schema::daily_counts;
    let per_unit: Vec<(String, i32)> = daily_counts::table
        .filter(daily_counts::round_id.eq(&s.round_id))
        .select((daily_counts::unit_id, daily_counts::responses))
        .load(c)
        .unwrap();
    let n = s.groups.len();
    let direct: Vec<u32> = s
        .groups
        .iter()
        .map(|g| {
            per_unit
                .iter()
                .filter(|(u, _)| *u == g.key)
                .map(|(_, n)| *n as u32)
                .sum()
        })
        .collect();
    assert_eq!(
        direct.iter().sum::<u32>(),
        per_unit.iter().map(|(_, n)| *n as u32).sum::<u32>()
    );
    let shown: Vec<usize> = (0..n).filter(|i| s.groups[*i].figures.is_some()).collect();
    let inside: Vec<Vec<bool>> = shown
        .iter()
        .map(|&g| {
            (0..n)
                .map(|u| s.is_within(&s.groups[u].key, &s.groups[g].key))
                .collect()
        })
        .collect();
    let mut tried = 0;
    let mut coef = vec![0i32; n];
    let mut attack = |chosen: &[(usize, i32)]| {
        tried += 1;
        coef.iter_mut().for_each(|x| *x = 0);
        for &(g, sign) in chosen {
            for u in 0..n {
                if inside[g][u] {
                    coef[u] += sign;
                }
            }
        }
        let mut isolated = 0;
        for u in 0..n {
            match (direct[u], coef[u]) {
                (0, _) | (_, 0) => {}
                (d, 1) => isolated += d,
                _ => return,
            }
        }
        assert!(
            isolated == 0 || isolated >= s.k,
            "{:?} isolate {isolated} respondent(s), k = {}",
            chosen
                .iter()
                .map(|(g, x)| (s.groups[shown[*g]].code.clone(), *x))
                .collect::<Vec<_>>(),
            s.k
        );
    };
    let m = shown.len();
    for a in 0..m {
        for sa in [1, -1] {
            attack(&[(a, sa)]);
            for b in a + 1..m {
                for sb in [1, -1] {
                    attack(&[(a, sa), (b, sb)]);
                    for c3 in b + 1..m {
                        for sc in [1, -1] {
                            attack(&[(a, sa), (b, sb), (c3, sc)]);
                            for d in c3 + 1..m {
                                for sd in [1, -1] {
                                    attack(&[(a, sa), (b, sb), (c3, sc), (d, sd)]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    tried
}

both_backends! {
    fn no_combination_of_published_groups_singles_out_fewer_than_k(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let s = naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap();
        assert!(s.groups.iter().filter(|g| g.figures.is_some()).count() >= 15);
        let tried = attack_published(&mut c, &s);
        assert!(tried > 100_000, "{tried} combinations");
        let raised = naervaer::snapshot::raise_k(&mut c, &f.round, 9).unwrap();
        attack_published(&mut c, &raised);
    }
}

both_backends! {
    fn an_upload_is_previewed_then_applied_a_bad_one_is_explained_and_nothing_lingers(t) {
        let mut c = t.conn();
        demo::seed(&mut c).unwrap();
        let admin = demo::sign_in_people(&mut c).unwrap()[2].id.clone();
        let server = TestServer::start(&t);
        let (cookie, csrf) = sign_in(&server, &mut c, &admin);
        let before = crate::support::dump(&mut c);
        // A file with a unit whose parent does not exist: rejected with its
        // line, nothing changed, nothing kept.
        let (ct, body) = multipart(&csrf, "units", "enheter.csv", "unit_code;parent_code;name\n1000;;Demo kommune\n9999;8888;Ny\n");
        let r = http_raw(server.addr, "POST", "/admin/import?lang=nb", &ct, &body, Some(&cookie));
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("linje 3"), "{}", r.body);
        assert!(r.body.contains("Ingenting er endret"));
        assert_eq!(crate::support::dump(&mut c), before);
        use naervaer::db::schema::pending_imports;
        let pending = |c: &mut DbConnection| pending_imports::table.count().get_result::<i64>(c).unwrap();
        assert_eq!(pending(&mut c), 0);
        // Without the CSRF token: refused before the file is read.
        let (ct, body) = multipart("", "units", "enheter.csv", "unit_code;parent_code;name\n");
        assert_eq!(http_raw(server.addr, "POST", "/admin/import", &ct, &body, Some(&cookie)).status, 403);
        // A good file: a preview that changes nothing, then the confirmation.
        let mut units = demo::generate(demo::SEED).units_csv;
        units.push_str("1299;1200;Ny barnehage\n");
        let (ct, body) = multipart(&csrf, "units", "enheter.csv", &units);
        let r = http_raw(server.addr, "POST", "/admin/import?lang=nb", &ct, &body, Some(&cookie));
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Lagt til (1)") && r.body.contains("1299"), "{}", r.body);
        assert_eq!(crate::support::dump(&mut c), before, "a preview changes nothing");
        let id: String = pending_imports::table.select(pending_imports::id).first(&mut c).unwrap();
        let r = post(&server, &format!("/admin/import/{id}?lang=nb"), &format!("csrf={csrf}"), Some(&cookie));
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Importert"));
        assert_ne!(crate::support::dump(&mut c), before);
        assert_eq!(pending(&mut c), 0, "an applied file is deleted");
        let again = post(&server, &format!("/admin/import/{id}"), &format!("csrf={csrf}"), Some(&cookie));
        assert_eq!(again.status, 400);
        // An upload nobody confirms is swept after an hour.
        let (ct, body) = multipart(&csrf, "units", "enheter.csv", &units);
        assert_eq!(http_raw(server.addr, "POST", "/admin/import", &ct, &body, Some(&cookie)).status, 200);
        assert_eq!(naervaer::import::sweep_pending(&mut c).unwrap(), 0);
        diesel::update(pending_imports::table)
            .set(pending_imports::created_at.eq(naervaer::db::now_unix() - naervaer::import::PENDING_SECS - 1))
            .execute(&mut c)
            .unwrap();
        assert_eq!(naervaer::import::sweep_pending(&mut c).unwrap(), 1);
        // Expired sessions and links are swept too.
        diesel::update(naervaer::db::schema::sessions::table)
            .set(naervaer::db::schema::sessions::expires_at.eq(0))
            .execute(&mut c)
            .unwrap();
        assert!(auth::sweep(&mut c).unwrap() >= 1);
        assert_eq!(get(&server, "/admin", Some(&cookie)).status, 401);
    }
}

both_backends! {
    fn a_small_units_absence_never_appears_on_the_amu_pages_or_exports(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        // Every unit about 5 %; unit 1270, whose survey results are shown,
        // reports only four employees in the period with 77.7 % absence: a
        // figure nothing shown can have. Its absence must stay hidden. The
        // period ends on the day the round was closed (by hand, today).
        let closes = rounds::today();
        let mut csv = String::from("unit_code;period_start;period_end;agreed_workdays;lost_workdays;headcount\n");
        for (code, _, _, people) in demo::UNITS.iter().filter(|u| u.3 > 0) {
            let agreed = *people as f64 * 230.0;
            let (share, heads) = if *code == "1270" { (0.777, 4) } else { (0.05 + (code.len() % 3) as f64 * 0.01, *people) };
            csv += &format!("{code};{};{closes};{agreed};{};{heads}\n", closes - chrono::Duration::days(300), agreed * share);
        }
        naervaer::import::import(&mut c, naervaer::import::Kind::Absence, "a.csv", csv.as_bytes(), false).unwrap();
        let server = TestServer::start(&t);
        let mut looked = 0;
        for who in [2, 3] {
            let (cookie, _) = sign_in(&server, &mut c, &f.people[who].1);
            for path in ["/amu?lang=nb", "/amu?lang=en", "/amu/rapport?lang=nb", "/amu/csv"] {
                let r = get(&server, path, Some(&cookie));
                assert_eq!(r.status, 200, "{path}");
                // As a page shows a rate (decimal comma, or point before
                // " %" in English); in the CSV as a number. Chart
                // coordinates are not rates and are not searched.
                for needle in ["77,7", "77.7\u{a0}%", "77.7 %"] {
                    assert!(!r.body.contains(needle), "{path} shows {needle}");
                }
                if path.ends_with("csv") {
                    for row in csv_rows(&r.body) {
                        for cell in row {
                            if let Ok(v) = cell.parse::<f64>() {
                                assert!(!(77.0..78.0).contains(&v), "{path}: {v}");
                            }
                        }
                    }
                }
                looked += 1;
            }
            let x = get(&server, "/amu/xlsx", Some(&cookie));
            use calamine::Reader;
            let mut book = calamine::Xlsx::new(std::io::Cursor::new(x.bytes.clone())).unwrap();
            for sheet in ["Faktorer", "Enheter", "Flagget"] {
                let range = book.worksheet_range(sheet).unwrap();
                for row in range.rows() {
                    for cell in row {
                        if let Some(v) = calamine::DataType::get_float(cell) {
                            assert!(!(77.0..78.0).contains(&v), "{sheet}: {v}");
                        }
                    }
                }
            }
            let json: serde_json::Value = serde_json::from_str(&get(&server, &format!("/api/v1/rounds/{}/analysis", f.round), Some(&cookie)).body).unwrap();
            fn rates(v: &serde_json::Value, out: &mut Vec<f64>) {
                match v {
                    serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| {
                        if k.contains("rate") {
                            if let Some(f) = x.as_f64() { out.push(f); }
                        }
                        rates(x, out)
                    }),
                    serde_json::Value::Array(a) => a.iter().for_each(|x| {
                        if let Some(f) = x.as_f64() { out.push(f); }
                        rates(x, out)
                    }),
                    _ => {}
                }
            }
            let mut all = Vec::new();
            rates(&json, &mut all);
            assert!(all.len() > 20);
            // Its own rate appears nowhere. (The rest of Oppvekst, twelve
            // employees with 1270's four among them, may be shown at about
            // 50 %: it is Oppvekst less its shown units, derivable from
            // shown figures and of at least k people.)
            assert!(all.iter().all(|r| !(77.0..78.0).contains(r)), "{all:?}");
            let groups = json["analysis"]["groups"].as_array().unwrap();
            assert!(groups.len() >= 10 && groups.iter().all(|g| g["code"] != "1270"));
        }
        assert_eq!(looked, 8);
    }
}
