//! `naervaer import …`: an HR file, with its problems or its diff printed
//! in the installation's language.

use crate::config::Settings;
use crate::import::{ImportError, Kind};
use crate::{db, AppError};
use std::path::Path;
use std::process::ExitCode;

pub fn run_import(
    settings: &Settings,
    kind: Kind,
    file: &Path,
    dry_run: bool,
) -> Result<ExitCode, AppError> {
    let lang = settings.lang;
    let bytes = std::fs::read(file).map_err(|e| super::cannot_read(file, &e))?;
    let mut conn = db::connect(settings.database_url.expose())?;
    crate::migrate::run(&mut conn)?;
    let source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let key = settings.key().ok();
    let following = crate::rounds::staff::Following {
        key: key.as_ref(),
        sms: settings.sms_ready(),
    };
    match following.import(&mut conn, kind, &source, &bytes, dry_run) {
        Ok(outcome) => {
            for w in &outcome.warnings {
                eprintln!(
                    "{}: {}",
                    lang.pick("advarsel", "åtvaring", "warning"),
                    w.render(lang)
                );
            }
            print!("{}", outcome.diff.render(lang));
            for r in &outcome.rounds {
                println!("{}", r.render(lang));
            }
            if !dry_run && kind.moves_targets() {
                let c = crate::followup::check(
                    &mut conn,
                    settings.min_group_size,
                    settings.account_days,
                )?;
                println!("{}", super::followup::checked_text(&c, lang));
            }
            println!(
                "{}",
                if dry_run {
                    lang.pick(
                        "Prøvekjøring: ingenting er endret.",
                        "Prøvekøyring: ingenting er endra.",
                        "Dry run: nothing was changed.",
                    )
                } else {
                    lang.pick("Importert.", "Importert.", "Imported.")
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Rejected(issues)) => {
            let (warnings, errors): (Vec<_>, Vec<_>) =
                issues.iter().partition(|i| i.kind.is_warning());
            eprintln!(
                "{} {} ({} {}):",
                file.display(),
                lang.pick("ble avvist", "vart avvist", "was rejected"),
                errors.len(),
                lang.pick("feil", "feil", "errors")
            );
            for i in errors {
                eprintln!("  {}", i.render(lang));
            }
            for w in warnings {
                eprintln!(
                    "  {}: {}",
                    lang.pick("advarsel", "åtvaring", "warning"),
                    w.render(lang)
                );
            }
            eprintln!(
                "{}",
                lang.pick(
                    "Ingenting er endret.",
                    "Ingenting er endra.",
                    "Nothing was changed."
                )
            );
            Ok(ExitCode::FAILURE)
        }
        Err(ImportError::App(e)) => Err(e),
    }
}
