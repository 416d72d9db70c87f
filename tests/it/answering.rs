//! The answering pages over real HTTP, on both backends.

use crate::both_backends;
use crate::rounds::{invitation_ids, open_demo_round};
use crate::support::{http, http_cookie, key, Response, TestServer};
use diesel::prelude::*;
use naervaer::db::schema::{daily_counts, invitations, responses};
use naervaer::db::DbConnection;
use naervaer::rounds;

/// The `name=value` pairs of the inputs of a page (hidden ones, or checked
/// radios), as a browser would send them.
fn carried(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].replace("&amp;", "&"))
    };
    html.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            let hidden = tag.contains("type=\"hidden\"");
            let checked = tag.contains(" checked");
            (hidden || checked)
                .then(|| Some((attr(tag, "name")?, attr(tag, "value")?)))
                .flatten()
        })
        .filter(|(k, _)| k != "page")
        .collect()
}

/// Radio groups on a page: field names in order.
fn questions(html: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for rest in html.split("type=\"radio\"").skip(1) {
        let start = rest.find("name=\"").unwrap() + 6;
        let end = rest[start..].find('"').unwrap() + start;
        let n = rest[start..end].to_string();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

fn encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

fn session_cookie(r: &Response) -> String {
    let set = r.header("set-cookie").expect("a cookie is set");
    set.split(';').next().unwrap().to_string()
}

fn state(c: &mut DbConnection) -> String {
    let r: Vec<(String, String)> = responses::table
        .order(responses::id)
        .select((responses::id, responses::answers))
        .load(c)
        .unwrap();
    let i: Vec<(String, bool)> = invitations::table
        .order(invitations::id)
        .select((invitations::id, invitations::responded))
        .load(c)
        .unwrap();
    let d: Vec<(String, i32)> = daily_counts::table
        .order(daily_counts::unit_id)
        .select((daily_counts::unit_id, daily_counts::responses))
        .load(c)
        .unwrap();
    format!("{r:?}{i:?}{d:?}")
}

/// Enters with the e-mailed link and returns the session cookie.
fn enter(server: &TestServer, invitation: &str) -> String {
    let r = http(
        server.addr,
        "GET",
        &format!("/s/{}", key().survey_token(invitation)),
        "",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    session_cookie(&r)
}

/// Answers every page: the first option of every question, "vet ikke" on
/// the first question of each page. Returns the final response.
fn answer_all(server: &TestServer, cookie: &str) -> Response {
    let mut page = http_cookie(server.addr, "GET", "/svar?lang=nb", "", Some(cookie));
    assert_eq!(page.status, 200);
    let mut page_no = 0;
    loop {
        let mut form = carried(&page.body);
        let qs = questions(&page.body);
        for (i, q) in qs.iter().enumerate() {
            form.retain(|(k, _)| k != q);
            let v = if q.starts_with("b.") {
                "vil_ikke_svare".to_string()
            } else if i == 0 {
                "0".into()
            } else {
                ((i % 5) + 1).to_string()
            };
            form.push((q.clone(), v));
        }
        form.push(("page".into(), page_no.to_string()));
        let last = page.body.contains("value=\"submit\"");
        form.push(("go".into(), if last { "submit" } else { "next" }.into()));
        let r = http_cookie(
            server.addr,
            "POST",
            "/svar?lang=nb",
            &encode(&form),
            Some(cookie),
        );
        if last {
            return r;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        page = r;
        page_no += 1;
        assert!(
            page.body.contains(&format!("Side {} av", page_no + 1)),
            "progress shown: {}",
            &page.body[..page.body.len().min(1500)]
        );
    }
}

both_backends! {
    fn the_link_is_traded_for_a_short_lived_cookie_and_a_url_without_the_token(t) {
        let (mut c, round) = open_demo_round(&t);
        let server = TestServer::start(&t);
        let inv = invitation_ids(&mut c, &round.id).remove(0);
        let token = key().survey_token(&inv);
        let r = http(server.addr, "GET", &format!("/s/{token}"), "");
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), Some("/svar"));
        let set = r.header("set-cookie").unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Max-Age=7200"), "{set}");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        let page = http_cookie(server.addr, "GET", "/svar", "", Some(&session_cookie(&r)));
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(&token), "the token must not appear in the page");
        // Without a choice, the page is in the invited person's language.
        let lang: String = naervaer::db::schema::invitations::table
            .inner_join(naervaer::db::schema::employees::table)
            .filter(naervaer::db::schema::invitations::id.eq(&inv))
            .select(naervaer::db::schema::employees::language)
            .first(&mut c)
            .unwrap();
        assert!(page.body.contains(&format!("<html lang=\"{lang}\">")), "not in the person's language ({lang})");
        // Switching language inside the form keeps the answers given.
        let switched = http_cookie(server.addr, "POST", "/svar?lang=nb", "page=0&go=en&q.10-faktor.im1=4", Some(&session_cookie(&r)));
        assert!(switched.body.contains("<html lang=\"en\">") && switched.body.contains("Page 1 of"), "{}", switched.body);
        assert!(switched.body.contains("value=\"4\" checked"), "the answer survived the switch");
        let nn = http_cookie(server.addr, "GET", "/svar?lang=nn", "", Some(&session_cookie(&r)));
        assert!(nn.body.contains("<html lang=\"nn\">") && nn.body.contains("Side 1 av"), "switching language");
        assert!(page.body.contains("<fieldset class=\"item\"><legend>"), "each item is a fieldset with a legend");
        // An unknown token says so plainly.
        let r = http(server.addr, "GET", "/s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "");
        assert_eq!(r.status, 404);
        assert!(r.body.contains("Lenken virker ikke"));
    }

    fn a_person_answers_every_page_submits_and_cannot_answer_again(t) {
        let (mut c, round) = open_demo_round(&t);
        let server = TestServer::start(&t);
        let inv = invitation_ids(&mut c, &round.id).remove(0);
        let cookie = enter(&server, &inv);
        let r = answer_all(&server, &cookie);
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some("/kvittering?lang=nb"));
        assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"), "the cookie is cleared");
        let stored: Vec<(String, String)> = responses::table.select((responses::answers, responses::background)).load(&mut c).unwrap();
        assert_eq!(stored.len(), 1);
        let surveys = naervaer::rounds::Round::find(&mut c, &round.id).unwrap().surveys(&mut c).unwrap();
        let layout = naervaer::survey::stored::Layout::of(&surveys);
        let d = naervaer::survey::stored::decode(&surveys, &layout, &stored[0].0, &stored[0].1).unwrap();
        assert_eq!(d.items.iter().flatten().count(), 66, "answers of every page arrived: {}", stored[0].0);
        let im1 = surveys[0].items.iter().position(|i| i.key == "im1").unwrap();
        assert_eq!(d.items[im1], Some(naervaer::stats::scores::Answer::DontKnow), "vet ikke is stored as such: {}", stored[0].0);
        let kjonn = &surveys[0].background[0];
        assert_eq!(kjonn.key, "kjonn");
        assert_eq!(d.background[0].map(|o| kjonn.options[usize::from(o)].key.as_str()), Some("vil_ikke_svare"), "{}", stored[0].1);
        let receipt = http(server.addr, "GET", "/kvittering?lang=nb", "");
        assert!(receipt.body.contains("Takk for svarene!"));
        // The link again, and the old cookie again: already answered.
        let again = http(server.addr, "GET", &format!("/s/{}", key().survey_token(&inv)), "");
        assert_eq!(again.status, 200);
        assert!(again.body.contains("Du har allerede svart"), "{}", again.body);
        let before = state(&mut c);
        let start = http_cookie(server.addr, "GET", "/svar?lang=nb", "", Some(&cookie));
        assert!(start.body.contains("Du har allerede svart"), "{}", start.body);
        // A double click: the same final form posted again with the old cookie.
        let last = naervaer::rounds::answer::pages(&round.surveys(&mut c).unwrap()).len() - 1;
        let replay = http_cookie(server.addr, "POST", "/svar?lang=nb", &format!("page={last}&go=submit&q.10-faktor.im2=5"), Some(&cookie));
        assert!(replay.body.contains("Du har allerede svart"), "{}", replay.body);
        assert_eq!(state(&mut c), before, "a double submission changed something");
    }

    fn tampered_malformed_and_oversized_forms_are_refused_and_change_nothing(t) {
        let (mut c, round) = open_demo_round(&t);
        let server = TestServer::start(&t);
        let inv = invitation_ids(&mut c, &round.id).remove(0);
        let cookie = enter(&server, &inv);
        let before = state(&mut c);
        let last = naervaer::rounds::answer::pages(&round.surveys(&mut c).unwrap()).len() - 1;
        let cases = [
            "page=0&go=next&q.10-faktor.im1=7".to_string(),
            "page=0&go=next&q.10-faktor.nope=3".to_string(),
            "page=0&go=next&q.10-faktor.im1=3&q.10-faktor.im1=4".to_string(),
            "page=99&go=next".to_string(),
            "page=0&go=submit&q.10-faktor.im1=3".to_string(),
            format!("page={last}&go=submit&b.10-faktor.kjonn=robot"),
            format!("page={last}&go=submit&admin=1"),
            "page=0&go=next&q.10-faktor.im1=%ZZ".to_string(),
            "go=submit".to_string(),
        ];
        for body in &cases {
            let r = http_cookie(server.addr, "POST", "/svar?lang=nb", body, Some(&cookie));
            assert_eq!(r.status, 400, "{body}: {}", r.body);
            assert!(r.body.contains("Skjemaet kunne ikke leses"), "{body}");
            assert_eq!(state(&mut c), before, "{body} changed something");
        }
        let huge = format!("page=0&go=next&q.10-faktor.im1={}", "3".repeat(naervaer::web::MAX_BODY_BYTES));
        let r = http_cookie(server.addr, "POST", "/svar?lang=nb", &huge, Some(&cookie));
        assert_eq!(r.status, 413);
        assert_eq!(state(&mut c), before);
        // Without the cookie nothing is accepted either.
        let r = http(server.addr, "POST", "/svar?lang=nb", &format!("page={last}&go=submit"));
        assert_eq!(r.status, 404);
        assert_eq!(state(&mut c), before);
    }

    fn a_closed_round_answers_with_a_friendly_page_and_changes_nothing(t) {
        let (mut c, round) = open_demo_round(&t);
        let server = TestServer::start(&t);
        let inv = invitation_ids(&mut c, &round.id).remove(0);
        let cookie = enter(&server, &inv);
        rounds::close(&mut c, &round.id, false).unwrap();
        let before = state(&mut c);
        let r = answer_all(&server, &cookie);
        assert!(r.body.contains("Undersøkelsen er stengt"), "{}", r.body);
        assert_eq!(state(&mut c), before);
        let r = http(server.addr, "GET", &format!("/s/{}", key().survey_token(&inv)), "");
        assert!(r.body.contains("Undersøkelsen er stengt"));
    }

    fn a_paper_code_opens_the_survey_and_wrong_codes_get_one_plain_answer(t) {
        let (mut c, round) = open_demo_round(&t);
        let server = TestServer::start(&t);
        let ids = invitation_ids(&mut c, &round.id);
        let code = naervaer::crypto::format_code(&key().paper_code(&ids[0]));
        let r = http(server.addr, "POST", "/kode", &format!("kode={}", code.to_lowercase()));
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some("/svar"), "the person's own language, not the installation's");
        let page = http_cookie(server.addr, "GET", "/svar?lang=nb", "", Some(&session_cookie(&r)));
        assert!(page.body.contains("Side 1 av"), "{}", page.body);

        // A used code, a code of a closed round and a code that does not
        // exist all get the very same page.
        let used = ids[1].clone();
        let cookie = enter(&server, &used);
        assert_eq!(answer_all(&server, &cookie).status, 303);
        let refusal = |body: String| http(server.addr, "POST", "/kode", &body);
        let a = refusal(format!("kode={}", key().paper_code(&used)));
        let b = refusal("kode=ZZZZ-ZZZZ-ZZZ".into());
        let c2 = refusal("kode=not a code".into());
        assert_eq!(a.status, 200);
        assert_eq!(a.body, b.body);
        assert_eq!(b.body, c2.body);
        assert!(a.body.contains("Koden kan ikke brukes"));
    }
}

#[test]
fn code_entry_is_rate_limited_per_client() {
    let t = crate::support::TestDb::new(crate::support::Backend::Sqlite);
    let server = TestServer::start(&t);
    for i in 0..naervaer::web::CODE_FAILURES_PER_CLIENT {
        let r = http(server.addr, "POST", "/kode", "kode=ZZZZ-ZZZZ-ZZZ");
        assert_eq!(r.status, 200, "attempt {i}");
    }
    let r = http(server.addr, "POST", "/kode", "kode=ZZZZ-ZZZZ-ZZZ");
    assert_eq!(r.status, 429);
    assert!(
        r.body.contains("Koden kan ikke brukes"),
        "the refusal looks the same"
    );
}

#[test]
fn the_accessibility_statement_is_published() {
    let t = crate::support::TestDb::new(crate::support::Backend::Sqlite);
    let server = TestServer::start(&t);
    let r = http(server.addr, "GET", "/tilgjengelighet", "");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("WCAG 2.1 nivå AA"));
    assert!(http(server.addr, "GET", "/tilgjengelighet?lang=en", "")
        .body
        .contains("WCAG 2.1 level AA"));
}
