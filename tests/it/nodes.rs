//! Several app nodes on one PostgreSQL: three `naervaer serve` processes,
//! respondents whose every step lands on another node (and who press
//! «Send» twice, on two nodes at once), while all three nodes' senders work
//! through the same outbox into one real SMTP server.

use crate::mail::{organisation, SmtpSink};
use crate::rounds::{invitation_ids, new_round};
use crate::support::{http_cookie, key, naervaer_bin, Backend, TestDb, TEST_KEY};
use diesel::dsl::count_star;
use diesel::prelude::*;
use naervaer::db::schema::{daily_counts, invitations, outbox, responses};
use naervaer::rounds::{self, Round};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `naervaer serve` process; killed when dropped.
pub struct Node {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Node {
    pub fn start(db_url: &str, sink: &SmtpSink, mail_rate: &str) -> Node {
        Node::start_with_workers(db_url, sink, mail_rate, "16")
    }

    /// With `workers` sending threads (connections to the relay).
    pub fn start_with_workers(
        db_url: &str,
        sink: &SmtpSink,
        mail_rate: &str,
        workers: &str,
    ) -> Node {
        Node::start_with(db_url, sink, mail_rate, workers, &[])
    }

    /// With more environment variables.
    pub fn start_with(
        db_url: &str,
        sink: &SmtpSink,
        mail_rate: &str,
        workers: &str,
        env: &[(&str, &str)],
    ) -> Node {
        let port = crate::support::free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(naervaer_bin())
            .envs(env.iter().copied())
            .arg("serve")
            .env("NAERVAER_DATABASE_URL", db_url)
            .env("NAERVAER_SECRET_KEY", TEST_KEY)
            .env("NAERVAER_SMTP_URL", sink.url())
            .env("NAERVAER_MAIL_RATE", mail_rate)
            .env("NAERVAER_MAIL_WORKERS", workers)
            // A node killed mid-send leaves claims; others take them over
            // after this long (the default is two minutes).
            .env("NAERVAER_MAIL_CLAIM_TIMEOUT_SECS", "2")
            .env("NAERVAER_POOL_SIZE", "6")
            .env_remove("NAERVAER_OUTBOX_DIR")
            .env("NAERVAER_BIND", addr.to_string())
            .env("NAERVAER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "serve did not start on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Node { child, addr }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn three_nodes_on_one_postgresql_store_every_answer_once_and_send_every_message_once() {
    let t = TestDb::new(Backend::Postgres);
    let mut c = t.conn();
    organisation(&mut c, 600);
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    let surveys = Round::find(&mut c, &round.id)
        .unwrap()
        .surveys(&mut c)
        .unwrap();
    let ids = invitation_ids(&mut c, &round.id);
    assert_eq!(ids.len(), 600);
    let sink = SmtpSink::start();
    // 60 messages/s per node: sending takes seconds and runs all through
    // the answering below, on every node at once.
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(&t.url, &sink, "60")).collect();
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();

    // Two in three answer; each step on another node.
    let answering: Vec<(usize, String)> = ids
        .iter()
        .cloned()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .collect();
    let stored: Vec<(String, usize)> = std::thread::scope(|scope| {
        let per_thread = answering.len().div_ceil(16);
        let handles: Vec<_> = answering
            .chunks(per_thread)
            .map(|chunk| {
                let (addrs, surveys) = (&addrs, &surveys);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (i, inv) in chunk {
                        let link = http_cookie(
                            addrs[i % 3],
                            "GET",
                            &format!("/s/{}", key().survey_token(inv)),
                            "",
                            None,
                        );
                        assert_eq!(link.status, 303, "{}", link.body);
                        let cookie = link
                            .header("set-cookie")
                            .unwrap()
                            .split(';')
                            .next()
                            .unwrap()
                            .to_string();
                        let page =
                            http_cookie(addrs[(i + 1) % 3], "GET", "/svar", "", Some(&cookie));
                        assert_eq!(page.status, 200);
                        // «Send» pressed twice, the two requests on two nodes.
                        let body = naervaer::bench::complete_form(surveys, *i);
                        let statuses: Vec<u16> = std::thread::scope(|s| {
                            let a = s.spawn(|| {
                                http_cookie(
                                    addrs[(i + 2) % 3],
                                    "POST",
                                    "/svar",
                                    &body,
                                    Some(&cookie),
                                )
                                .status
                            });
                            let b = s.spawn(|| {
                                http_cookie(addrs[i % 3], "POST", "/svar", &body, Some(&cookie))
                                    .status
                            });
                            vec![a.join().unwrap(), b.join().unwrap()]
                        });
                        out.push((inv.clone(), statuses.iter().filter(|s| **s == 303).count()));
                        assert!(
                            statuses.iter().all(|s| *s == 303 || *s == 200),
                            "{statuses:?}"
                        );
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let acknowledged_twice: Vec<&(String, usize)> =
        stored.iter().filter(|(_, n)| *n != 1).collect();
    assert!(
        acknowledged_twice.is_empty(),
        "each double submission is acknowledged exactly once: {acknowledged_twice:?}"
    );

    // Every invitation sent, by the three nodes together.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let unsent: i64 = outbox::table
            .filter(outbox::status.ne("sent"))
            .select(count_star())
            .first(&mut c)
            .unwrap();
        if unsent == 0 && sink.count() >= ids.len() {
            break;
        }
        assert!(Instant::now() < deadline, "{unsent} messages still unsent");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let msgs = sink.messages();
    let message_ids: HashSet<&str> = msgs.iter().map(|m| m.header("message-id")).collect();
    let recipients: HashSet<&str> = msgs.iter().map(|m| m.envelope_to.as_str()).collect();
    assert_eq!(
        msgs.len(),
        ids.len(),
        "a message was sent twice or not at all"
    );
    assert_eq!(message_ids.len(), ids.len());
    assert_eq!(recipients.len(), ids.len());
    let senders: HashSet<String> = outbox::table
        .select(outbox::claimed_by)
        .load::<Option<String>>(&mut c)
        .unwrap()
        .into_iter()
        .flatten()
        .map(|s| s.split('-').next().unwrap().to_string())
        .collect();
    assert_eq!(senders.len(), 3, "all three nodes sent: {senders:?}");

    // Every answer stored exactly once, and the counts agree with it.
    let n_responses: i64 = responses::table.select(count_star()).first(&mut c).unwrap();
    assert_eq!(n_responses as usize, answering.len());
    let responded: HashSet<String> = invitations::table
        .filter(invitations::responded.eq(true))
        .select(invitations::id)
        .load::<String>(&mut c)
        .unwrap()
        .into_iter()
        .collect();
    let expected: HashSet<String> = answering.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(responded, expected);
    // The response counts (per unit and day, what the admin pages show)
    // agree unit by unit with the stored answers.
    let mut daily: HashMap<String, i64> = HashMap::new();
    for (unit, n) in daily_counts::table
        .filter(daily_counts::round_id.eq(&round.id))
        .select((daily_counts::unit_id, daily_counts::responses))
        .load::<(String, i32)>(&mut c)
        .unwrap()
    {
        *daily.entry(unit).or_default() += i64::from(n);
    }
    let per_unit: HashMap<String, i64> = responses::table
        .group_by(responses::unit_id)
        .select((responses::unit_id, count_star()))
        .load::<(Option<String>, i64)>(&mut c)
        .unwrap()
        .into_iter()
        .map(|(u, n)| (u.expect("an open round's responses keep their unit"), n))
        .collect();
    assert_eq!(daily, per_unit);
    assert_eq!(per_unit.values().sum::<i64>() as usize, answering.len());
}
