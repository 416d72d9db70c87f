//! `naervaer followup`, `naervaer effect` and `naervaer report`: the
//! follow-up cycle from the command line.

use super::args::FollowupWhat;
use crate::config::Settings;
use crate::followup::{self, report};
use crate::lang::Lang;
use crate::{db, AppError};
use std::path::Path;
use std::process::ExitCode;

/// What a check of the latest period found and did, in words.
pub fn checked_text(c: &followup::Checked, l: Lang) -> String {
    let period = c
        .period
        .map(|p| format!("{}–{}", p.0.format("%d.%m.%Y"), p.1.format("%d.%m.%Y")));
    match (l, period) {
        (_, None) => l
            .pick(
                "Ingen sykefravær er importert: ingen enheter sammenlignet med måltall.",
                "Ikkje noko sjukefråvær er importert: ingen einingar samanlikna med måltal.",
                "No absence imported: no unit compared with a target.",
            )
            .into(),
        (Lang::Nb, Some(p)) => format!(
            "Periode {p}: {} enheter med måltall, {} over målet; {} nye redegjørelser bedt om, {} e-poster i kø, {} uten leder med e-post.",
            c.compared, c.above, c.requested.accounts, c.requested.mails, c.requested.without_leader
        ),
        (Lang::Nn, Some(p)) => format!(
            "Periode {p}: {} einingar med måltal, {} over målet; {} nye utgreiingar bedne om, {} e-postar i kø, {} utan leiar med e-post.",
            c.compared, c.above, c.requested.accounts, c.requested.mails, c.requested.without_leader
        ),
        (Lang::En, Some(p)) => format!(
            "Period {p}: {} units with a target, {} above it; {} new accounts asked for, {} e-mails queued, {} without a leader with e-mail.",
            c.compared, c.above, c.requested.accounts, c.requested.mails, c.requested.without_leader
        ),
    }
}

fn open(settings: &Settings) -> Result<db::DbConnection, AppError> {
    let mut conn = db::connect(settings.database_url.expose())?;
    crate::migrate::run(&mut conn)?;
    Ok(conn)
}

pub fn followup(settings: &Settings, what: FollowupWhat) -> Result<ExitCode, AppError> {
    let mut conn = open(settings)?;
    let l = settings.lang;
    match what {
        FollowupWhat::Check => {
            let c = followup::check(&mut conn, settings.min_group_size, settings.account_days)?;
            println!("{}", checked_text(&c, l));
        }
        FollowupWhat::Remind => {
            let n = followup::accounts::remind_due(&mut conn)?;
            println!(
                "{n} {}",
                l.pick(
                    "påminnelser lagt i kø.",
                    "påminningar lagde i kø.",
                    "reminders queued."
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn effect(settings: &Settings, format: &str) -> Result<ExitCode, AppError> {
    let mut conn = open(settings)?;
    let l = settings.lang;
    let k = settings.min_group_size;
    let effects = match followup::effect::data(&mut conn, k)? {
        Some(d) => followup::effect::estimate_all(&d, k),
        None => Vec::new(),
    };
    match format {
        "json" => {
            let v: Vec<serde_json::Value> = effects
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "type": e.type_key,
                        "units": e.treatments.len(),
                        "estimated": e.treatments.iter().filter(|t| t.estimate.is_ok()).count(),
                        "pooled": e.pooled,
                        "placebo": e.placebo.map(|(share, n)| serde_json::json!({"share": share, "n": n})),
                        "event_study": e.event,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&v).map_err(|e| AppError::internal_by("JSON", e))?
            );
        }
        "text" => {
            let types = followup::measures::types(&mut conn)?;
            for e in &effects {
                let name = types
                    .iter()
                    .find(|t| t.key == e.type_key)
                    .map_or(e.type_key.as_str(), |t| t.name(l));
                println!("{name}:");
                match &e.pooled {
                    Some(p) => println!("  {}", followup::effect::verdict(p, l)),
                    None => println!(
                        "  {}",
                        l.pick(
                            "ingen samlet effekt å vise",
                            "ingen samla effekt å vise",
                            "no pooled effect to show"
                        )
                    ),
                }
            }
            println!("\n{}", followup::effect::caveat(l));
        }
        other => {
            return Err(crate::error::UserError::BadFormat {
                given: other.to_string(),
            }
            .into())
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn report(
    settings: &Settings,
    kind: &str,
    period: Option<&str>,
    format: &str,
    out: Option<&Path>,
) -> Result<ExitCode, AppError> {
    let l = settings.lang;
    let kind =
        report::ReportKind::parse(kind).ok_or_else(|| crate::error::UserError::BadFormat {
            given: kind.to_string(),
        })?;
    let mut conn = open(settings)?;
    let period = match period {
        Some(p) => report::Period::parse(kind, p).ok_or_else(|| {
            AppError::from(crate::error::UserError::BadWindow {
                given: p.to_string(),
            })
        })?,
        None => report::latest(&mut conn, kind)?,
    };
    let r = report::build(&mut conn, period, settings.min_group_size, l)?;
    let bytes = match format {
        "html" => crate::web::views::followup::report(l, &r, None)
            .into_string()
            .into_bytes(),
        "xlsx" => report::xlsx(&r, l)?,
        other => {
            return Err(crate::error::UserError::BadFormat {
                given: other.to_string(),
            }
            .into())
        }
    };
    match out {
        Some(path) => std::fs::write(path, &bytes).map_err(|e| {
            AppError::from(crate::error::UserError::CannotWrite {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        })?,
        None if format == "html" => print!("{}", String::from_utf8_lossy(&bytes)),
        None => {
            return Err(crate::error::UserError::CannotWrite {
                path: "-".into(),
                reason: l
                    .pick(
                        "gi --out FIL for en XLSX-fil",
                        "gi --out FIL for ei XLSX-fil",
                        "give --out FILE for an XLSX file",
                    )
                    .into(),
            }
            .into())
        }
    }
    Ok(ExitCode::SUCCESS)
}
