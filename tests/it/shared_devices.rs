//! People who share a device or a public address: a staff meeting answering
//! with paper codes on one tablet, a municipality's leaders signing in from
//! behind one NAT address, a reverse proxy in front of the service. The
//! limits must stop guessing and mail-bombing without locking them out.

use crate::rounds::{invitation_ids, open_demo_round};
use crate::support::{http, http_with, key, settings, Response, TestDb, TestServer};
use diesel::prelude::*;
use naervaer::crypto::format_code;
use naervaer::db::schema::{invitations, responses};
use naervaer::web::{CODE_FAILURES_GLOBAL, CODE_FAILURES_PER_CLIENT};

/// Every cookie a response sets, as one `Cookie` header value.
fn cookies(r: &Response) -> String {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .filter(|c| !c.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

fn post_code(server: &TestServer, code: &str, headers: &[(&str, &str)]) -> Response {
    http_with(
        server.addr,
        "POST",
        "/kode?lang=nb",
        "application/x-www-form-urlencoded",
        format!("kode={code}").as_bytes(),
        headers,
    )
}

/// Enters `code`, answers everything, and returns the response to the
/// submission.
fn answer_with_code(
    server: &TestServer,
    code: &str,
    surveys: &[naervaer::survey::Survey],
    i: usize,
) -> Response {
    let r = post_code(server, code, &[]);
    assert_eq!(r.status, 303, "code {i}: {}", r.body);
    let cookie = cookies(&r);
    assert!(cookie.contains("naervaer_kode=1"), "{cookie}");
    let page = http_with(
        server.addr,
        "GET",
        "/svar?lang=nb",
        "text/plain",
        b"",
        &[("Cookie", &cookie)],
    );
    assert_eq!(page.status, 200);
    http_with(
        server.addr,
        "POST",
        "/svar?lang=nb",
        "application/x-www-form-urlencoded",
        naervaer::bench::complete_form(surveys, i).as_bytes(),
        &[("Cookie", &cookie)],
    )
}

fn wrong_code(i: usize) -> String {
    // Valid characters and length, but no invitation has it.
    format!("ZZZZ-ZZZZ-{:03}", i % 1000)
        .replace('0', "Z")
        .replace('1', "Y")
}

crate::both_backends! {
    fn sixty_people_answer_with_valid_codes_from_one_address_within_a_minute(t) {
        let (mut c, round) = open_demo_round(&t);
        let server = TestServer::start(&t);
        let surveys = round.surveys(&mut c).unwrap();
        let ids = invitation_ids(&mut c, &round.id);
        let started = std::time::Instant::now();
        for (i, id) in ids.iter().take(60).enumerate() {
            let r = answer_with_code(&server, &format_code(&key().paper_code(id)), &surveys, i);
            assert_eq!(r.status, 303, "person {i}: {}", r.body);
            assert_eq!(r.header("location"), Some("/kvittering?lang=nb&neste=kode"));
            // Both cookies are cleared: the next person starts with nothing.
            let cleared: Vec<&str> = r.headers.iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.as_str())
                .collect();
            assert!(cleared.iter().any(|c| c.starts_with("naervaer_svar=;") && c.contains("Max-Age=0")), "{cleared:?}");
            assert!(cleared.iter().any(|c| c.starts_with("naervaer_kode=;") && c.contains("Max-Age=0")), "{cleared:?}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());
        let stored: i64 = responses::table.filter(responses::round_id.eq(&round.id)).count().get_result(&mut c).unwrap();
        assert_eq!(stored, 60);
        let answered: i64 = invitations::table.filter(invitations::responded.eq(true)).count().get_result(&mut c).unwrap();
        assert_eq!(answered, 60);
        // The receipt leads the next person to an empty code page.
        let receipt = http(server.addr, "GET", "/kvittering?lang=nb&neste=kode", "");
        assert!(receipt.body.contains("Neste person") && receipt.body.contains("href=\"/kode?lang=nb\""), "{}", receipt.body);
        // Someone who answered with a link from e-mail is not offered it.
        let plain = http(server.addr, "GET", "/kvittering?lang=nb", "");
        assert!(!plain.body.contains("Neste person"));
    }
}

#[test]
fn the_eleventh_wrong_code_from_one_address_is_refused_and_other_addresses_are_not() {
    let t = TestDb::new(crate::support::Backend::Sqlite);
    let (mut c, round) = open_demo_round(&t);
    // One trusted proxy, so that the test can speak for several addresses.
    let server = TestServer::start_with(
        &t,
        settings(&t, &[("NAERVAER_TRUSTED_PROXIES", "127.0.0.1")]),
    );
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    for i in 0..CODE_FAILURES_PER_CLIENT as usize {
        let r = post_code(&server, &wrong_code(i), &from("198.51.100.1"));
        assert_eq!(r.status, 200, "failure {i} is answered plainly");
        assert!(r.body.contains("Koden kan ikke brukes"));
    }
    let r = post_code(&server, &wrong_code(99), &from("198.51.100.1"));
    assert_eq!(r.status, 429, "the 11th");
    assert!(
        r.body.contains("Koden kan ikke brukes"),
        "the refusal looks the same"
    );
    // Even a valid code is refused from that address now…
    let ids = invitation_ids(&mut c, &round.id);
    let valid = format_code(&key().paper_code(&ids[0]));
    assert_eq!(
        post_code(&server, &valid, &from("198.51.100.1")).status,
        429
    );
    // …but not from another one behind the same proxy.
    assert_eq!(
        post_code(&server, &valid, &from("198.51.100.2")).status,
        303
    );
    // Typos of the wrong length are not guesses and never count.
    for _ in 0..30 {
        assert_eq!(post_code(&server, "ABC", &from("198.51.100.3")).status, 200);
    }
    assert_eq!(
        post_code(&server, &valid, &from("198.51.100.3")).status,
        303
    );
}

#[test]
fn wrong_codes_sent_all_at_once_from_one_address_still_stop_at_the_limit() {
    // PostgreSQL, so that the test can hold every lookup back with a table
    // lock: fifty wrong codes are then all in flight at the same moment,
    // and only as many as the limit may be tried.
    let t = TestDb::new(crate::support::Backend::Postgres);
    let (_c, _round) = open_demo_round(&t);
    let server = TestServer::start(&t);
    let mut lock = t.conn();
    let naervaer::db::DbConnection::Pg(pg) = &mut lock else {
        unreachable!("a PostgreSQL test database")
    };
    diesel::connection::SimpleConnection::batch_execute(
        pg,
        "BEGIN; LOCK TABLE invitations IN ACCESS EXCLUSIVE MODE",
    )
    .unwrap();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let server = &server;
                s.spawn(move || post_code(server, &wrong_code(i), &[]).status)
            })
            .collect();
        // Every request has reached the lookup, or been refused, by now.
        std::thread::sleep(std::time::Duration::from_secs(2));
        diesel::connection::SimpleConnection::batch_execute(pg, "COMMIT").unwrap();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let tried = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(tried + refused, 50, "{statuses:?}");
    assert_eq!(
        tried, CODE_FAILURES_PER_CLIENT as usize,
        "wrong codes tried while all were in flight: {statuses:?}"
    );
}

#[test]
fn wrong_codes_spread_over_many_addresses_reach_the_global_limit() {
    let t = TestDb::new(crate::support::Backend::Sqlite);
    let (mut c, round) = open_demo_round(&t);
    let server = TestServer::start_with(
        &t,
        settings(&t, &[("NAERVAER_TRUSTED_PROXIES", "127.0.0.0/8")]),
    );
    let per = CODE_FAILURES_PER_CLIENT as usize;
    let addresses = CODE_FAILURES_GLOBAL as usize / per;
    for a in 0..addresses {
        let ip = format!("10.{}.{}.1", a / 250, a % 250);
        for i in 0..per {
            let r = post_code(
                &server,
                &wrong_code(a * per + i),
                &[("X-Forwarded-For", &ip)],
            );
            assert_eq!(r.status, 200, "address {ip}, attempt {i}");
        }
    }
    // A fresh address, a valid code: the ceiling holds for everyone now.
    let ids = invitation_ids(&mut c, &round.id);
    let valid = format_code(&key().paper_code(&ids[0]));
    let r = post_code(&server, &valid, &[("X-Forwarded-For", "192.0.2.77")]);
    assert_eq!(r.status, 429);
}

#[test]
fn a_forged_forwarding_header_from_an_untrusted_peer_is_ignored() {
    let t = TestDb::new(crate::support::Backend::Sqlite);
    let (_c, _round) = open_demo_round(&t);
    // No trusted proxies: the peer (127.0.0.1) is the client, whatever the
    // request claims.
    let server = TestServer::start(&t);
    for i in 0..CODE_FAILURES_PER_CLIENT as usize {
        let forged = format!("203.0.113.{i}");
        let r = post_code(
            &server,
            &wrong_code(i),
            &[
                ("X-Forwarded-For", &forged),
                ("Forwarded", &format!("for={forged}")),
            ],
        );
        assert_eq!(r.status, 200);
    }
    let r = post_code(
        &server,
        &wrong_code(50),
        &[("X-Forwarded-For", "203.0.113.200")],
    );
    assert_eq!(
        r.status, 429,
        "a new forged address does not buy new attempts"
    );
}

crate::both_backends! {
    fn two_hundred_leaders_behind_one_address_sign_in_and_one_address_cannot_mail_bomb_a_person(t) {
        let mut c = t.conn();
        crate::import_text(&mut c, naervaer::import::Kind::Units, crate::UNITS, false).unwrap();
        let mut people = String::from("employee_id;name;email;unit_code;leader_of\n");
        for i in 0..200 {
            people += &format!("{i};Leder {i};leder{i}@test.no;1110;1110\n");
        }
        crate::import_text(&mut c, naervaer::import::Kind::Employees, &people, false).unwrap();
        let outbox = tempfile::tempdir().unwrap();
        let server = TestServer::start_with(&t, settings(&t, &[("NAERVAER_OUTBOX_DIR", outbox.path().to_str().unwrap())]));
        let started = std::time::Instant::now();
        for i in 0..200 {
            let r = http(server.addr, "POST", "/innlogging?lang=nb", &format!("email=leder{i}%40test.no"));
            assert_eq!(r.status, 200, "leader {i}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        let count = || std::fs::read_dir(outbox.path()).unwrap().count();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while count() < 200 {
            assert!(std::time::Instant::now() < deadline, "{} of 200 links sent", count());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Each got a link that signs them in.
        let mails: Vec<String> = std::fs::read_dir(outbox.path()).unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert!(mails.iter().any(|m| m.contains("leder0@test.no")) && mails.iter().any(|m| m.contains("leder199@test.no")));
        // Twenty more requests for one person from the same address: the
        // answer is the same every time, but only so many links go out.
        for _ in 0..20 {
            assert_eq!(http(server.addr, "POST", "/innlogging?lang=nb", "email=leder7%40test.no").status, 200);
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
        let to_seven = std::fs::read_dir(outbox.path()).unwrap()
            .filter(|e| std::fs::read_to_string(e.as_ref().unwrap().path()).unwrap().contains("leder7@test.no"))
            .count();
        assert_eq!(to_seven as i64, naervaer::auth::LINKS_PER_PERSON, "at most this many links per person");
    }
}

#[test]
fn one_address_asking_for_more_sign_in_links_than_the_limit_is_refused_and_another_is_not() {
    let t = TestDb::new(crate::support::Backend::Sqlite);
    let server = TestServer::start_with(
        &t,
        settings(&t, &[("NAERVAER_TRUSTED_PROXIES", "127.0.0.1")]),
    );
    let ask = |ip: &str, i: u32| {
        http_with(
            server.addr,
            "POST",
            "/innlogging?lang=nb",
            "application/x-www-form-urlencoded",
            format!("email=ukjent{i}%40test.no").as_bytes(),
            &[("X-Forwarded-For", ip)],
        )
    };
    let limit = naervaer::auth::SIGN_IN_REQUESTS_PER_CLIENT;
    for i in 0..limit {
        assert_eq!(ask("198.51.100.9", i).status, 200, "request {i}");
    }
    let over = ask("198.51.100.9", limit);
    assert_eq!(over.status, 429);
    assert!(over.body.contains("For mange"), "{}", over.body);
    assert_eq!(ask("198.51.100.10", 0).status, 200, "another address");
}
