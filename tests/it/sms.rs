//! SMS invitations and reminders through a real provider API: a local HTTP
//! server process speaking Twilio's documented Messages API
//! (`tests/sms_twilio.py`), as the mail tests use a real SMTP server. The
//! same durable outbox, rate cap, retries and crash safety as e-mail; every
//! message one segment; no token, number or text in a log or in the outbox.

use crate::both_backends;
use crate::mail::SmtpSink;
use crate::rounds::numbered_answers;
use crate::support::{http, key, naervaer_bin, settings, TestDb, TestServer, TEST_KEY};
use crate::{import_text, UNITS};
use diesel::prelude::*;
use naervaer::crypto::lookup_hash;
use naervaer::db::schema::{employees, invitations, outbox};
use naervaer::db::DbConnection;
use naervaer::import::Kind;
use naervaer::mail::{outbox as mail_outbox, Mailer};
use naervaer::rounds::{self, answer, Delivery, NewRound, Round};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token";

/// The provider process; its accepted messages are read from its folder.
pub struct SmsProvider {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmsProvider {
    pub fn start(extra: &[&str]) -> SmsProvider {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sms_twilio.py");
        let python = std::env::var("NAERVAER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(script)
            .arg("0")
            .arg("--dir")
            .arg(dir.path())
            .args(["--sid", SID, "--token", TOKEN])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is required to run the test SMS provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the test SMS provider did not start: {line}"));
        SmsProvider { child, port, dir }
    }

    /// `NAERVAER_SMS_URL` for this provider, with `token` as the secret.
    pub fn url_with(&self, token: &str) -> String {
        format!(
            "twilio+http://{SID}:{token}@127.0.0.1:{}?from=Kommunen",
            self.port
        )
    }

    pub fn url(&self) -> String {
        self.url_with(TOKEN)
    }

    /// (To, Body, the provider's segment count) of every accepted message.
    pub fn messages(&self) -> Vec<(String, String, String)> {
        let mut paths: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_string();
                (
                    s(&v["request"]["To"]),
                    s(&v["request"]["Body"]),
                    s(&v["response"]["num_segments"]),
                )
            })
            .collect()
    }
}

impl Drop for SmsProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const HEAD: &str = "employee_id;name;email;unit_code;leader_of;roles;language;mobile";

/// Six people: by e-mail only, by SMS only (in each language), both, and
/// neither (a paper letter).
fn people(c: &mut DbConnection) {
    import_text(c, Kind::Units, UNITS, false).unwrap();
    import_text(c, Kind::Employees, &format!(
        "{HEAD}\n1;Kari;kari@test.no;1110;;;nb;\n2;Ola;;1110;;;nb;912 34 567\n3;Siri;;1110;;;nn;+47 413 45 678\n4;John;;1200;;;en;0047 98765432\n5;Per;per@test.no;1200;;;nb;45 67 89 01\n6;Anne;;1000;;;nb;\n"
    ), false).unwrap();
}

fn round_with(c: &mut DbConnection, delivery: Delivery) -> Round {
    let today = rounds::today();
    rounds::create(
        c,
        5,
        NewRound {
            title: "SMS-runden".into(),
            surveys: vec![naervaer::demo::SURVEY_10_FAKTOR.into()],
            unit_code: None,
            opens_on: today,
            closes_on: today + chrono::Duration::days(7),
            min_group_size: 5,
            delivery,
        },
    )
    .unwrap()
}

fn channel_of(c: &mut DbConnection, round: &Round, number: &str) -> String {
    invitations::table
        .inner_join(employees::table)
        .filter(invitations::round_id.eq(&round.id))
        .filter(employees::employee_number.eq(number))
        .select(invitations::channel)
        .first(c)
        .unwrap()
}

both_backends! {
    fn invitations_and_reminders_go_by_sms_through_the_providers_api_in_each_language(t) {
        let mut c = t.conn();
        people(&mut c);
        let provider = SmsProvider::start(&[]);
        let sink = SmtpSink::start();
        let server = TestServer::start(&t);
        let base = format!("http://{}", server.addr);
        let s = settings(&t, &[
            ("NAERVAER_SMTP_URL", &sink.url()),
            ("NAERVAER_SMS_URL", &provider.url()),
            ("NAERVAER_BASE_URL", &base),
            ("NAERVAER_MAIL_RATE", "1000"),
            ("NAERVAER_SMS_RATE", "1000"),
        ]);
        assert!(s.sms_ready());
        // Without SMS set up, a round by SMS cannot open.
        let sms_round = round_with(&mut c, Delivery::Both);
        let e = rounds::open(&mut c, &key(), &sms_round.id).unwrap_err();
        assert!(e.to_string().contains("NAERVAER_SMS_URL") || format!("{e:?}").contains("SmsNotConfigured"), "{e:?}");
        let summary = rounds::open_reaching(&mut c, &key(), &sms_round.id, true).unwrap();
        assert_eq!((summary.invited, summary.by_email, summary.by_sms, summary.on_paper), (6, 2, 4, 1));
        let round = Round::find(&mut c, &sms_round.id).unwrap();
        assert_eq!(channel_of(&mut c, &round, "1"), "email");
        assert_eq!(channel_of(&mut c, &round, "2"), "sms");
        assert_eq!(channel_of(&mut c, &round, "5"), "both");
        assert_eq!(channel_of(&mut c, &round, "6"), "paper");

        // Sent by the `naervaer send` process, its log captured: no token,
        // no number, no address in it.
        let out = Command::new(naervaer_bin())
            .arg("send")
            .env("NAERVAER_DATABASE_URL", &t.url)
            .env("NAERVAER_SECRET_KEY", TEST_KEY)
            .env("NAERVAER_SMTP_URL", sink.url())
            .env("NAERVAER_SMS_URL", provider.url())
            .env("NAERVAER_BASE_URL", &base)
            .env("NAERVAER_MAIL_RATE", "1000")
            .env("NAERVAER_SMS_RATE", "1000")
            .env("NAERVAER_LOG", "debug")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let got = provider.messages();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(sink.count(), 2);
        let by_number = |n: &str| got.iter().find(|m| m.0 == n).unwrap_or_else(|| panic!("nothing to {n}: {got:?}")).clone();
        let (_, nb, segments) = by_number("+4791234567");
        assert!(nb.starts_with("Medarbeiderundersøkelsen er åpen til") && nb.contains("Svar anonymt:"), "{nb}");
        assert_eq!(segments, "1");
        let (_, nn, _) = by_number("+4741345678");
        assert!(nn.starts_with("Medarbeidarundersøkinga er open til"), "{nn}");
        let (_, en, _) = by_number("+4798765432");
        assert!(en.starts_with("The employee survey is open until"), "{en}");
        by_number("+4745678901");
        for (to, text, segments) in &got {
            assert_eq!(segments, "1", "one segment: {text}");
            let link = text.split_whitespace().last().unwrap();
            assert!(link.starts_with(&format!("{base}/s/")), "{text}");
            assert_eq!(http(server.addr, "GET", &link[base.len()..], "").status, 303, "the link works");
            let token = &link[base.len() + 3..];
            assert!(!log.contains(token), "a token in the log");
            assert!(!log.contains(to.as_str()) && !log.contains(&to[3..]), "a number in the log");
        }
        // The outbox names the message, never its text or link.
        let rows: Vec<(String, String, Option<String>, String)> = outbox::table
            .select((outbox::kind, outbox::channel, outbox::invitation_id, outbox::recipient))
            .load(&mut c)
            .unwrap();
        assert_eq!(rows.iter().filter(|r| r.1 == "sms").count(), 4);
        let all = format!("{rows:?}");
        for (_, text, _) in &got {
            assert!(!all.contains(text.split_whitespace().last().unwrap()));
        }

        // Ola answers; the reminders go the way each invitation went, to
        // those who have not answered only.
        let surveys = round.surveys(&mut c).unwrap();
        let ola: String = invitations::table
            .inner_join(employees::table)
            .filter(employees::employee_number.eq("2"))
            .select(invitations::id)
            .first(&mut c)
            .unwrap();
        answer::submit(&mut c, &lookup_hash(&key().survey_token(&ola)), &surveys, &numbered_answers(&surveys, 1)).unwrap();
        let queued = rounds::remind(&mut c, &round.id, 2, 3600).unwrap();
        assert_eq!(queued, 5, "Siri, John and Per by SMS, Kari and Per by e-mail");
        mail_outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
        let reminders: Vec<_> = provider.messages().into_iter().skip(4).collect();
        assert_eq!(reminders.len(), 3);
        assert!(reminders.iter().all(|m| m.0 != "+4791234567"), "Ola answered");
        let (_, siri, segments) = reminders.iter().find(|m| m.0 == "+4741345678").unwrap().clone();
        assert!(siri.starts_with("Påminning: undersøkinga er open til"), "{siri}");
        assert_eq!(segments, "1");
        assert_eq!(sink.count(), 4);
    }

    fn provider_errors_are_given_up_or_tried_again_as_twilio_documents_them(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        // A number Twilio calls invalid, a landline Twilio knows is not a
        // mobile, one rate-limited twice, one that meets a server error once,
        // and one that goes through.
        import_text(&mut c, Kind::Employees, &format!(
            "{HEAD}\n1;A;;1110;;;nb;41000001\n2;B;;1110;;;nb;41000002\n3;C;;1110;;;nb;41000099\n4;D;;1110;;;nb;41000098\n5;E;;1110;;;nb;41000005\n"
        ), false).unwrap();
        let provider = SmsProvider::start(&[
            "--invalid", "+4741000001", "--not-mobile", "+4741000002",
            "--rate-limit-suffix", "99", "--rate-limit-count", "2",
            "--fail-once-suffix", "98", "--fail-status", "500",
        ]);
        let s = settings(&t, &[("NAERVAER_SMS_URL", &provider.url()), ("NAERVAER_SMS_RATE", "1000")]);
        let round = round_with(&mut c, Delivery::Sms);
        rounds::open_reaching(&mut c, &key(), &round.id, true).unwrap();
        // Nothing here goes by e-mail.
        let nowhere = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_settings(&settings(&t, &[("NAERVAER_OUTBOX_DIR", nowhere.path().to_str().unwrap())])).unwrap();
        let report = mail_outbox::send_due(&t.pool(), &mailer, &s, &key()).unwrap();
        assert_eq!((report.sent, report.retrying, report.failed), (1, 2, 2), "{report:?}");
        let state = |c: &mut DbConnection| -> Vec<(String, String, i32, Option<String>)> {
            outbox::table
                .order(outbox::recipient)
                .select((outbox::recipient, outbox::status, outbox::attempts, outbox::last_error))
                .load(c)
                .unwrap()
        };
        let rows = state(&mut c);
        let row = |n: &str| rows.iter().find(|r| r.0 == n).unwrap().clone();
        let (_, status, _, error) = row("+4741000001");
        assert_eq!(status, "failed");
        let error = error.unwrap();
        assert!(error.contains("400 21211") && !error.contains("41000001"), "recorded, the number left out: {error}");
        assert!(row("+4741000002").3.unwrap().contains("21614"));
        assert_eq!(row("+4741000002").1, "failed");
        assert_eq!((row("+4741000099").1.as_str(), row("+4741000099").2), ("pending", 1));
        assert!(row("+4741000099").3.unwrap().contains("429 20429"));
        assert!(row("+4741000098").3.unwrap().contains("500 20500"));
        // When their time comes they are tried again: the server error
        // passes, the rate limit holds once more, then passes.
        let due_now = |c: &mut DbConnection| {
            diesel::update(outbox::table.filter(outbox::status.eq("pending")))
                .set(outbox::next_attempt_at.eq(0i64))
                .execute(c)
                .unwrap()
        };
        due_now(&mut c);
        let again = mail_outbox::send_due(&t.pool(), &mailer, &s, &key()).unwrap();
        assert_eq!((again.sent, again.retrying, again.failed), (1, 1, 0), "{again:?}");
        due_now(&mut c);
        let last = mail_outbox::send_due(&t.pool(), &mailer, &s, &key()).unwrap();
        assert_eq!((last.sent, last.retrying, last.failed), (1, 0, 0), "{last:?}");
        assert_eq!(provider.messages().len(), 3);

        // Wrong credentials (a rotated auth token): refused, kept for the
        // next try, and the token is nowhere; with the right one they go.
        let wrong = settings(&t, &[("NAERVAER_SMS_URL", &provider.url_with("not-the-token")), ("NAERVAER_SMS_RATE", "1000")]);
        rounds::remind(&mut c, &round.id, 2, 0).unwrap();
        let r = mail_outbox::send_due(&t.pool(), &mailer, &wrong, &key()).unwrap();
        assert_eq!((r.sent, r.retrying, r.failed), (0, 5, 0), "a reminder to each, none taken: {r:?}");
        let errors = format!("{:?}", state(&mut c));
        assert!(errors.contains("401 20003"), "{errors}");
        assert!(!errors.contains("not-the-token") && !errors.contains(TOKEN));
        due_now(&mut c);
        let r = mail_outbox::send_due(&t.pool(), &mailer, &s, &key()).unwrap();
        // The two numbers Twilio refuses are refused again, for good.
        assert_eq!((r.sent, r.retrying, r.failed), (3, 0, 2), "{r:?}");
    }
}

#[test]
fn an_sms_folder_holds_each_message_as_text_for_the_demo() {
    let t = TestDb::new(crate::support::Backend::Sqlite);
    let mut c = t.conn();
    people(&mut c);
    let dir = tempfile::tempdir().unwrap();
    let s = settings(&t, &[("NAERVAER_OUTBOX_DIR", dir.path().to_str().unwrap())]);
    assert!(s.sms_ready());
    let round = round_with(&mut c, Delivery::Email);
    let summary = rounds::open_reaching(&mut c, &key(), &round.id, s.sms_ready()).unwrap();
    // E-mail where there is an address, SMS for those with only a number.
    assert_eq!(
        (summary.by_email, summary.by_sms, summary.on_paper),
        (2, 3, 1)
    );
    mail_outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
    let texts: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sms"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(texts.len(), 3);
    assert!(
        texts
            .iter()
            .any(|t| t
                .starts_with("To: +4798765432\nSegments: 1\n\nThe employee survey is open until")),
        "{texts:?}"
    );
}
