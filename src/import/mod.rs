//! The HR imports: units, employees and sickness absence. Each import
//! reads the whole file, validates all of it, and either applies all of it in
//! one transaction or nothing. Every problem is reported with its file line
//! and column; a dry run computes the same diff and writes nothing.

pub mod absence;
pub mod employees;
pub mod measures;
pub mod national;
pub mod norms;
pub mod table;
pub mod targets;
pub mod units;

use crate::db::{schema::import_runs, DbConnection};
use crate::lang::Lang;
use crate::AppError;
use diesel::prelude::*;
use std::fmt::Write as _;
use table::{column_letters, FileKind};

/// Where in the file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    /// `B` for XLSX, `2` for CSV, with the header as the file spells it.
    pub column: Option<(String, String)>,
}

impl Location {
    pub fn line(line: usize) -> Location {
        Location { line, column: None }
    }

    pub fn cell(kind: FileKind, line: usize, index: usize, header: &str) -> Location {
        let label = match kind {
            FileKind::Csv => (index + 1).to_string(),
            FileKind::Xlsx => column_letters(index),
        };
        Location {
            line,
            column: Some((label, header.to_string())),
        }
    }

    pub fn render(&self, lang: Lang) -> String {
        let (line, col) = lang.pick3(
            ("linje", "kolonne"),
            ("linje", "kolonne"),
            ("line", "column"),
        );
        match &self.column {
            Some((label, header)) => format!("{line} {}, {col} {label} ({header})", self.line),
            None => format!("{line} {}", self.line),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    Unreadable(String),
    NotUtf8,
    Malformed(String),
    /// A control character (such as NUL) in a cell, by its code point.
    ControlCharacter(u32),
    Empty,
    MissingColumn {
        name: &'static str,
        aliases: &'static [&'static str],
    },
    DuplicateColumn(&'static str),
    /// No row near the top names the importer's columns.
    NoHeader {
        columns: Vec<(&'static str, &'static [&'static str])>,
        last_line: usize,
    },
    /// A notice: the headers were found below a title, on this line.
    HeaderBelowTop {
        line: usize,
    },
    UnknownColumn(String),
    MissingValue,
    Duplicate {
        value: String,
        first_line: usize,
    },
    UnknownParent(String),
    Cycle(Vec<String>),
    SecondRoot {
        code: String,
        root_line: usize,
    },
    NoRoot,
    UnknownUnit(String),
    ClosedUnit(String),
    BadEmail(String),
    UnknownRole(String),
    UnknownLanguage(String),
    /// Not a mobile number SMS can reach.
    BadMobile(String),
    /// A factor no questionnaire has.
    UnknownFactor(String),
    /// A norm's mean outside the scale 1–5.
    BadNorm(String),
    /// A warning: norms for a unit type no unit has.
    NoUnitOfType(String),
    /// A verneombud or tillitsvalgt who represents no unit.
    RepresentsNothing,
    /// Units in `represents` for someone with neither representative role.
    RepresentsWithoutRole,
    /// A warning: people still placed in units the import closed.
    StrandedEmployees(i64),
    BadNumber(String),
    Negative(String),
    BadDate(String),
    EndBeforeStart,
    LostOverAgreed,
    PartsOverLost,
    OverlapInFile {
        unit: String,
        line: usize,
    },
    OverlapExisting {
        unit: String,
        period: String,
    },
    BadYear(String),
    BadTarget(String),
    BadKind(String),
    /// A measure's problem (targets, measures share the register's words).
    Measure(crate::error::MeasureProblem),
    /// The national reference: no quarter column or header found.
    NoQuarters,
    BadQuarter(String),
    UnknownMeasure(String),
    /// The same quarter and measure twice (a table with more than one sex
    /// or sector chosen).
    SameQuarterTwice {
        quarter: String,
        line: usize,
    },
}

impl IssueKind {
    /// Warnings do not stop an import; everything else does.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            IssueKind::UnknownColumn(_)
                | IssueKind::StrandedEmployees(_)
                | IssueKind::NoUnitOfType(_)
                | IssueKind::HeaderBelowTop { .. }
        )
    }

    pub fn render(&self, lang: Lang) -> String {
        use IssueKind::*;
        let l = lang;
        match self {
            Unreadable(e) => format!("{}: {e}", l.pick("fila kan ikke leses", "fila kan ikkje lesast", "the file cannot be read")),
            NotUtf8 => l
                .pick(
                    "fila er ikke UTF-8; lagre den som «CSV UTF-8» eller XLSX",
                    "fila er ikkje UTF-8; lagre ho som «CSV UTF-8» eller XLSX",
                    "the file is not UTF-8; save it as \"CSV UTF-8\" or XLSX",
                )
                .into(),
            Malformed(e) => format!("{}: {e}", l.pick("ugyldig CSV", "ugyldig CSV", "malformed CSV")),
            Empty => l.pick("fila er tom", "fila er tom", "the file is empty").into(),
            MissingColumn { name, aliases } => {
                let alt = if aliases.is_empty() { String::new() } else { format!(" / «{}»", aliases.join("» / «")) };
                format!(
                    "{} «{name}»{alt}",
                    l.pick("kolonnen mangler i overskriftslinja:", "kolonna manglar i overskriftslina:", "column missing from the header line:")
                )
            }
            NoHeader { columns, last_line } => format!(
                "{} {}: {}",
                l.pick(
                    "fant ingen overskriftslinje på linje 1 til",
                    "fann inga overskriftsline på linje 1 til",
                    "no header line found on lines 1 to"
                ),
                last_line,
                columns
                    .iter()
                    .map(|(name, aliases)| {
                        std::iter::once(*name)
                            .chain(aliases.iter().copied())
                            .map(|n| format!("«{n}»"))
                            .collect::<Vec<_>>()
                            .join(" / ")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
                    + l.pick(
                        " (én linje må ha alle disse kolonnene)",
                        " (éi line må ha alle desse kolonnene)",
                        " (one line must hold all these columns)"
                    )
            ),
            HeaderBelowTop { line } => format!(
                "{} {line}; {}",
                l.pick("overskriftene står på linje", "overskriftene står på linje", "the headers are on line"),
                l.pick("linjene over er hoppet over", "linjene over er hoppa over", "the lines above are skipped")
            ),
            DuplicateColumn(name) => format!("{} «{name}»", l.pick("kolonnen står to ganger:", "kolonna står to gonger:", "column appears twice:")),
            UnknownColumn(h) => format!("{} «{h}»", l.pick("ukjent kolonne blir ignorert:", "ukjend kolonne blir ignorert:", "unknown column is ignored:")),
            MissingValue => l.pick("verdi mangler", "verdi manglar", "value missing").into(),
            Duplicate { value, first_line } => format!(
                "«{value}» {} {first_line}",
                l.pick("står også på linje", "står òg på linje", "also appears on line")
            ),
            UnknownParent(code) => format!(
                "{} «{code}» {}",
                l.pick("overordnet enhet", "overordna eining", "parent unit"),
                l.pick("finnes ikke i fila", "finst ikkje i fila", "is not in the file")
            ),
            Cycle(codes) => format!("{}: {}", l.pick("enhetene danner en sløyfe", "einingane dannar ei sløyfe", "the units form a cycle"), codes.join(" → ")),
            SecondRoot { code, root_line } => format!(
                "«{code}» {} {root_line}",
                l.pick(
                    "har ingen overordnet enhet, men det har allerede rotenheten på linje",
                    "har inga overordna eining, men det har allereie roteininga på linje",
                    "has no parent, but neither has the root unit on line"
                )
            ),
            NoRoot => l
                .pick(
                    "ingen enhet står uten overordnet enhet: treet har ingen rot",
                    "inga eining står utan overordna eining: treet har inga rot",
                    "every unit has a parent: the tree has no root",
                )
                .into(),
            UnknownUnit(code) => format!(
                "{} «{code}» {}",
                l.pick("enheten", "eininga", "unit"),
                l.pick("finnes ikke; importer enhetene først", "finst ikkje; importer einingane først", "does not exist; import the units first")
            ),
            ClosedUnit(code) => format!(
                "{} «{code}» {}",
                l.pick("enheten", "eininga", "unit"),
                l.pick("er lagt ned (finnes ikke i siste enhetsimport)", "er lagd ned (finst ikkje i siste einingsimport)", "is closed (missing from the last units import)")
            ),
            BadEmail(v) => format!("{} «{v}»", l.pick("ugyldig e-postadresse", "ugyldig e-postadresse", "malformed e-mail address")),
            UnknownRole(v) => format!("{} «{v}» {}", l.pick("ukjent rolle", "ukjend rolle", "unknown role"), l.pick("(bruk amu, admin, verneombud eller tillitsvalgt, skilt med |)", "(bruk amu, admin, verneombud eller tillitsvalt, skilde med |)", "(use amu, admin, verneombud or tillitsvalgt, separated by |)")),
            BadMobile(v) => format!("«{v}» {}", l.pick(
                "er ikke et mobilnummer: åtte siffer som begynner med 4 eller 9 (912 34 567), eller + og landskode (+46 70 123 45 67)",
                "er ikkje eit mobilnummer: åtte siffer som byrjar med 4 eller 9 (912 34 567), eller + og landskode (+46 70 123 45 67)",
                "is not a mobile number: eight digits beginning with 4 or 9 (912 34 567), or + and a country code (+46 70 123 45 67)")),
            UnknownFactor(v) => format!("«{v}» {}", l.pick(
                "er ikke en faktor i undersøkelsene (for eksempel 10-faktor/rolleklarhet eller rolleklarhet)",
                "er ikkje ein faktor i undersøkingane (til dømes 10-faktor/rolleklarhet eller rolleklarhet)",
                "is not a factor of the questionnaires (for example 10-faktor/rolleklarhet or rolleklarhet)")),
            BadNorm(v) => format!("«{v}» {}", l.pick(
                "er ikke et gjennomsnitt på skalaen 1–5 (for eksempel 3,9)",
                "er ikkje eit gjennomsnitt på skalaen 1–5 (til dømes 3,9)",
                "is not a mean on the scale 1–5 (for example 3,9)")),
            NoUnitOfType(t) => format!("{} «{t}» {}", l.pick("ingen enhet har enhetstypen", "inga eining har einingstypen", "no unit has the unit type"), l.pick(
                "ennå; normene vises når en enhet får typen (kolonnen unit_type i units.csv)",
                "enno; normene blir viste når ei eining får typen (kolonna unit_type i units.csv)",
                "yet; the norms show once a unit has the type (the column unit_type in units.csv)")),
            RepresentsNothing => l.pick(
                "verneombud og tillitsvalgte må ha enhetene de representerer i kolonnen represents (enhetskoder skilt med |)",
                "verneombod og tillitsvalde må ha einingane dei representerer i kolonna represents (einingskodar skilde med |)",
                "a verneombud or tillitsvalgt needs the units they represent in the column represents (unit codes separated by |)").into(),
            RepresentsWithoutRole => l.pick(
                "bare verneombud og tillitsvalgte representerer enheter: legg til rollen i kolonnen roles, eller tøm cellen",
                "berre verneombod og tillitsvalde representerer einingar: legg til rolla i kolonna roles, eller tøm cella",
                "only a verneombud or tillitsvalgt represents units: add the role in the column roles, or empty the cell").into(),
            StrandedEmployees(n) => format!(
                "{n} {}",
                l.pick(
                    "aktive ansatte hører til enheter som nå er lagt ned; importer de ansatte på nytt",
                    "aktive tilsette høyrer til einingar som no er lagde ned; importer dei tilsette på nytt",
                    "active employees belong to units that are now closed; import the employees again"
                )
            ),
            BadNumber(v) => format!("«{v}» {}", l.pick("er ikke et tall (eksempel: 1 210,5)", "er ikkje eit tal (døme: 1 210,5)", "is not a number (example: 1 210,5)")),
            Negative(v) => format!("«{v}» {}", l.pick("er negativt", "er negativt", "is negative")),
            BadDate(v) => format!("«{v}» {}", l.pick("er ikke en dato (01.01.2025 eller 2025-01-01)", "er ikkje ein dato (01.01.2025 eller 2025-01-01)", "is not a date (01.01.2025 or 2025-01-01)")),
            ControlCharacter(c) => format!(
                "{} (U+{c:04X}); {}",
                l.pick("cellen inneholder et kontrolltegn", "cella inneheld eit kontrollteikn", "the cell holds a control character"),
                l.pick("fjern det og last opp fila på nytt", "fjern det og last opp fila på nytt", "remove it and upload the file again"),
            ),
            EndBeforeStart => l.pick("perioden slutter før den begynner", "perioden sluttar før han byrjar", "the period ends before it starts").into(),
            LostOverAgreed => l.pick("tapte dagsverk er flere enn avtalte dagsverk", "tapte dagsverk er fleire enn avtalte dagsverk", "lost workdays exceed agreed workdays").into(),
            PartsOverLost => l.pick(
                "egenmeldt, legemeldt eller langtid er til sammen mer enn tapte dagsverk (utover 0,5 i avrunding)",
                "eigenmeldt, legemeldt eller langtid er til saman meir enn tapte dagsverk (utover 0,5 i avrunding)",
                "self-certified, doctor-certified or long-term days exceed the lost workdays (beyond 0.5 for rounding)").into(),
            OverlapInFile { unit, line } => format!(
                "{} «{unit}» {} {line}",
                l.pick("perioden for enhet", "perioden for eining", "the period for unit"),
                l.pick("overlapper perioden på linje", "overlappar perioden på linje", "overlaps the period on line")
            ),
            OverlapExisting { unit, period } => format!(
                "{} «{unit}» {} {period} {}",
                l.pick("perioden for enhet", "perioden for eining", "the period for unit"),
                l.pick("overlapper den importerte perioden", "overlappar den importerte perioden", "overlaps the imported period"),
                l.pick("(bare nøyaktig samme periode kan erstattes)", "(berre nøyaktig same periode kan bytast ut)", "(only the very same period can be replaced)")
            ),
            UnknownLanguage(v) => format!("{} «{v}» {}", l.pick("ukjent språk", "ukjent språk", "unknown language"), l.pick("(bruk nb, nn eller en)", "(bruk nb, nn eller en)", "(use nb, nn or en)")),
            BadYear(v) => format!("«{v}» {}", l.pick("er ikke et årstall (for eksempel 2026)", "er ikkje eit årstal (til dømes 2026)", "is not a year (such as 2026)")),
            BadTarget(v) => format!("«{v}» {}", l.pick("er ikke et måltall: en prosent fra 0 til 100 (7,5) eller «nasjonalt»", "er ikkje eit måltal: ein prosent frå 0 til 100 (7,5) eller «nasjonalt»", "is not a target: a percentage from 0 to 100 (7,5) or «nasjonalt»")),
            BadKind(v) => format!("«{v}» {}", l.pick("er ikke en type måltall (bruk total eller langtid)", "er ikkje ein type måltal (bruk total eller langtid)", "is not a kind of target (use total or long_term)")),
            Measure(p) => p.render(l),
            NoQuarters => l.pick(
                "fant ingen kolonne med kvartaler (som 2025K3): last ned tabellen fra SSBs statistikkbank som semikolonseparert CSV med kvartal som kolonne eller rad",
                "fann inga kolonne med kvartal (som 2025K3): last ned tabellen frå statistikkbanken til SSB som semikolonseparert CSV med kvartal som kolonne eller rad",
                "found no column of quarters (such as 2025K3): download the table from Statistics Norway's statistics bank as semicolon-separated CSV with quarters as a column or a row").into(),
            BadQuarter(v) => format!("«{v}» {}", l.pick("er ikke et kvartal (2025K3)", "er ikkje eit kvartal (2025K3)", "is not a quarter (2025K3)")),
            UnknownMeasure(v) => format!("«{v}» {}", l.pick("er ikke en sykefraværstype SSB bruker (egenmeldt og legemeldt, egenmeldt, legemeldt)", "er ikkje ein sjukefråværstype SSB bruker (eigenmeldt og legemeldt, eigenmeldt, legemeldt)", "is not an absence type Statistics Norway uses (egenmeldt og legemeldt, egenmeldt, legemeldt)")),
            SameQuarterTwice { quarter, line } => format!(
                "{quarter} {} {line}; {}",
                l.pick("står også på linje", "står òg på linje", "also appears on line"),
                l.pick("velg ett kjønn og én næring i statistikkbanken", "vel eitt kjønn og éi næring i statistikkbanken", "choose one sex and one sector in the statistics bank")
            ),
        }
    }
}

/// A problem, with where it is when it is somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub location: Option<Location>,
    pub kind: IssueKind,
}

impl Issue {
    pub fn at(location: Location, kind: IssueKind) -> Issue {
        Issue {
            location: Some(location),
            kind,
        }
    }
    pub fn general(kind: IssueKind) -> Issue {
        Issue {
            location: None,
            kind,
        }
    }
    pub fn render(&self, lang: Lang) -> String {
        match &self.location {
            Some(loc) => format!("{}: {}", loc.render(lang), self.kind.render(lang)),
            None => self.kind.render(lang),
        }
    }
}

/// One changed record: its key and what changed, field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub fields: Vec<String>,
}

/// What an import does (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<String>,
    pub changed: Vec<Change>,
    pub deactivated: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.deactivated.is_empty()
    }

    pub fn render(&self, lang: Lang) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} ({}):",
            lang.pick("Lagt til", "Lagt til", "Added"),
            self.added.len()
        );
        for a in &self.added {
            let _ = writeln!(s, "  + {a}");
        }
        let _ = writeln!(
            s,
            "{} ({}):",
            lang.pick("Endret", "Endra", "Changed"),
            self.changed.len()
        );
        for c in &self.changed {
            let _ = writeln!(s, "  ~ {}: {}", c.key, c.fields.join("; "));
        }
        let _ = writeln!(
            s,
            "{} ({}):",
            lang.pick("Deaktivert", "Deaktivert", "Deactivated"),
            self.deactivated.len()
        );
        for d in &self.deactivated {
            let _ = writeln!(s, "  - {d}");
        }
        s
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub diff: Diff,
    pub warnings: Vec<Issue>,
    pub applied: bool,
    /// What the import did to the open rounds (new people invited, the
    /// invitations of those who left withdrawn), when a higher layer
    /// followed it up in the same transaction ([`import_then`]).
    pub rounds: Vec<RoundStaffing>,
}

/// An open round brought up to date with the staff by an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundStaffing {
    pub round_title: String,
    /// People newly in scope, invited (their messages queued).
    pub invited: usize,
    /// Invitations of people who left the round's units, withdrawn
    /// (answered or not: the count does not tell).
    pub withdrawn: usize,
    /// People back in the round's units, whose links work again.
    pub returned: usize,
}

impl RoundStaffing {
    pub fn render(&self, lang: Lang) -> String {
        let l = lang;
        format!(
            "{} «{}»: {} {}, {} {}{}",
            l.pick("Åpen runde", "Open runde", "Open round"),
            self.round_title,
            self.invited,
            l.pick("nye invitert", "nye inviterte", "newcomers invited"),
            self.withdrawn,
            l.pick(
                "invitasjoner trukket tilbake (sluttet eller flyttet ut; svar som er gitt, står)",
                "invitasjonar trekte tilbake (slutta eller flytta ut; svar som er gitt, står)",
                "invitations withdrawn (left or moved out; answers given stay)"
            ),
            if self.returned > 0 {
                format!(
                    ", {} {}",
                    self.returned,
                    l.pick(
                        "tilbake, med lenken de fikk",
                        "tilbake, med lenkja dei fekk",
                        "back, with the link they had"
                    )
                )
            } else {
                String::new()
            }
        )
    }
}

/// Work a higher layer adds to an import's transaction, after the file is
/// applied (and in a dry run too, so the preview shows it): the open
/// rounds following the staff.
pub type Then<'a> =
    &'a mut dyn FnMut(&mut DbConnection, Kind, &mut Outcome) -> Result<(), AppError>;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has problems; nothing was changed. Warnings (unknown
    /// columns) are listed with them, after the errors.
    #[error("the file was rejected with {} problem(s)", .0.len())]
    Rejected(Vec<Issue>),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::App(AppError::Database(e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Units,
    Employees,
    Absence,
    Targets,
    Measures,
    National,
    Norms,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Units,
        Kind::Employees,
        Kind::Absence,
        Kind::Targets,
        Kind::Measures,
        Kind::National,
        Kind::Norms,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Units => "units",
            Kind::Employees => "employees",
            Kind::Absence => "absence",
            Kind::Targets => "targets",
            Kind::Measures => "measures",
            Kind::National => "national",
            Kind::Norms => "norms",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the follow-up's check of units above target should run
    /// after an import of this kind.
    pub fn moves_targets(self) -> bool {
        matches!(self, Kind::Absence | Kind::Targets | Kind::National)
    }
}

/// Imports `bytes` (named `source`, for messages and the history). With
/// `dry_run` the same work is done inside a transaction that is rolled back.
pub fn import(
    conn: &mut DbConnection,
    kind: Kind,
    source: &str,
    bytes: &[u8],
    dry_run: bool,
) -> Result<Outcome, ImportError> {
    import_then(conn, kind, source, bytes, dry_run, &mut |_, _, _| Ok(()))
}

/// [`import`], with `then` run in the same transaction once the file is
/// applied.
pub fn import_then(
    conn: &mut DbConnection,
    kind: Kind,
    source: &str,
    bytes: &[u8],
    dry_run: bool,
    then: Then,
) -> Result<Outcome, ImportError> {
    let table = table::read(source, bytes).map_err(ImportError::Rejected)?;

    /// Leaving the transaction by error is what rolls it back; a dry run
    /// leaves that way carrying its outcome.
    enum Exit {
        Failed(ImportError),
        DryRun(Box<Outcome>),
    }
    impl From<diesel::result::Error> for Exit {
        fn from(e: diesel::result::Error) -> Self {
            Exit::Failed(e.into())
        }
    }
    impl From<ImportError> for Exit {
        fn from(e: ImportError) -> Self {
            Exit::Failed(e)
        }
    }

    // Validation reads the database, and the diff must be computed against
    // the same state it is applied to: both happen in one transaction.
    let tx = crate::db::write_transaction::<Outcome, Exit, _>(conn, |conn| {
        let mut outcome = match kind {
            Kind::Units => units::run(conn, &table)?,
            Kind::Employees => employees::run(conn, &table)?,
            Kind::Absence => absence::run(conn, &table)?,
            Kind::Targets => targets::run(conn, &table)?,
            Kind::Measures => measures::run(conn, &table)?,
            Kind::National => national::run(conn, &table, source)?,
            Kind::Norms => norms::run(conn, &table, source)?,
        };
        then(conn, kind, &mut outcome).map_err(ImportError::App)?;
        if dry_run {
            return Err(Exit::DryRun(Box::new(outcome)));
        }
        if !outcome.diff.is_empty() {
            diesel::insert_into(import_runs::table)
                .values((
                    import_runs::id.eq(crate::crypto::new_id()),
                    import_runs::kind.eq(kind.name()),
                    import_runs::source.eq(source),
                    import_runs::added.eq(outcome.diff.added.len() as i32),
                    import_runs::changed.eq(outcome.diff.changed.len() as i32),
                    import_runs::deactivated.eq(outcome.diff.deactivated.len() as i32),
                    import_runs::imported_at.eq(crate::db::now_unix()),
                ))
                .execute(conn)?;
        }
        outcome.applied = true;
        Ok(outcome)
    });
    match tx {
        Ok(outcome) => Ok(outcome),
        Err(Exit::DryRun(outcome)) => Ok(*outcome),
        Err(Exit::Failed(e)) => Err(e),
    }
}

/// Appends the warnings to a rejection, so the person fixing the file sees
/// an ignored column (often a misspelt one) beside the errors it caused.
pub(crate) fn with_warnings(e: ImportError, warnings: &[Issue]) -> ImportError {
    match e {
        ImportError::Rejected(mut issues) => {
            issues.extend(warnings.iter().cloned());
            ImportError::Rejected(issues)
        }
        other => other,
    }
}

/// Reports problems found while validating rows; rows are checked in full
/// before anything is written.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<Issue>);

impl Problems {
    pub fn push(&mut self, loc: Location, kind: IssueKind) {
        self.0.push(Issue::at(loc, kind));
    }
    /// All problems in file order (line, then column); general ones first.
    pub fn finish(mut self) -> Result<(), ImportError> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_by_key(|i| {
            i.location.as_ref().map(|l| {
                (
                    l.line,
                    l.column.as_ref().map(|c| c.0.len()),
                    l.column.clone(),
                )
            })
        });
        Err(ImportError::Rejected(self.0))
    }
}

/// Stores an uploaded file that passed its dry run, to wait for the
/// administrator's confirmation; returns its id. Older uploads are swept
/// first.
pub fn keep_pending(
    conn: &mut DbConnection,
    kind: Kind,
    source: &str,
    bytes: &[u8],
) -> Result<String, AppError> {
    use crate::db::schema::pending_imports;
    sweep_pending(conn)?;
    let id = crate::crypto::new_id();
    diesel::insert_into(pending_imports::table)
        .values((
            pending_imports::id.eq(&id),
            pending_imports::kind.eq(kind.name()),
            pending_imports::source.eq(source),
            pending_imports::content.eq(bytes),
            pending_imports::created_at.eq(crate::db::now_unix()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A kept upload once applied: its kind, and how the import went.
pub type Applied = (Kind, Result<Outcome, ImportError>);

/// Applies a file kept by [`keep_pending`] and deletes it, or None when
/// there is no such file (expired, or applied already).
pub fn apply_pending(
    conn: &mut DbConnection,
    id: &str,
    then: Then,
) -> Result<Option<Applied>, AppError> {
    use crate::db::schema::pending_imports;
    let found: Option<(String, String, Vec<u8>)> = pending_imports::table
        .find(id)
        .filter(pending_imports::created_at.ge(crate::db::now_unix() - PENDING_SECS))
        .select((
            pending_imports::kind,
            pending_imports::source,
            pending_imports::content,
        ))
        .get_result(conn)
        .optional()?;
    let Some((kind, source, bytes)) = found else {
        return Ok(None);
    };
    let kind = Kind::from_name(&kind)
        .ok_or_else(|| AppError::damaged(format!("a kept upload of unknown kind {kind}")))?;
    let outcome = import_then(conn, kind, &source, &bytes, false, then);
    diesel::delete(pending_imports::table.find(id)).execute(conn)?;
    Ok(Some((kind, outcome)))
}

/// How long an HR file uploaded on the administrator page waits for its
/// confirmation before it is deleted.
pub const PENDING_SECS: i64 = 3600;

/// Deletes uploaded HR files older than [`PENDING_SECS`]: `serve` calls it
/// every few seconds, so personal data does not linger.
pub fn sweep_pending(conn: &mut DbConnection) -> diesel::QueryResult<usize> {
    use crate::db::schema::pending_imports;
    use diesel::prelude::*;
    diesel::delete(
        pending_imports::table
            .filter(pending_imports::created_at.lt(crate::db::now_unix() - PENDING_SECS)),
    )
    .execute(conn)
}
