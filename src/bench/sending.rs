//! Sending: a round's invitations through the outbox and the SMTP client
//! into a minimal SMTP server on loopback.

use super::municipality::{empty_database, import_organisation, new_round};
use super::KEY;
use crate::crypto::SecretKey;
use crate::{rounds, AppError};
use diesel::prelude::*;
use std::io::Write;
use std::time::Instant;

/// A minimal SMTP server on loopback that accepts every message: the local
/// relay the sending figure is measured against. Returns its port and the
/// count of messages it has accepted.
fn smtp_sink() -> std::io::Result<(u16, std::sync::Arc<std::sync::atomic::AtomicUsize>)> {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut out = stream.try_clone()?;
                let mut lines = std::io::BufReader::new(stream);
                out.write_all(b"220 naervaer-bench ESMTP\r\n")?;
                let mut line = String::new();
                let mut in_data = false;
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            out.write_all(b"250 queued\r\n")?;
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-naervaer-bench\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            out.write_all(b"221 bye\r\n")?;
                            return Ok(());
                        }
                        _ => b"502 not here\r\n",
                    };
                    out.write_all(reply)?;
                }
            });
        }
    });
    Ok((port, count))
}

/// `mails` invitations of a round through the outbox and the SMTP client
/// into the local SMTP server, with `workers` connections: messages/s.
pub fn sending(
    temp: &std::path::Path,
    mails: usize,
    workers: usize,
    runs: usize,
) -> Result<Vec<f64>, AppError> {
    let (url, mut conn) = empty_database(None, temp, &format!("mail-{workers}.db"))?;
    import_organisation(&mut conn, mails, (mails / 20).max(14), 13)?;
    let key = SecretKey::new(KEY)?;
    let round = new_round(&mut conn, "Utsending", 14)?;
    rounds::open(&mut conn, &key, &round.id)?;
    let (port, received) = smtp_sink()?;
    let env: std::collections::HashMap<String, String> = [
        ("NAERVAER_DATABASE_URL", url.clone()),
        ("NAERVAER_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        ("NAERVAER_SECRET_KEY", KEY.to_string()),
        ("NAERVAER_MAIL_RATE", "100000".to_string()),
        ("NAERVAER_MAIL_WORKERS", workers.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = crate::config::Settings::from_sources(&env, None)?;
    let pool = crate::migrate::open_pool(&url, 8)?;
    let mut rates = Vec::new();
    for _ in 0..runs {
        // Every message due again, as if just queued.
        diesel::update(crate::db::schema::outbox::table)
            .set((
                crate::db::schema::outbox::status.eq("pending"),
                crate::db::schema::outbox::attempts.eq(0),
                crate::db::schema::outbox::next_attempt_at.eq(0i64),
            ))
            .execute(&mut conn)?;
        let mailer = crate::mail::Mailer::from_settings(&settings)?;
        let before = received.load(std::sync::atomic::Ordering::SeqCst);
        let t = Instant::now();
        let report = crate::mail::outbox::send_due(&pool, &mailer, &settings, &key)?;
        let secs = t.elapsed().as_secs_f64();
        let arrived = received.load(std::sync::atomic::Ordering::SeqCst) - before;
        if report.sent != mails || arrived != mails {
            return Err(AppError::internal(format!(
                "sending: {} reported sent, {arrived} arrived, of {mails}",
                report.sent
            )));
        }
        rates.push(mails as f64 / secs);
    }
    Ok(rates)
}
