//! One error type for the application. Every variant maps to an HTTP
//! status. What a person asked for or typed wrongly is a [`UserError`],
//! told to them in their language (nb, nn, en) on a page or the command
//! line; everything else is for the operator and the log, in English, with
//! the chain of errors that caused it kept as its `source`.

use crate::lang::Lang;
use actix_web::http::StatusCode;
use std::error::Error as StdError;
use std::fmt::Write as _;
use thiserror::Error;

/// The error that caused another, kept for the log.
pub type Cause = Box<dyn StdError + Send + Sync>;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("configuration: {0}")]
    Config(String, #[source] Option<Cause>),
    #[error("database: {0}")]
    Database(diesel::result::Error),
    #[error("database connection: {0}")]
    Connection(String, #[source] Option<Cause>),
    #[error("migrations failed: {0}")]
    Migration(String, #[source] Option<Cause>),
    /// Data the application wrote itself no longer reads back.
    #[error("stored data is damaged: {0}")]
    Damaged(String, #[source] Option<Cause>),
    /// Something the service should have been able to do failed (writing
    /// a spreadsheet, a benchmark's own check).
    #[error("{0}")]
    Internal(String, #[source] Option<Cause>),
    /// What the person asked for cannot be done as asked.
    #[error("{}", .0.render(Lang::En))]
    User(UserError),
    #[error("not found")]
    NotFound,
    /// Not signed in (or the session has ended).
    #[error("sign in first")]
    Unauthorised,
    /// Signed in, but the role does not allow it; also a missing or wrong
    /// CSRF token.
    #[error("not allowed")]
    Forbidden,
    #[error("too many attempts; wait a few minutes")]
    TooMany,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl AppError {
    /// Whether trying again later may succeed: the database busy or its
    /// connection lost for a moment, an I/O error. Not a row that is
    /// gone, nor anything damaged, refused or misconfigured.
    pub fn is_transient(&self) -> bool {
        match self {
            AppError::Database(e) => !matches!(e, diesel::result::Error::NotFound),
            AppError::Connection(..) | AppError::Io(_) => true,
            _ => false,
        }
    }

    pub fn config(what: impl Into<String>) -> AppError {
        AppError::Config(what.into(), None)
    }
    pub fn config_by(what: impl Into<String>, cause: impl Into<Cause>) -> AppError {
        AppError::Config(what.into(), Some(cause.into()))
    }
    pub fn connection(what: impl Into<String>) -> AppError {
        AppError::Connection(what.into(), None)
    }
    pub fn connection_by(what: impl Into<String>, cause: impl Into<Cause>) -> AppError {
        AppError::Connection(what.into(), Some(cause.into()))
    }
    pub fn damaged(what: impl Into<String>) -> AppError {
        AppError::Damaged(what.into(), None)
    }
    pub fn damaged_by(what: impl Into<String>, cause: impl Into<Cause>) -> AppError {
        AppError::Damaged(what.into(), Some(cause.into()))
    }
    pub fn internal(what: impl Into<String>) -> AppError {
        AppError::Internal(what.into(), None)
    }
    pub fn internal_by(what: impl Into<String>, cause: impl Into<Cause>) -> AppError {
        AppError::Internal(what.into(), Some(cause.into()))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::User(u) => u.status(),
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorised => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            AppError::Connection(..) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error and every error that caused it, for the log and the
    /// operator: `what: cause: its cause`.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut next = self.source();
        while let Some(e) = next {
            let _ = write!(out, ": {e}");
            next = e.source();
        }
        out
    }

    /// For a person: a [`UserError`] in their language; anything else as
    /// [`AppError::chain`] (the command line is read by operators).
    pub fn render(&self, lang: Lang) -> String {
        match self {
            AppError::User(u) => u.render(lang),
            other => other.chain(),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        note_lost_connection(&e);
        AppError::Database(e)
    }
}

/// When (milliseconds since the epoch) a database error last said its
/// connection was gone; 0 when none did.
static LOST_CONNECTION_AT_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Notes an error that means the connection is gone (PostgreSQL closed it,
/// or a command could not be sent). Every database error becomes an
/// [`AppError`] through here; the pool tests its connections for a while
/// after one (`crate::db`'s `TEST_AFTER_LOSS`).
fn note_lost_connection(e: &diesel::result::Error) {
    use diesel::result::{DatabaseErrorKind, Error};
    if let Error::DatabaseError(
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
        _,
    ) = e
    {
        LOST_CONNECTION_AT_MS.fetch_max(
            chrono::Utc::now().timestamp_millis(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

/// Whether a lost connection was seen within `window`.
pub fn lost_connection_within(window: std::time::Duration) -> bool {
    let at = LOST_CONNECTION_AT_MS.load(std::sync::atomic::Ordering::Relaxed);
    at > 0 && chrono::Utc::now().timestamp_millis() - at < window.as_millis() as i64
}

impl From<UserError> for AppError {
    fn from(u: UserError) -> Self {
        AppError::User(u)
    }
}

/// The blocking pool is gone or the task panicked: the service is unwell.
impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::connection_by("the blocking thread pool", e)
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::connection_by("no database connection from the pool", e)
    }
}

/// A round's state, as the user errors about it name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundState {
    Draft,
    Open,
    Closed,
}

impl RoundState {
    pub fn of(status: &str) -> RoundState {
        match status {
            "draft" => RoundState::Draft,
            "open" => RoundState::Open,
            _ => RoundState::Closed,
        }
    }
}

/// Which date of a new round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    OpensOn,
    ClosesOn,
}

/// What is wrong with a written account of absence above target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountProblem {
    DoneNowMissing,
    PlannedMissing,
    TooLong,
    UnknownSupport,
}

impl AccountProblem {
    pub fn render(self, l: Lang) -> String {
        match self {
            AccountProblem::DoneNowMissing => l.pick(
                "Skriv hva enheten gjør nå.",
                "Skriv kva eininga gjer no.",
                "Write what the unit does now.",
            ),
            AccountProblem::PlannedMissing => l.pick(
                "Skriv hva som er planlagt.",
                "Skriv kva som er planlagt.",
                "Write what is planned.",
            ),
            AccountProblem::TooLong => l.pick(
                "Hver del kan ha høyst 4000 tegn.",
                "Kvar del kan ha høgst 4000 teikn.",
                "Each part may have at most 4000 characters.",
            ),
            AccountProblem::UnknownSupport => l.pick(
                "Velg støtte fra listen.",
                "Vel støtte frå lista.",
                "Choose support from the list.",
            ),
        }
        .to_string()
    }
}

/// What is wrong with a measure (tiltak) as entered or imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeasureProblem {
    TitleMissing,
    ResponsibleMissing,
    TooLong {
        field: &'static str,
        max: usize,
    },
    UnknownType(String),
    BadDate {
        field: &'static str,
        given: String,
    },
    EndBeforeStart,
    StartTooFarAhead,
    UnknownFactor(String),
    NoUnit,
    UnknownUnit(String),
    BadStatus(String),
    /// A type's key: lowercase letters, digits and _.
    BadTypeKey(String),
    TypeExists(String),
    TypeNameMissing,
    /// Action plans: choose one of the round's factors…
    ChooseFactor,
    /// …give a due date…
    BadDue,
    /// …a plan names at most this many factors…
    TooManyFactors(usize),
    /// …and holds at most this many measures.
    TooManyMeasures(usize),
}

impl MeasureProblem {
    pub fn render(&self, l: Lang) -> String {
        use MeasureProblem::*;
        match self {
            TitleMissing => l
                .pick("Beskriv tiltaket.", "Skildre tiltaket.", "Describe the measure.")
                .into(),
            ResponsibleMissing => l
                .pick("Skriv hvem som er ansvarlig.", "Skriv kven som er ansvarleg.", "Name who is responsible.")
                .into(),
            TooLong { field, max } => match l {
                Lang::Nb => format!("{} kan ha høyst {max} tegn.", measure_field(field, l)),
                Lang::Nn => format!("{} kan ha høgst {max} teikn.", measure_field(field, l)),
                Lang::En => format!("{} may have at most {max} characters.", measure_field(field, l)),
            },
            UnknownType(t) => match l {
                Lang::Nb => format!("ukjent tiltakstype «{t}»: velg en fra katalogen, eller be en administrator legge den til"),
                Lang::Nn => format!("ukjend tiltakstype «{t}»: vel ein frå katalogen, eller be ein administrator leggje han til"),
                Lang::En => format!("unknown type of measure «{t}»: choose one from the catalogue, or ask an administrator to add it"),
            },
            BadDate { field, given } => match l {
                Lang::Nb => format!("{} må være en dato (åååå-mm-dd eller dd.mm.åååå), ikke «{given}»", measure_field(field, l)),
                Lang::Nn => format!("{} må vere ein dato (åååå-mm-dd eller dd.mm.åååå), ikkje «{given}»", measure_field(field, l)),
                Lang::En => format!("{} must be a date (yyyy-mm-dd or dd.mm.yyyy), not «{given}»", measure_field(field, l)),
            },
            EndBeforeStart => l
                .pick("sluttdatoen er før startdatoen", "sluttdatoen er før startdatoen", "the end date is before the start date")
                .into(),
            StartTooFarAhead => l
                .pick("startdatoen er mer enn ett år fram i tid", "startdatoen er meir enn eitt år fram i tid", "the start date is more than a year ahead")
                .into(),
            UnknownFactor(f) => match l {
                Lang::Nb => format!("ukjent faktor «{f}»"),
                Lang::Nn => format!("ukjend faktor «{f}»"),
                Lang::En => format!("unknown factor «{f}»"),
            },
            NoUnit => l
                .pick("Velg minst én enhet.", "Vel minst éi eining.", "Choose at least one unit.")
                .into(),
            UnknownUnit(u) => match l {
                Lang::Nb => format!("ukjent enhet «{u}»"),
                Lang::Nn => format!("ukjend eining «{u}»"),
                Lang::En => format!("unknown unit «{u}»"),
            },
            BadStatus(s) => match l {
                Lang::Nb => format!("ukjent status «{s}» (bruk planlagt, pågår, fullført eller avbrutt)"),
                Lang::Nn => format!("ukjend status «{s}» (bruk planlagt, pågår, fullført eller avbrote)"),
                Lang::En => format!("unknown status «{s}» (use planned, ongoing, done or stopped)"),
            },
            BadTypeKey(k) => match l {
                Lang::Nb => format!("nøkkelen «{k}» kan bare ha små bokstaver a–z, sifre og _"),
                Lang::Nn => format!("nøkkelen «{k}» kan berre ha små bokstavar a–z, siffer og _"),
                Lang::En => format!("the key «{k}» may have only lowercase letters a–z, digits and _"),
            },
            TypeExists(k) => match l {
                Lang::Nb => format!("tiltakstypen «{k}» finnes allerede"),
                Lang::Nn => format!("tiltakstypen «{k}» finst allereie"),
                Lang::En => format!("the type «{k}» exists already"),
            },
            TypeNameMissing => l
                .pick("Gi typen et navn på bokmål, nynorsk og engelsk.", "Gi typen eit namn på bokmål, nynorsk og engelsk.", "Name the type in bokmål, nynorsk and English.")
                .into(),
            ChooseFactor => l
                .pick("Velg en av faktorene.", "Vel ein av faktorane.", "Choose one of the factors.")
                .into(),
            BadDue => l
                .pick("Fristen må være en dato (åååå-mm-dd).", "Fristen må vere ein dato (åååå-mm-dd).", "The due date must be a date (yyyy-mm-dd).")
                .into(),
            TooManyFactors(n) => match l {
                Lang::Nb => format!("En plan samler seg om høyst {n} faktorer; legg tiltaket under en av dem."),
                Lang::Nn => format!("Ein plan samlar seg om høgst {n} faktorar; legg tiltaket under ein av dei."),
                Lang::En => format!("A plan focuses on at most {n} factors; put the measure under one of them."),
            },
            TooManyMeasures(n) => match l {
                Lang::Nb => format!("En plan har høyst {n} tiltak."),
                Lang::Nn => format!("Ein plan har høgst {n} tiltak."),
                Lang::En => format!("A plan holds at most {n} measures."),
            },
        }
    }
}

fn measure_field(field: &str, l: Lang) -> &'static str {
    match field {
        "title" => l.pick("Beskrivelsen", "Skildringa", "The description"),
        "responsible" => l.pick("Ansvarlig", "Ansvarleg", "Responsible"),
        "started_on" => l.pick("Startdatoen", "Startdatoen", "The start date"),
        "ended_on" => l.pick("Sluttdatoen", "Sluttdatoen", "The end date"),
        _ => l.pick("Feltet", "Feltet", "The field"),
    }
}

/// What a person asked for or typed that cannot be done as asked, with
/// what to do instead, in bokmål, nynorsk or English.
#[derive(Debug, Clone, PartialEq)]
pub enum UserError {
    NoSuchRound {
        prefix: String,
    },
    AmbiguousRound {
        prefix: String,
    },
    GroupSizeBelowFloor {
        asked: u32,
        floor: u32,
    },
    GroupSizeOnlyUp {
        current: u32,
        asked: u32,
    },
    GroupSizeNotANumber {
        given: String,
    },
    ClosesBeforeOpens {
        opens: chrono::NaiveDate,
        closes: chrono::NaiveDate,
    },
    NotADate {
        field: DateField,
        given: String,
    },
    TitleMissing,
    NoQuestionnaire,
    InvalidQuestionnaire {
        position: usize,
        problems: Vec<crate::survey::SurveyError>,
    },
    QuestionnaireTwice {
        id: String,
    },
    NoSuchUnit {
        code: String,
    },
    CannotOpen {
        state: RoundState,
    },
    CannotClose {
        state: RoundState,
    },
    NobodyInScope,
    /// A round to be sent by SMS where no SMS can be sent.
    SmsNotConfigured,
    /// A round's delivery that is none of e-mail, SMS, both.
    BadDelivery {
        given: String,
    },
    /// New people to invite to an open round, but no secret key to make
    /// their links with.
    KeyNeededToInvite,
    RemindersOnlyWhileOpen,
    NoResultsYet,
    NoClosedRound,
    BadWindow {
        given: String,
    },
    BadFormat {
        given: String,
    },
    /// A form that does not read (forged, or broken on its way).
    BadForm,
    UploadBroken,
    FileTooLarge {
        max_mb: usize,
    },
    ChooseFileKind,
    ChooseFile,
    EmptyFile {
        name: String,
    },
    PreviewExpired,
    CannotReadFile {
        path: String,
        reason: String,
    },
    BenchTooSmall,
    /// The problems of a measure (of the register, or of an action plan).
    Measure(Vec<MeasureProblem>),
    /// `naervaer backup`/`restore` on PostgreSQL: its own tools do it.
    BackupOnPostgres,
    /// A written account with problems.
    Account(Vec<AccountProblem>),
    /// A target that is neither a percentage from 0 to 100 nor the
    /// national level.
    BadTarget {
        given: String,
    },
    BadYear {
        given: String,
    },
    FileExists {
        path: String,
    },
    CannotWrite {
        path: String,
        reason: String,
    },
    DatabaseNotEmpty {
        path: String,
    },
    NotABackup {
        path: String,
        reason: String,
    },
    BackupFromNewerVersion {
        path: String,
        migration: String,
    },
}

impl UserError {
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    pub fn render(&self, l: Lang) -> String {
        use UserError::*;
        let date = |d: &chrono::NaiveDate| d.format("%d.%m.%Y").to_string();
        match self {
            NoSuchRound { prefix } => format!(
                "{} «{prefix}». {}",
                l.pick("Finner ingen runde med id", "Finn ingen runde med id", "No round has the id"),
                l.pick(
                    "`naervaer round list` viser alle rundene.",
                    "`naervaer round list` viser alle rundane.",
                    "`naervaer round list` shows all rounds."
                )
            ),
            AmbiguousRound { prefix } => format!(
                "{} «{prefix}». {}",
                l.pick(
                    "Flere runder har en id som begynner med",
                    "Fleire rundar har ein id som byrjar med",
                    "Several rounds have an id starting with"
                ),
                l.pick("Skriv flere tegn av id-en.", "Skriv fleire teikn av id-en.", "Give more of the id.")
            ),
            GroupSizeBelowFloor { asked, floor } => match l {
                Lang::Nb => format!("Minste gruppestørrelse kan ikke være lavere enn {floor}, som er grensen for hele løsningen (du valgte {asked})."),
                Lang::Nn => format!("Minste gruppestorleik kan ikkje vere lågare enn {floor}, som er grensa for heile løysinga (du valde {asked})."),
                Lang::En => format!("The minimum group size cannot be below {floor}, the limit for the whole installation (you chose {asked})."),
            },
            GroupSizeOnlyUp { current, asked } => match l {
                Lang::Nb => format!("Minste gruppestørrelse er {current} og kan bare økes (du skrev {asked})."),
                Lang::Nn => format!("Minste gruppestorleik er {current} og kan berre aukast (du skreiv {asked})."),
                Lang::En => format!("The minimum group size is {current} and can only be raised (you asked for {asked})."),
            },
            GroupSizeNotANumber { given } => format!(
                "{} «{given}».",
                l.pick(
                    "Minste gruppestørrelse må være et helt tall, ikke",
                    "Minste gruppestorleik må vere eit heilt tal, ikkje",
                    "The minimum group size must be a whole number, not"
                )
            ),
            ClosesBeforeOpens { opens, closes } => match l {
                Lang::Nb => format!("Siste svardag ({}) kommer før åpningsdagen ({}). Velg en senere siste svardag.", date(closes), date(opens)),
                Lang::Nn => format!("Siste svardag ({}) kjem før opningsdagen ({}). Vel ein seinare siste svardag.", date(closes), date(opens)),
                Lang::En => format!("The last day to answer ({}) is before the opening day ({}). Choose a later last day.", date(closes), date(opens)),
            },
            NotADate { field, given } => {
                let name = match field {
                    DateField::OpensOn => l.pick("Åpningsdagen", "Opningsdagen", "The opening day"),
                    DateField::ClosesOn => l.pick("Siste svardag", "Siste svardag", "The last day to answer"),
                };
                if given.trim().is_empty() {
                    format!("{name} {}", l.pick("mangler (åååå-mm-dd).", "manglar (åååå-mm-dd).", "is missing (yyyy-mm-dd)."))
                } else {
                    format!(
                        "{name} {} «{given}».",
                        l.pick("må være en dato (åååå-mm-dd), ikke", "må vere ein dato (åååå-mm-dd), ikkje", "must be a date (yyyy-mm-dd), not")
                    )
                }
            }
            TitleMissing => l.pick("Runden må ha en tittel.", "Runden må ha ein tittel.", "The round needs a title.").into(),
            NoQuestionnaire => l
                .pick("Runden må ha minst ett spørreskjema.", "Runden må ha minst eitt spørjeskjema.", "The round needs at least one questionnaire.")
                .into(),
            InvalidQuestionnaire { position, problems } => format!(
                "{} {position} {}: {}. {}",
                l.pick("Spørreskjema", "Spørjeskjema", "Questionnaire"),
                l.pick("er ikke gyldig", "er ikkje gyldig", "is not valid"),
                problems
                    .iter()
                    .map(|p| p.render(l))
                    .collect::<Vec<_>>()
                    .join("; "),
                l.pick(
                    "Kjør `naervaer survey check` på fila for å se alle feilene.",
                    "Køyr `naervaer survey check` på fila for å sjå alle feilane.",
                    "Run `naervaer survey check` on the file to see every problem."
                )
            ),
            QuestionnaireTwice { id } => format!(
                "{} «{id}» {}",
                l.pick("Spørreskjemaet", "Spørjeskjemaet", "The questionnaire"),
                l.pick("er tatt med to ganger.", "er teke med to gonger.", "is included twice.")
            ),
            NoSuchUnit { code } => format!(
                "{} «{code}». {}",
                l.pick("Finner ingen aktiv enhet med koden", "Finn inga aktiv eining med koden", "No active unit has the code"),
                l.pick(
                    "Uten enhetskode gjelder runden hele organisasjonen.",
                    "Utan einingskode gjeld runden heile organisasjonen.",
                    "Without a unit code the round covers the whole organisation."
                )
            ),
            CannotOpen { state } => match state {
                RoundState::Open => l.pick("Runden er allerede åpnet.", "Runden er alt opna.", "The round is already open."),
                _ => l.pick(
                    "Runden er lukket og kan ikke åpnes igjen.",
                    "Runden er lukka og kan ikkje opnast igjen.",
                    "The round is closed and cannot be opened again.",
                ),
            }
            .into(),
            CannotClose { state } => match state {
                RoundState::Draft => l.pick(
                    "Runden er ikke åpnet ennå og kan derfor ikke lukkes.",
                    "Runden er ikkje opna enno og kan difor ikkje lukkast.",
                    "The round has not been opened yet, so it cannot be closed.",
                ),
                _ => l.pick("Runden er allerede lukket.", "Runden er alt lukka.", "The round is already closed."),
            }
            .into(),
            NobodyInScope => l
                .pick(
                    "Ingen aktive ansatte hører til enhetene runden gjelder, så det er ingen å invitere. Importer ansatte først.",
                    "Ingen aktive tilsette høyrer til einingane runden gjeld, så det er ingen å invitere. Importer tilsette først.",
                    "No active employees belong to the units this round covers, so there is nobody to invite. Import employees first.",
                )
                .into(),
            SmsNotConfigured => l
                .pick(
                    "Runden skal sendes med SMS, men ingen SMS-tjeneste er satt opp: sett NAERVAER_SMS_URL (eller NAERVAER_OUTBOX_DIR for å skrive meldingene til en mappe), eller velg e-post.",
                    "Runden skal sendast med SMS, men inga SMS-teneste er sett opp: set NAERVAER_SMS_URL (eller NAERVAER_OUTBOX_DIR for å skrive meldingane til ei mappe), eller vel e-post.",
                    "The round is to be sent by SMS, but no SMS service is set up: set NAERVAER_SMS_URL (or NAERVAER_OUTBOX_DIR to write the messages to a folder), or choose e-mail.",
                )
                .into(),
            BadDelivery { given } => format!(
                "«{given}» {}",
                l.pick(
                    "er ikke en utsendingsmåte: velg email, sms eller both.",
                    "er ikkje ein utsendingsmåte: vel email, sms eller both.",
                    "is not a way of sending: choose email, sms or both.",
                )
            ),
            KeyNeededToInvite => l
                .pick(
                    "En runde er åpen, og importen gir den nye ansatte å invitere: sett NAERVAER_SECRET_KEY (den samme som runden ble åpnet med) og importer på nytt.",
                    "Ein runde er open, og importen gir han nye tilsette å invitere: set NAERVAER_SECRET_KEY (den same som runden vart opna med) og importer på nytt.",
                    "A round is open, and the import gives it new employees to invite: set NAERVAER_SECRET_KEY (the one the round was opened with) and import again.",
                )
                .into(),
            RemindersOnlyWhileOpen => l
                .pick(
                    "Påminnelser kan bare sendes mens runden er åpen for svar.",
                    "Påminningar kan berre sendast medan runden er open for svar.",
                    "Reminders can only be sent while the round is open for answers.",
                )
                .into(),
            NoResultsYet => l
                .pick(
                    "Runden har ingen resultater ennå. Resultatene beregnes når runden lukkes.",
                    "Runden har ingen resultat enno. Resultata blir rekna ut når runden blir lukka.",
                    "The round has no results yet. Results are computed when the round closes.",
                )
                .into(),
            NoClosedRound => l
                .pick(
                    "Ingen runder er lukket ennå. Analysen trenger resultatene fra en lukket runde.",
                    "Ingen rundar er lukka enno. Analysen treng resultata frå ein lukka runde.",
                    "No round has closed yet. The analysis needs the results of a closed round.",
                )
                .into(),
            BadWindow { given } => format!(
                "{} «{given}». {}",
                l.pick("Ugyldig periode", "Ugyldig periode", "Invalid window"),
                l.pick(
                    "Bruk before, after eller ÅÅÅÅ-MM-DD..ÅÅÅÅ-MM-DD, der første dato ikke er etter den siste.",
                    "Bruk before, after eller ÅÅÅÅ-MM-DD..ÅÅÅÅ-MM-DD, der første dato ikkje er etter den siste.",
                    "Use before, after or YYYY-MM-DD..YYYY-MM-DD, the first date not after the last."
                )
            ),
            BadFormat { given } => format!(
                "{} «{given}». {}",
                l.pick("Ukjent format", "Ukjent format", "Unknown format"),
                l.pick("Bruk text, json eller csv.", "Bruk text, json eller csv.", "Use text, json or csv.")
            ),
            BadForm => l
                .pick(
                    "Skjemaet kunne ikke leses. Gå tilbake, last inn siden på nytt og prøv igjen.",
                    "Skjemaet kunne ikkje lesast. Gå tilbake, last sida på nytt og prøv igjen.",
                    "The form could not be read. Go back, reload the page and try again.",
                )
                .into(),
            UploadBroken => l
                .pick(
                    "Opplastingen ble avbrutt eller kunne ikke leses. Velg fila og prøv igjen.",
                    "Opplastinga vart avbroten eller kunne ikkje lesast. Vel fila og prøv igjen.",
                    "The upload was interrupted or could not be read. Choose the file and try again.",
                )
                .into(),
            FileTooLarge { max_mb } => match l {
                Lang::Nb => format!("Fila er større enn {max_mb} MB. Lagre den som CSV, eller del den i flere filer."),
                Lang::Nn => format!("Fila er større enn {max_mb} MB. Lagre ho som CSV, eller del ho i fleire filer."),
                Lang::En => format!("The file is larger than {max_mb} MB. Save it as CSV, or split it into several files."),
            },
            ChooseFileKind => l
                .pick(
                    "Velg hva fila inneholder: enheter, ansatte eller sykefravær.",
                    "Vel kva fila inneheld: einingar, tilsette eller sjukefråvær.",
                    "Choose what the file holds: units, employees or sickness absence.",
                )
                .into(),
            ChooseFile => l.pick("Velg en fil å importere.", "Vel ei fil å importere.", "Choose a file to import.").into(),
            EmptyFile { name } => format!("{} «{name}» {}", l.pick("Fila", "Fila", "The file"), l.pick("er tom.", "er tom.", "is empty.")),
            PreviewExpired => l
                .pick(
                    "Forhåndsvisningen er utløpt eller allerede tatt i bruk. Last opp fila på nytt.",
                    "Førehandsvisinga har gått ut eller er alt teken i bruk. Last opp fila på nytt.",
                    "The preview has expired or was already applied. Upload the file again.",
                )
                .into(),
            CannotReadFile { path, reason } => format!(
                "{} «{path}»: {reason}",
                l.pick("Kan ikke lese fila", "Kan ikkje lese fila", "Cannot read the file")
            ),
            BenchTooSmall => l
                .pick(
                    "Bruk minst 14 enheter og minst like mange ansatte som enheter.",
                    "Bruk minst 14 einingar og minst like mange tilsette som einingar.",
                    "Use at least 14 units and at least as many employees as units.",
                )
                .into(),
            Measure(problems) => problems
                .iter()
                .map(|p| p.render(l))
                .collect::<Vec<_>>()
                .join(" "),
            BadTarget { given } => match l {
                Lang::Nb => format!("«{given}» er ikke et måltall: skriv en prosent fra 0 til 100 (for eksempel 7,5) eller «nasjonalt»."),
                Lang::Nn => format!("«{given}» er ikkje eit måltal: skriv ein prosent frå 0 til 100 (til dømes 7,5) eller «nasjonalt»."),
                Lang::En => format!("«{given}» is not a target: write a percentage from 0 to 100 (such as 7.5) or «nasjonalt» for the national level."),
            },
            BadYear { given } => match l {
                Lang::Nb => format!("«{given}» er ikke et årstall mellom 2000 og 2100."),
                Lang::Nn => format!("«{given}» er ikkje eit årstal mellom 2000 og 2100."),
                Lang::En => format!("«{given}» is not a year between 2000 and 2100."),
            },
            Account(problems) => problems
                .iter()
                .map(|p| p.render(l))
                .collect::<Vec<_>>()
                .join(" "),
            BackupOnPostgres => l
                .pick(
                    "Databasen er PostgreSQL: ta sikkerhetskopi med `pg_dump --format=custom` og gjenopprett med `pg_restore` (se README, «Sikkerhetskopi»).",
                    "Databasen er PostgreSQL: ta tryggingskopi med `pg_dump --format=custom` og gjenopprett med `pg_restore` (sjå README, «Sikkerhetskopi»).",
                    "The database is PostgreSQL: back it up with `pg_dump --format=custom` and restore it with `pg_restore` (see README, \"Backup and restore\").",
                )
                .into(),
            FileExists { path } => format!(
                "«{path}» {}",
                l.pick(
                    "finnes allerede. Velg et nytt filnavn; en sikkerhetskopi skriver aldri over en annen.",
                    "finst allereie. Vel eit nytt filnamn; ein tryggingskopi skriv aldri over ein annan.",
                    "already exists. Choose a new file name; a backup never overwrites another.",
                )
            ),
            CannotWrite { path, reason } => format!(
                "{} «{path}»: {reason}",
                l.pick("Kan ikke skrive", "Kan ikkje skrive", "Cannot write")
            ),
            DatabaseNotEmpty { path } => format!(
                "{} «{path}» {}",
                l.pick("Databasen", "Databasen", "The database"),
                l.pick(
                    "har data. Stopp tjenesten, og kjør igjen med --force for å erstatte alt i den med sikkerhetskopien.",
                    "har data. Stopp tenesta, og køyr igjen med --force for å byte ut alt i han med tryggingskopien.",
                    "holds data. Stop the service, and run again with --force to replace everything in it with the backup.",
                )
            ),
            NotABackup { path, reason } => format!(
                "«{path}» {} ({reason}).",
                l.pick(
                    "er ikke en sikkerhetskopi fra naervaer",
                    "er ikkje ein tryggingskopi frå naervaer",
                    "is not a naervaer backup",
                )
            ),
            BackupFromNewerVersion { path, migration } => format!(
                "«{path}» {} {migration}). {}",
                l.pick(
                    "er fra en nyere naervaer (migrering",
                    "er frå ein nyare naervaer (migrering",
                    "comes from a newer naervaer (migration",
                ),
                l.pick(
                    "Gjenopprett den med den versjonen som laget den, eller en nyere.",
                    "Gjenopprett han med den versjonen som laga han, eller ein nyare.",
                    "Restore it with the version that made it, or a newer one.",
                )
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_is_worth_another_try_a_missing_row_is_not() {
        use diesel::result::{DatabaseErrorKind, Error};
        let busy = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_string()),
        );
        assert!(AppError::from(busy).is_transient());
        assert!(AppError::connection_by("SQLite x", std::io::Error::other("gone")).is_transient());
        assert!(!AppError::from(Error::NotFound).is_transient());
        assert!(!AppError::damaged("an outbox row names nothing").is_transient());
        assert!(!AppError::config("no key").is_transient());
    }

    #[test]
    fn every_user_error_reads_in_every_language_and_the_chain_is_kept() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let all = [
            UserError::NoSuchRound {
                prefix: "ab".into(),
            },
            UserError::ClosesBeforeOpens {
                opens: d,
                closes: d,
            },
            UserError::CannotOpen {
                state: RoundState::Closed,
            },
            UserError::CannotClose {
                state: RoundState::Draft,
            },
            UserError::NotADate {
                field: DateField::OpensOn,
                given: String::new(),
            },
            UserError::BadWindow { given: "x".into() },
        ];
        for e in &all {
            let texts: Vec<String> = Lang::ALL.iter().map(|l| e.render(*l)).collect();
            assert!(texts.iter().all(|t| t.len() > 10), "{texts:?}");
            assert_ne!(texts[0], texts[2], "bokmål and English differ: {texts:?}");
        }
        let io = std::io::Error::other("disk full");
        let e = AppError::damaged_by("snapshot of round r", io);
        assert_eq!(
            e.chain(),
            "stored data is damaged: snapshot of round r: disk full"
        );
        assert_eq!(
            AppError::from(UserError::TitleMissing).render(Lang::Nn),
            "Runden må ha ein tittel."
        );
    }
}
