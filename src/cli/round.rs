//! `naervaer round …`: a round's life from the command line.

use super::RoundWhat;
use crate::config::Settings;
use crate::{db, AppError};
use std::process::ExitCode;

pub fn round_command(settings: &Settings, what: RoundWhat) -> Result<ExitCode, AppError> {
    use crate::rounds::{self, Round};
    let mut conn = db::connect(settings.database_url.expose())?;
    crate::migrate::run(&mut conn)?;
    match what {
        RoundWhat::Create {
            title,
            surveys,
            unit,
            opens,
            closes,
            delivery,
            k,
        } => {
            let delivery = rounds::Delivery::parse(&delivery)
                .ok_or(crate::error::UserError::BadDelivery { given: delivery })?;
            let texts = surveys
                .iter()
                .map(|p| std::fs::read_to_string(p).map_err(|e| super::cannot_read(p, &e)))
                .collect::<Result<Vec<_>, _>>()?;
            let round = rounds::create(
                &mut conn,
                settings.min_group_size,
                rounds::NewRound {
                    title,
                    surveys: texts,
                    unit_code: unit,
                    opens_on: opens.unwrap_or_else(rounds::today),
                    closes_on: closes,
                    min_group_size: k.unwrap_or(settings.min_group_size),
                    delivery,
                },
            )?;
            println!("{}", round.id);
        }
        RoundWhat::Open { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let s = rounds::open_reaching(
                &mut conn,
                &settings.key()?,
                &round.id,
                settings.sms_ready(),
            )?;
            println!("opened: {} invited, {} by e-mail and {} by SMS (queued), {} on paper (print with `naervaer round letters`)", s.invited, s.by_email, s.by_sms, s.on_paper);
        }
        RoundWhat::Remind { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let n = rounds::remind(
                &mut conn,
                &round.id,
                settings.reminder_max,
                i64::from(settings.reminder_interval_hours) * 3600,
            )?;
            println!("{n} reminder(s) queued");
        }
        RoundWhat::Close { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let n = rounds::close(&mut conn, &round.id, settings.retention_days == 0)?;
            println!("closed: {n} responses");
        }
        RoundWhat::RaiseK { round, k } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let s = crate::rounds::raise_k(&mut conn, &round.id, k)?;
            let shown = s.groups.iter().filter(|g| g.figures.is_some()).count();
            println!("k = {k}: {shown} of {} groups shown", s.groups.len());
        }
        RoundWhat::Status { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            println!(
                "{} ({}, {} – {})",
                round.title, round.status, round.opens_on, round.closes_on
            );
            // Rows of at least k invited, small units counted in the unit
            // above (ANONYMITY.md §6b), as on the administrator's page.
            let tree = crate::register::org::OrgTree::load(&mut conn)?;
            let admin = crate::access::Viewer::administrator();
            let seen = rounds::live::seen(&mut conn, &tree, &round, &admin)?;
            println!(
                "{:<8} {:<36} {:>8} {:>8} {:>9}",
                "unit", "name", "invited", "answered", "reminded"
            );
            for u in &seen.rows {
                let c = &u.count;
                println!(
                    "{:<8} {:<36} {:>8} {:>8} {:>9}",
                    u.code, u.name, c.invited, c.answered, c.reminded
                );
                if !u.includes.is_empty() {
                    println!("{:<8} (with {})", "", u.includes.join(", "));
                }
            }
            let t = seen.total;
            if seen.rows.is_empty() {
                println!(
                    "fewer than {} invited: no counts are shown",
                    round.min_group_size
                );
            } else {
                println!(
                    "{:<45} {:>8} {:>8} {:>9}",
                    "total", t.invited, t.answered, t.reminded
                );
            }
        }
        RoundWhat::List => {
            for r in Round::all(&mut conn)? {
                println!(
                    "{}  {:<6}  {} – {}  {}",
                    r.id, r.status, r.opens_on, r.closes_on, r.title
                );
            }
        }
        RoundWhat::Letters {
            round,
            out,
            everyone,
        } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let letters = rounds::letters(&mut conn, &settings.key()?, &round.id, everyone)?;
            let html = crate::web::views::letters::letters(
                &round.title,
                &settings.base_url,
                round.closes_on_date(),
                &settings.contact,
                &letters,
            )
            .into_string();
            match out {
                Some(p) => {
                    std::fs::write(&p, html)?;
                    eprintln!("{} letter(s) written to {}", letters.len(), p.display());
                }
                None => print!("{html}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
