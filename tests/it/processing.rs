//! The record of processing: generated from the running settings, the
//! access rules and the database, for administrators only, as a page and
//! as Markdown; when a setting changes, the record says the new value.
//! (Its page in Chromium, with axe, is in `tests/browser/results.mjs`.)

use crate::both_backends;
use crate::results::{closed_round, sign_in};
use crate::support::{http_cookie, settings, TestServer};
use naervaer::access::{self, Reach, Role};

/// The Markdown row whose first cell is `first`, as cells.
fn row(md: &str, first: &str) -> Vec<String> {
    let line = md
        .lines()
        .find(|l| l.starts_with(&format!("| {first}")))
        .unwrap_or_else(|| panic!("no row «{first}» in\n{md}"));
    line.trim_matches('|')
        .split(" | ")
        .map(|c| c.trim().to_string())
        .collect()
}

both_backends! {
    fn the_record_says_what_the_settings_and_access_rules_are_now(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let admin = &f.people[3].1;
        let fetch = |server: &TestServer, c: &mut naervaer::db::DbConnection, path: &str| {
            let (cookie, _) = sign_in(server, c, admin);
            let r = http_cookie(server.addr, "GET", path, "", Some(&cookie));
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            r
        };

        // The defaults.
        let server = TestServer::start(&t);
        let md = fetch(&server, &mut c, "/admin/behandling.md?lang=nb");
        assert!(md.header("content-type").unwrap().starts_with("text/markdown"));
        assert!(md.header("content-disposition").unwrap().contains(".md"));
        let md = md.body;
        assert!(md.starts_with("# Protokoll over behandling av personopplysninger – naervaer, "), "{md}");
        let responses = row(&md, "Svar og bakgrunnssvar");
        assert!(responses[3].contains("minst k = 5 svar"), "{responses:?}");
        assert!(responses[3].contains("Beholdes slik"), "{responses:?}");
        assert!(row(&md, "Ansattnummer")[3].contains("180 dager senere slettes"));
        assert!(row(&md, "Sykefravær per enhet")[3].contains("Slettes 5 år etter"));
        assert!(row(&md, "Invitasjoner")[3].starts_with("Til runden lukkes"));
        assert_eq!(row(&md, "NAERVAER_MIN_GROUP_SIZE"), ["NAERVAER_MIN_GROUP_SIZE", "5"]);
        assert!(row(&md, "Måltall")[2].starts_with("Av"));
        // Who sees what: exactly access::matrix, in words.
        let words = |r: Reach| match r {
            Reach::Nothing => "–",
            Reach::OwnUnits => "Egne enheter og alt under dem",
            Reach::Everything => "Alle enheter",
        };
        for r in access::matrix() {
            let name = match r.role {
                Role::Leader => "Leder",
                Role::Representative => "Verneombud, tillitsvalgt",
                Role::Amu => "AMU-medlem",
                Role::Admin => "Administrator",
            };
            let yes = |b: bool| if b { "Ja" } else { "–" };
            assert_eq!(
                row(&md, &format!("{name} |")),
                [name, words(r.results), words(r.plans), words(r.follow_up), words(r.edit_follow_up), yes(r.overview), yes(r.administration)],
            );
        }
        let page = fetch(&server, &mut c, "/admin/behandling?lang=nb").body;
        assert!(page.contains("minst k = 5 svar") && page.contains("/admin/behandling.md?lang=nb"));
        drop(server);

        // Other settings, and a round that raised k: the record follows.
        let raised = naervaer::rounds::Round::find(&mut c, &f.round).unwrap();
        naervaer::rounds::raise_k(&mut c, &raised.id, 8).unwrap();
        let s = settings(
            &t,
            &[
                ("NAERVAER_MIN_GROUP_SIZE", "7"),
                ("NAERVAER_EMPLOYEE_RETENTION_DAYS", "30"),
                ("NAERVAER_RESPONSE_RETENTION_DAYS", "365"),
                ("NAERVAER_ABSENCE_RETENTION_YEARS", "0"),
                ("NAERVAER_RETENTION_DAYS", "14"),
                ("NAERVAER_METRICS_TOKEN", "metrics-token-0123456789abcdef0123456789"),
                ("NAERVAER_BASE_URL", "https://naervaer.kommune.no"),
            ],
        );
        let server = TestServer::start_with(&t, s);
        let md = fetch(&server, &mut c, "/admin/behandling.md?lang=nb").body;
        let responses = row(&md, "Svar og bakgrunnssvar");
        assert!(responses[3].contains("minst k = 7 svar"), "{responses:?}");
        assert!(responses[3].contains("Slettes 365 dager etter lukking"), "{responses:?}");
        assert!(row(&md, "Ansattnummer")[3].contains("30 dager senere slettes"));
        assert_eq!(row(&md, "Sykefravær per enhet")[3], "Beholdes.");
        assert!(row(&md, "Invitasjoner")[3].starts_with("Til 14 dager etter"));
        assert_eq!(row(&md, "NAERVAER_METRICS_TOKEN"), ["NAERVAER_METRICS_TOKEN", "***"]);
        assert!(row(&md, "Måltall")[2].contains("bearer token"));
        assert!(md.contains(&format!("Høyere k for runden «{}»: k = 8.", raised.title)), "{md}");
        assert!(!md.contains("er ikke https"), "https is not warned about");

        // In English and nynorsk too.
        let en = fetch(&server, &mut c, "/admin/behandling.md?lang=en").body;
        assert!(en.starts_with("# Record of processing of personal data"));
        assert!(row(&en, "Answers and background answers")[3].contains("Deleted 365 days after close"));
        let nn = fetch(&server, &mut c, "/admin/behandling.md?lang=nn").body;
        assert!(nn.starts_with("# Protokoll over behandling av personopplysningar"));
    }
}
