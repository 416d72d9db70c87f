//! The security review as tests: cross-site forms and CSRF tokens on every
//! POST, security headers on every kind of answer, session fixation, open
//! redirects, and injection attempts in every text input. (Rate limits on
//! sign-in and code entry: `results::sign_in_links_work_once_…` and
//! `answering::…code…`; injection in import fields: `fuzz`.)

use crate::both_backends;
use crate::results::{closed_round, multipart, sign_in, Fixture};
use crate::support::{http_cookie, http_with, key, Response, TestServer};
use diesel::dsl::count_star;
use diesel::prelude::*;
use naervaer::db::schema::{
    absence_targets, accounts, invitations, login_tokens, measure_types, measures, outbox,
    pending_imports, responses, rounds, sessions,
};
use naervaer::db::DbConnection;

/// Everything a POST could change, as text: equal before and after means
/// nothing changed.
fn state(c: &mut DbConnection) -> String {
    let rounds: Vec<(String, String, String, i32)> = rounds::table
        .order(rounds::id)
        .select((
            rounds::id,
            rounds::title,
            rounds::status,
            rounds::min_group_size,
        ))
        .load(c)
        .unwrap();
    let items: Vec<(String, String, String, String)> = measures::table
        .order(measures::id)
        .select((
            measures::id,
            measures::title,
            measures::responsible,
            measures::status,
        ))
        .load(c)
        .unwrap();
    let tokens: Vec<(String, bool)> = login_tokens::table
        .order(login_tokens::token_hash)
        .select((login_tokens::token_hash, login_tokens::used))
        .load(c)
        .unwrap();
    let reminded: Vec<(String, bool, i32)> = invitations::table
        .order(invitations::id)
        .select((
            invitations::id,
            invitations::responded,
            invitations::reminders_sent,
        ))
        .load(c)
        .unwrap();
    let counts: Vec<i64> = vec![
        responses::table.select(count_star()).first(c).unwrap(),
        outbox::table.select(count_star()).first(c).unwrap(),
        sessions::table.select(count_star()).first(c).unwrap(),
        pending_imports::table
            .select(count_star())
            .first(c)
            .unwrap(),
        absence_targets::table
            .select(count_star())
            .first(c)
            .unwrap(),
        measure_types::table.select(count_star()).first(c).unwrap(),
    ];
    let accounts: Vec<(String, Option<String>)> = accounts::table
        .order(accounts::id)
        .select((accounts::id, accounts::done_now))
        .load(c)
        .unwrap();
    format!(
        "{}{rounds:?}\n{items:?}\n{tokens:?}\n{reminded:?}\n{counts:?}\n{accounts:?}",
        crate::support::dump(c)
    )
}

struct Request {
    path: String,
    content_type: String,
    body: Vec<u8>,
    cookie: Option<String>,
    /// The session's CSRF token, for the forms that carry one.
    csrf: Option<String>,
}

fn form(path: String, body: &str, session: Option<&(String, String)>) -> Request {
    Request {
        path,
        content_type: "application/x-www-form-urlencoded".into(),
        body: body.as_bytes().to_vec(),
        cookie: session.map(|s| s.0.clone()),
        csrf: session.map(|s| s.1.clone()),
    }
}

impl Request {
    /// The request with `csrf` as its token (none: no token at all).
    fn send(&self, server: &TestServer, csrf: Option<&str>, extra: &[(&str, &str)]) -> Response {
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(c) = &self.cookie {
            headers.push(("Cookie", c));
        }
        let body = if self.content_type.starts_with("multipart/") {
            let text = String::from_utf8(self.body.clone()).unwrap();
            text.replace("CSRF-TOKEN", csrf.unwrap_or("")).into_bytes()
        } else {
            let mut b = String::from_utf8(self.body.clone()).unwrap();
            if let Some(t) = csrf {
                if !b.is_empty() {
                    b.push('&');
                }
                b += &format!("csrf={t}");
            }
            b.into_bytes()
        };
        http_with(
            server.addr,
            "POST",
            &self.path,
            &self.content_type,
            &body,
            &headers,
        )
    }
}

/// Every POST route of the service, each as a request that would succeed
/// from the service's own page.
fn every_post(server: &TestServer, c: &mut DbConnection, f: &Fixture) -> Vec<Request> {
    let leader = sign_in(server, c, &f.people[0].1);
    let admin = sign_in(server, c, &f.people[3].1);
    let (r, own, below) = (&f.round, &f.unit["1200"], &f.unit["1230"]);
    let item = {
        let res = form(
            format!("/resultater/{r}/{own}/tiltak"),
            "factor=10-faktor%2Fmestringstro&measure=Fagdag&responsible=Leder&due_on=2027-03-01",
            Some(&leader),
        )
        .send(server, Some(&leader.1), &[]);
        assert_eq!(res.status, 303, "{}", res.body);
        measures::table
            .select(measures::id)
            .first::<String>(c)
            .unwrap()
    };
    let draft = crate::rounds::new_round(c, None);
    let fu = crate::followup::follow_up(c, f);
    let (ct, upload) = multipart(
        "CSRF-TOKEN",
        "units",
        "units.csv",
        "unit_code;parent_code;name\n1000;;Demo kommune\n",
    );
    let pending = {
        let preview = Request {
            path: "/admin/import".into(),
            content_type: ct.clone(),
            body: upload.clone(),
            cookie: Some(admin.0.clone()),
            csrf: Some(admin.1.clone()),
        }
        .send(server, Some(&admin.1), &[]);
        assert_eq!(preview.status, 200, "{}", preview.body);
        pending_imports::table
            .select(pending_imports::id)
            .first::<String>(c)
            .unwrap()
    };
    let inv: String = invitations::table
        .filter(invitations::round_id.eq(&f.open_round))
        .order(invitations::id)
        .select(invitations::id)
        .first(c)
        .unwrap();
    let survey = format!("naervaer_svar={}", key().survey_token(&inv));
    let link = naervaer::auth::link_token_for(
        c,
        &naervaer::ids::EmployeeId::from(f.people[1].1.to_string()),
    )
    .unwrap();
    let open = &f.open_round;
    vec![
        Request {
            cookie: Some(survey),
            ..form("/svar".into(), "page=0&go=next", None)
        },
        form("/kode".into(), "code=ABCD-EFGH-JKLM", None),
        form("/innlogging".into(), "email=kari%40demo.no", None),
        form(format!("/innlogging/{link}"), "", None),
        form(
            format!("/resultater/{r}/{below}/tiltak"),
            "factor=10-faktor%2Fmestringstro&measure=Kurs&responsible=Per&due_on=2027-01-31",
            Some(&leader),
        ),
        form(format!("/tiltak/{item}"), "done=true", Some(&leader)),
        form(
            "/tiltak".into(),
            &format!("unit={own}&title=Vernerunde&type_key=vernerunde&started_on=2026-04-01"),
            Some(&leader),
        ),
        form(
            "/tiltak/typer".into(),
            "key=trivsel&name_nb=Trivsel&name_nn=Trivsel&name_en=Well-being",
            Some(&admin),
        ),
        form("/oppfolging/sjekk".into(), "", Some(&admin)),
        form(
            format!("/oppfolging/enheter/{own}/maal"),
            "year=2026&kind=total&value=7",
            Some(&leader),
        ),
        form(
            format!("/oppfolging/enheter/{own}/tiltak"),
            "title=Fokussak&type_key=fokussak_personalmote&started_on=2026-04-01",
            Some(&leader),
        ),
        form(
            format!("/oppfolging/tiltak/{}/status", fu.measure),
            "status=done",
            Some(&leader),
        ),
        form(
            format!("/redegjorelse/{}/{}", fu.account, fu.token),
            "done_now=Mye&planned=Mer",
            None,
        ),
        form(
            "/admin/runder".into(),
            "title=Ny&opens_on=2027-01-01&closes_on=2027-01-14&min_group_size=5",
            Some(&admin),
        ),
        form(format!("/admin/runder/{}/apne", draft.id), "", Some(&admin)),
        form(format!("/admin/runder/{open}/purring"), "", Some(&admin)),
        form(format!("/admin/runder/{r}/k"), "k=6", Some(&admin)),
        form("/admin/utsending".into(), "", Some(&admin)),
        Request {
            path: "/admin/import".into(),
            content_type: ct,
            body: upload,
            cookie: Some(admin.0.clone()),
            csrf: Some(admin.1.clone()),
        },
        form(format!("/admin/import/{pending}"), "", Some(&admin)),
        form(format!("/admin/runder/{open}/lukk"), "", Some(&admin)),
        form("/utlogging".into(), "", Some(&leader)),
    ]
}

/// The POST routes the service has, read from its route table.
fn declared_posts() -> Vec<String> {
    crate::support::declared_routes()
        .into_iter()
        .filter(|(m, _)| *m == "POST")
        .map(|(_, p)| p)
        .collect()
}

fn route_of(path: &str) -> String {
    crate::support::route_of("POST", path)
}

both_backends! {
    fn every_post_refuses_a_form_from_another_site_and_changes_nothing(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let requests = every_post(&server, &mut c, &f);
        let mut covered: Vec<String> = requests.iter().map(|r| route_of(&r.path)).collect();
        covered.sort();
        covered.dedup();
        let mut declared = declared_posts();
        declared.sort();
        declared.dedup();
        assert_eq!(covered, declared, "every POST route is tried");

        let before = state(&mut c);
        let mut failures = Vec::new();
        for req in &requests {
            for headers in [
                &[("Origin", "https://evil.example")][..],
                &[("Origin", "null")][..],
                &[("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")][..],
                &[("Sec-Fetch-Site", "same-site")][..],
            ] {
                let res = req.send(&server, req.csrf.as_deref(), headers);
                if res.status != 403 || !res.body.contains("annet nettsted") {
                    failures.push(format!("{} with {headers:?}: {}", req.path, res.status));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(state(&mut c), before, "a refused cross-site form changed something");

        // The same forms from the service's own pages go through.
        let own = format!("http://{}", server.addr);
        for req in &requests[..4] {
            let res = req.send(&server, req.csrf.as_deref(), &[("Origin", &own), ("Sec-Fetch-Site", "same-origin")]);
            assert_ne!(res.status, 403, "{}: {}", req.path, res.body);
        }
    }

    fn every_signed_post_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let requests = every_post(&server, &mut c, &f);
        let before = state(&mut c);
        let mut failures = Vec::new();
        let mut signed = 0;
        for req in requests.iter().filter(|r| r.csrf.is_some()) {
            signed += 1;
            let wrong = "0".repeat(req.csrf.as_ref().unwrap().len());
            for token in [None, Some(""), Some(wrong.as_str())] {
                let res = req.send(&server, token, &[]);
                if res.status != 403 {
                    failures.push(format!("{} with token {token:?}: {}", req.path, res.status));
                }
            }
            // Another session's valid token is a wrong token too.
            let other = requests.iter().filter_map(|r| r.csrf.as_deref()).find(|t| Some(*t) != req.csrf.as_deref());
            let res = req.send(&server, other, &[]);
            if res.status != 403 {
                failures.push(format!("{} with another session's token: {}", req.path, res.status));
            }
        }
        assert_eq!(signed, 17, "the signed forms");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(state(&mut c), before, "a form without its token changed something");
    }

    fn a_session_cookie_chosen_before_sign_in_is_never_the_one_signed_in(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        // An attacker plants a cookie value of their choosing, or their own
        // valid session, in the victim's browser before the victim signs in.
        let attacker = sign_in(&server, &mut c, &f.people[1].1);
        for planted in ["naervaer_okt=chosen-by-the-attacker".to_string(), attacker.0.clone()] {
            let token = naervaer::auth::link_token_for(&mut c, &naervaer::ids::EmployeeId::from(f.people[0].1.to_string())).unwrap();
            let r = http_cookie(server.addr, "POST", &format!("/innlogging/{token}"), "", Some(&planted));
            assert_eq!(r.status, 303, "{}", r.body);
            let set = r.header("set-cookie").expect("a new session cookie").to_string();
            let issued = set.split(';').next().unwrap().to_string();
            assert_ne!(issued, planted, "the planted session was kept");
            let page = http_cookie(server.addr, "GET", "/resultater?lang=nb", "", Some(&issued));
            assert_eq!(page.status, 200);
            // The planted value is not the victim's session.
            let planted_page = http_cookie(server.addr, "GET", &format!("/resultater/{}/{}", f.round, f.unit["1200"]), "", Some(&planted));
            assert_ne!(planted_page.status, 200, "the planted cookie reached the victim's unit");
        }
    }

    fn no_redirect_leaves_the_site(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let requests = every_post(&server, &mut c, &f);
        let evil = "next=%2F%2Fevil.example&redirect=https%3A%2F%2Fevil.example&return_to=%2F%5Cevil.example&url=https%3A%2F%2Fevil.example";
        let mut redirects = 0;
        for req in &requests {
            let with_params = Request {
                path: format!("{}?{evil}", req.path),
                content_type: req.content_type.clone(),
                body: req.body.clone(),
                cookie: req.cookie.clone(),
                csrf: req.csrf.clone(),
            };
            let res = with_params.send(&server, req.csrf.as_deref(), &[]);
            if let Some(to) = res.header("location") {
                redirects += 1;
                assert!(
                    to.starts_with('/') && !to.starts_with("//") && !to.starts_with("/\\") && !to.contains("evil"),
                    "{} redirects to {to}",
                    req.path
                );
            }
        }
        for path in [format!("/s/{}?{evil}", key().survey_token("no-such")), format!("/innlogging?{evil}"), format!("/?{evil}")] {
            let res = http_cookie(server.addr, "GET", &path, "", None);
            if let Some(to) = res.header("location") {
                assert!(to.starts_with('/') && !to.starts_with("//") && !to.contains("evil"), "{path} → {to}");
            }
        }
        assert!(redirects >= 8, "the forms redirect: {redirects}");
    }

    fn injection_attempts_in_text_inputs_are_stored_and_shown_as_text(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let server = TestServer::start(&t);
        let leader = sign_in(&server, &mut c, &f.people[0].1);
        let admin = sign_in(&server, &mut c, &f.people[3].1);
        let sql = "x'); DROP TABLE action_items; --";
        let html = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
        let enc = |s: &str| -> String { serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_string() };
        let own = &f.unit["1200"];
        let res = form(
            format!("/resultater/{}/{own}/tiltak", f.round),
            &format!("factor=10-faktor%2Fmestringstro&measure={}&responsible={}&due_on=2027-03-01", enc(sql), enc(html)),
            Some(&leader),
        )
        .send(&server, Some(&leader.1), &[]);
        assert_eq!(res.status, 303, "{}", res.body);
        let stored: (String, String) = measures::table
            .select((measures::title, measures::responsible))
            .first(&mut c)
            .unwrap();
        assert_eq!(stored, (sql.to_string(), html.to_string()), "stored exactly as typed");
        let res = form("/admin/runder".into(),
            &format!("title={}&opens_on=2027-01-01&closes_on=2027-01-14&min_group_size=5", enc(&format!("{sql}{html}"))),
            Some(&admin)).send(&server, Some(&admin.1), &[]);
        assert_eq!(res.status, 303, "{}", res.body);
        let titles: Vec<String> = rounds::table.select(rounds::title).load(&mut c).unwrap();
        assert!(titles.contains(&format!("{sql}{html}")), "{titles:?}");
        // Shown as text wherever it appears.
        for (path, who) in [
            (format!("/resultater/{}/{own}?lang=nb", f.round), &leader),
            ("/tiltak?lang=nb".to_string(), &admin),
            ("/admin?lang=nb".to_string(), &admin),
        ] {
            let page = http_cookie(server.addr, "GET", &path, "", Some(&who.0));
            assert_eq!(page.status, 200, "{path}");
            assert!(!page.body.contains("<script>alert") && !page.body.contains("<img src=x"), "{path} renders markup from input");
        }
        let page = http_cookie(server.addr, "GET", &format!("/resultater/{}/{own}?lang=nb", f.round), "", Some(&leader.0));
        assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "escaped in the action plan");
        assert!(page.body.contains("x&#39;); DROP TABLE") || page.body.contains("x'); DROP TABLE"), "the measure as typed");
        // Sign-in and code entry take the same strings without harm.
        for (path, field) in [("/innlogging", "email"), ("/kode", "code")] {
            for v in [sql, html, "' OR '1'='1"] {
                let res = http_cookie(server.addr, "POST", path, &format!("{field}={}", enc(v)), None);
                assert!(res.status == 200 || res.status == 429, "{path}: {}", res.status);
                assert!(!res.body.contains("<script>alert"), "{path} echoes markup");
            }
        }
        let n: i64 = measures::table.select(count_star()).first(&mut c).unwrap();
        assert_eq!(n, 1, "the table is still there, with one row");
    }
}

#[test]
fn every_kind_of_answer_carries_the_security_headers() {
    let t = crate::support::TestDb::new(crate::support::Backend::Sqlite);
    let mut c = t.conn();
    let f = closed_round(&mut c);
    let server = TestServer::start(&t);
    let admin = sign_in(&server, &mut c, &f.people[3].1);
    let inv: String = invitations::table
        .filter(invitations::round_id.eq(&f.open_round))
        .select(invitations::id)
        .first(&mut c)
        .unwrap();
    let survey = format!("naervaer_svar={}", key().survey_token(&inv));
    let (r, root) = (&f.round, &f.unit["1000"]);
    let pages: Vec<(String, Option<&str>)> = vec![
        ("/".into(), None),
        ("/kode".into(), None),
        ("/innlogging".into(), None),
        ("/tilgjengelighet".into(), None),
        (format!("/s/{}", key().survey_token(&inv)), None),
        ("/svar".into(), Some(&survey)),
        ("/kvittering".into(), None),
        ("/finnes/ikke".into(), None),
        ("/resultater".into(), None),
        (format!("/resultater/{r}/{root}"), Some(&admin.0)),
        (format!("/resultater/{r}/{root}/utskrift"), Some(&admin.0)),
        (format!("/resultater/{r}/{root}/csv"), Some(&admin.0)),
        (format!("/resultater/{r}/{root}/xlsx"), Some(&admin.0)),
        (format!("/api/v1/rounds/{r}/groups/{root}"), Some(&admin.0)),
        ("/amu".into(), Some(&admin.0)),
        ("/amu/rapport".into(), Some(&admin.0)),
        ("/admin".into(), Some(&admin.0)),
        ("/static/app.css".into(), None),
    ];
    for (path, cookie) in &pages {
        let res = http_cookie(server.addr, "GET", path, "", *cookie);
        let csp = res
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"));
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(res.header("x-frame-options"), Some("DENY"), "{path}");
        if res.status == 200
            && res
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html"))
        {
            assert!(
                !res.body.contains("<script>") && !res.body.contains(" style=\""),
                "{path}: inline script or style"
            );
        }
    }
    // A refused cross-site form carries them too.
    let res = http_with(
        server.addr,
        "POST",
        "/innlogging",
        "application/x-www-form-urlencoded",
        b"email=a%40b.no",
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(res.status, 403);
    assert!(res.header("content-security-policy").is_some());
}
