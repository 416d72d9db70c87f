//! The `naervaer` command: parses the arguments and hands each subcommand
//! to the library's [`naervaer::cli`].

use clap::Parser;
use naervaer::cli::{self, Cli, Command, ImportWhat, SurveyWhat};
use naervaer::config::Settings;
use naervaer::import::Kind;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: `naervaer analyse` spent an eighth
/// of its time in malloc and free and more in the page faults of memory
/// glibc returned to the kernel and took back (each thread's arena grows
/// and shrinks); with mimalloc it took about a fifth less CPU on one
/// machine and 3–8 % less on another (README, Performance). Built without
/// transparent huge pages (`no_thp` in Cargo.toml): mimalloc otherwise asks
/// the kernel for them on its memory, and where the kernel then compacts
/// memory to find one (Debian's default `defrag=madvise`), a page fault
/// may wait for it: whole `naervaer analyse` runs took 27–114 ms instead
/// of 27–34, and the server's peak RSS doubled. Without them the server's
/// answering measured the same or better than with glibc, at ~8 MB more
/// resident memory.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // These two need no settings.
    match &cli.command {
        Command::Survey {
            what: SurveyWhat::Check { files },
        } => return cli::survey_check(files),
        Command::Secret => return cli::secret(),
        _ => {}
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("naervaer: {e}");
            return ExitCode::from(2);
        }
    };
    cli::init_tracing(
        &settings,
        matches!(cli.command, Command::Serve | Command::Demo { .. }),
    );
    let lang = settings.lang;
    let result = match cli.command {
        Command::Serve => cli::serve(settings),
        Command::Migrate => cli::migrate(&settings),
        Command::Config => {
            print!("{}", settings.describe());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { what } => {
            let (kind, file, dry_run) = match what {
                ImportWhat::Units { file, dry_run } => (Kind::Units, file, dry_run),
                ImportWhat::Employees { file, dry_run } => (Kind::Employees, file, dry_run),
                ImportWhat::Absence { file, dry_run } => (Kind::Absence, file, dry_run),
                ImportWhat::Targets { file, dry_run } => (Kind::Targets, file, dry_run),
                ImportWhat::Measures { file, dry_run } => (Kind::Measures, file, dry_run),
                ImportWhat::National { file, dry_run } => (Kind::National, file, dry_run),
                ImportWhat::Norms { file, dry_run } => (Kind::Norms, file, dry_run),
            };
            cli::run_import(&settings, kind, &file, dry_run)
        }
        Command::Demo { db, bind, check } => cli::run_demo(settings, &db, bind, check),
        Command::Followup { what } => cli::followup(&settings, what),
        Command::Effect { format } => cli::effect(&settings, &format),
        Command::Report {
            kind,
            period,
            format,
            out,
        } => cli::report(&settings, &kind, period.as_deref(), &format, out.as_deref()),
        Command::Analyse {
            round,
            window,
            level,
            format,
        } => cli::run_analyse(&settings, &round, &window, level, &format),
        Command::Round { what } => cli::round_command(&settings, what),
        Command::Send => cli::send(&settings),
        Command::Retention { apply, .. } => cli::retention(&settings, apply),
        Command::Health => cli::health(&settings),
        Command::Backup { file } => cli::backup(&settings, &file),
        Command::Restore { file, force } => cli::restore(&settings, &file, force),
        Command::Bench {
            employees,
            units,
            runs,
            concurrency,
            respondents,
            mails,
            hold,
            clients,
            database_url,
            json,
        } => cli::run_bench(
            naervaer::bench::Options {
                employees,
                units,
                runs,
                concurrency,
                respondents,
                mails,
                database_url,
            },
            hold.map(|seconds| (clients, seconds)),
            &json,
        ),
        Command::Survey { .. } | Command::Secret => unreachable!("answered before the settings"),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // A person's mistake in their language; the operator's with
            // every cause.
            eprintln!("naervaer: {}", e.render(lang));
            ExitCode::FAILURE
        }
    }
}
