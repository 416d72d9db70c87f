//! The record of processing (GDPR art. 30; the material of a municipality's
//! protocol and DPIA): what naervaer stores, about whom, why, where and for
//! how long, who may see what, and the anonymity rules — generated from the
//! running configuration, the access rules ([`crate::access::matrix`]) and
//! a few counts, so that it changes when they do. One model ([`Record`]),
//! rendered as a page for administrators and as Markdown.

use crate::access::{self, Reach, Role};
use crate::config::Settings;
use crate::db::schema::{employees, rounds, units};
use crate::db::DbConnection;
use crate::lang::Lang;
use crate::AppError;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub title: String,
    /// Under the title: where it comes from, what the municipality adds.
    pub preface: Vec<String>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// An anchor, the same in every language.
    pub id: &'static str,
    pub heading: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    List(Vec<String>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

/// What the record reads from the database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// The top unit's name ("" when nothing is imported).
    pub organisation: String,
    pub employees: i64,
    pub rounds: i64,
    /// Rounds that raised k: (title, k).
    pub raised_k: Vec<(String, u32)>,
}

pub fn facts(conn: &mut DbConnection, settings: &Settings) -> Result<Facts, AppError> {
    let organisation: Option<String> = units::table
        .filter(units::parent_id.is_null())
        .order(units::code)
        .select(units::name)
        .first(conn)
        .optional()?;
    let raised: Vec<(String, i32)> = rounds::table
        .filter(rounds::min_group_size.gt(settings.min_group_size as i32))
        .order(rounds::created_at)
        .select((rounds::title, rounds::min_group_size))
        .load(conn)?;
    Ok(Facts {
        organisation: organisation.unwrap_or_default(),
        employees: employees::table.count().get_result(conn)?,
        rounds: rounds::table.count().get_result(conn)?,
        raised_k: raised
            .into_iter()
            .map(|(t, k)| (t, k.max(0) as u32))
            .collect(),
    })
}

/// The record as the database and settings are now.
pub fn load(conn: &mut DbConnection, settings: &Settings, lang: Lang) -> Result<Record, AppError> {
    let f = facts(conn, settings)?;
    Ok(record(settings, &f, lang, crate::rounds::today()))
}

fn t(l: Lang, nb: &str, nn: &str, en: &str) -> String {
    l.pick(nb, nn, en).to_string()
}

/// The host of a URL, without user, password, path or query.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_string()
}

pub fn record(s: &Settings, f: &Facts, l: Lang, today: chrono::NaiveDate) -> Record {
    let org = if f.organisation.is_empty() {
        t(l, "kommunen", "kommunen", "the municipality")
    } else {
        f.organisation.clone()
    };
    Record {
        title: format!(
            "{} – naervaer, {org}",
            l.pick(
                "Protokoll over behandling av personopplysninger",
                "Protokoll over behandling av personopplysningar",
                "Record of processing of personal data",
            )
        ),
        preface: vec![
            format!(
                "{} {}. {}",
                l.pick(
                    "Laget av naervaer",
                    "Laga av naervaer",
                    "Made by naervaer",
                ),
                today.format("%d.%m.%Y"),
                l.pick(
                    "Alt under kommer fra innstillingene og tilgangsreglene som gjelder nå; endres de, endres protokollen.",
                    "Alt under kjem frå innstillingane og tilgangsreglane som gjeld no; blir dei endra, blir protokollen endra.",
                    "Everything below comes from the settings and access rules in force now; when they change, so does this record.",
                )
            ),
            t(
                l,
                "Kommunen fyller selv inn behandlingsgrunnlaget, personvernombudets kontaktopplysninger og databehandleravtaler (drift, e-post) i sin egen protokoll og DPIA.",
                "Kommunen fyller sjølv inn behandlingsgrunnlaget, kontaktopplysningane til personvernombodet og databehandlaravtalar (drift, e-post) i sin eigen protokoll og DPIA.",
                "The municipality adds the lawful basis, the data protection officer's contact details and the processor agreements (operations, e-mail) in its own record and DPIA.",
            ),
        ],
        sections: vec![
            purposes(s, f, l, &org),
            stored(s, l),
            who_sees(l),
            anonymity(s, f, l),
            security(s, l),
            settings_used(s, l),
            residual(l),
        ],
    }
}

fn purposes(s: &Settings, f: &Facts, l: Lang, org: &str) -> Section {
    Section {
        id: "formal",
        heading: t(l, "Behandlingsansvarlig og formål", "Behandlingsansvarleg og føremål", "Controller and purposes"),
        blocks: vec![
            Block::Table {
                head: vec![t(l, "Punkt", "Punkt", "Item"), t(l, "Innhold", "Innhald", "Content")],
                rows: vec![
                    vec![t(l, "Behandlingsansvarlig", "Behandlingsansvarleg", "Controller"), org.to_string()],
                    vec![t(l, "Kontakt for de ansatte", "Kontakt for dei tilsette", "Contact for employees"), s.contact.clone()],
                    vec![
                        t(l, "Formål", "Føremål", "Purposes"),
                        t(
                            l,
                            "Anonyme medarbeiderundersøkelser (10-FAKTOR) for å bedre arbeidsmiljøet; oppfølging av sykefravær per enhet (IA-arbeid) og av tiltak.",
                            "Anonyme medarbeidarundersøkingar (10-FAKTOR) for å betre arbeidsmiljøet; oppfølging av sjukefråvær per eining (IA-arbeid) og av tiltak.",
                            "Anonymous employee surveys (10-FAKTOR) to improve the working environment; following up sickness absence per unit (inclusive working life) and measures.",
                        ),
                    ],
                    vec![
                        t(l, "Omfang nå", "Omfang no", "Scope now"),
                        format!(
                            "{} {}, {} {}",
                            f.employees,
                            l.pick("personer i ansattregisteret", "personar i tilsettregisteret", "people in the employee register"),
                            f.rounds,
                            l.pick("undersøkelsesrunder", "undersøkingsrundar", "survey rounds"),
                        ),
                    ],
                ],
            },
        ],
    }
}

fn stored(s: &Settings, l: Lang) -> Section {
    let employee_days = s.employee_retention_days;
    let people = format!(
        "{} {employee_days} {}",
        l.pick(
            "Så lenge personen står i HR-fila. Borte fra fila: alle roller tas bort med en gang, og",
            "Så lenge personen står i HR-fila. Borte frå fila: alle roller blir tekne bort med ein gong, og",
            "While the person is in the HR file. Gone from the file: every role goes at once, and",
        ),
        l.pick(
            "dager senere slettes personen (pseudonymiseres der en runde ennå viser til den).",
            "dagar seinare blir personen sletta (pseudonymisert der ein runde framleis viser til han).",
            "days later the person is deleted (pseudonymised where a round still refers to them).",
        )
    );
    let invitations = if s.retention_days == 0 {
        t(
            l,
            "Til runden lukkes; da gjøres de om til antall per enhet, og ingenting viser lenger hvem som svarte.",
            "Til runden blir lukka; då blir dei gjorde om til tal per eining, og ingenting viser lenger kven som svarte.",
            "Until the round closes; then they become counts per unit, and nothing records any more who answered.",
        )
    } else {
        format!(
            "{} {} {}",
            l.pick("Til", "Til", "Until"),
            s.retention_days,
            l.pick(
                "dager etter at runden er lukket; da gjøres de om til antall per enhet, og ingenting viser lenger hvem som svarte.",
                "dagar etter at runden er lukka; då blir dei gjorde om til tal per eining, og ingenting viser lenger kven som svarte.",
                "days after the round closed; then they become counts per unit, and nothing records any more who answered.",
            )
        )
    };
    let k = s.min_group_size;
    let coarsened = format!(
            "{} k = {k}{}",
            l.pick(
                "Mens runden er åpen: med respondentens enhet. Ved lukking: flyttet til den minste publiserte gruppen med minst",
                "Medan runden er open: med eininga til respondenten. Ved lukking: flytta til den minste publiserte gruppa med minst",
                "While the round is open: with the respondent's unit. At close: moved to the smallest published group of at least",
            ),
            l.pick(
                " svar; bakgrunnssvar i celler med færre enn k svar slettes.",
                " svar; bakgrunnssvar i celler med færre enn k svar blir sletta.",
                " answers; background answers in cells of fewer than k are deleted.",
            )
        );
    let responses = format!(
        "{coarsened} {}",
        match s.response_retention_days {
            Some(d) => format!(
                "{} {d} {}",
                l.pick("Slettes", "Blir sletta", "Deleted"),
                l.pick(
                    "dager etter lukking (resultatene står i det frosne sammendraget).",
                    "dagar etter lukking (resultata står i det frosne samandraget).",
                    "days after close (the results stay in the frozen summary).",
                )
            ),
            None => t(
                l,
                "Beholdes slik, for sammenligninger og nye analyser (NAERVAER_RESPONSE_RETENTION_DAYS sletter dem).",
                "Blir haldne slik, for samanlikningar og nye analysar (NAERVAER_RESPONSE_RETENTION_DAYS slettar dei).",
                "Kept so, for comparisons and new analyses (NAERVAER_RESPONSE_RETENTION_DAYS deletes them).",
            ),
        }
    );
    let absence = if s.absence_retention_years == 0 {
        t(l, "Beholdes.", "Blir haldne.", "Kept.")
    } else {
        format!(
            "{} {} {}",
            l.pick("Slettes", "Blir sletta", "Deleted"),
            s.absence_retention_years,
            l.pick(
                "år etter at perioden sluttet.",
                "år etter at perioden slutta.",
                "years after the period ended.",
            )
        )
    };
    let outbox = match (&s.outbox_dir, &s.smtp_url) {
        (Some(dir), _) => format!(
            "{} {}",
            l.pick(
                "Databasen (outbox); e-postene som filer i",
                "Databasen (outbox); e-postane som filer i",
                "The database (outbox); the e-mails as files in"
            ),
            dir.display()
        ),
        (None, Some(url)) => format!(
            "{} {}",
            l.pick(
                "Databasen (outbox); e-postreléet",
                "Databasen (outbox); e-postreléet",
                "The database (outbox); the mail relay"
            ),
            host(url.expose())
        ),
        (None, None) => t(
            l,
            "Databasen (outbox); ingen e-post sendes (ikke satt opp)",
            "Databasen (outbox); ingen e-post blir send (ikkje sett opp)",
            "The database (outbox); no e-mail is sent (not configured)",
        ),
    };
    let outbox = match (&s.outbox_dir, &s.sms_url) {
        (None, Some(url)) => format!(
            "{outbox}; {} {}",
            l.pick("SMS-tjenesten", "SMS-tenesta", "the SMS provider"),
            host(url.expose())
        ),
        _ => outbox,
    };
    let database = format!(
        "{} ({})",
        l.pick("Databasen", "Databasen", "The database"),
        crate::config::Backend::from_url(s.database_url.expose())
            .map(|b| b.name())
            .unwrap_or("?")
    );
    let db = |tables: &str| format!("{database}: {tables}");
    let metrics = match (&s.metrics_bind, &s.metrics_token) {
        (None, None) => t(l, "Av.", "Av.", "Off."),
        (Some(b), _) => format!("/metrics {} {b}", l.pick("på", "på", "on")),
        (None, Some(_)) => t(
            l,
            "/metrics bak nøkkel (bearer token)",
            "/metrics bak nøkkel (bearer token)",
            "/metrics behind a bearer token",
        ),
    };
    let row = |what: String, whom: String, place: String, how_long: String| {
        vec![what, whom, place, how_long]
    };
    Section {
        id: "lagring",
        heading: t(l, "Hva som lagres, om hvem, hvor og hvor lenge", "Kva som blir lagra, om kven, kvar og kor lenge", "What is stored, about whom, where and for how long"),
        blocks: vec![Block::Table {
            head: vec![
                t(l, "Opplysninger", "Opplysningar", "Data"),
                t(l, "Om hvem", "Om kven", "About whom"),
                t(l, "Hvor", "Kvar", "Where"),
                t(l, "Hvor lenge", "Kor lenge", "For how long"),
            ],
            rows: vec![
                row(
                    t(l, "Ansattnummer, navn, e-post, mobilnummer, enhet, språk, roller (leder, verneombud og tillitsvalgt med enhetene de representerer, AMU, administrator)", "Tilsettnummer, namn, e-post, mobilnummer, eining, språk, roller (leiar, verneombod og tillitsvald med einingane dei representerer, AMU, administrator)", "Employee number, name, e-mail, mobile number, unit, language, roles (leader, safety and union representatives with the units they represent, AMU, administrator)"),
                    t(l, "Ansatte i HR-fila", "Tilsette i HR-fila", "Employees in the HR file"),
                    db("employees, unit_leaders, unit_representatives, employee_roles"),
                    people,
                ),
                row(
                    t(l, "Invitasjoner: hvem som er invitert, om de har svart (ja/nei), antall påminnelser – aldri hva de svarte", "Invitasjonar: kven som er inviterte, om dei har svart (ja/nei), tal på påminningar – aldri kva dei svarte", "Invitations: who is invited, whether they answered (yes/no), reminders sent – never what they answered"),
                    t(l, "De inviterte", "Dei inviterte", "The invited"),
                    db("invitations"),
                    invitations.clone(),
                ),
                row(
                    t(l, "E-postadresse eller mobilnummer og type melding (invitasjon, påminnelse, resultatene er klare); teksten og lenken lages ved sending og lagres ikke", "E-postadresse eller mobilnummer og type melding (invitasjon, påminning, resultata er klare); teksten og lenkja blir laga ved sending og blir ikkje lagra", "E-mail address or mobile number and kind of message (invitation, reminder, the results are ready); the text and the link are made when sending and not stored"),
                    t(l, "De inviterte", "Dei inviterte", "The invited"),
                    outbox,
                    t(l, "Som invitasjonene; meldingen om at resultatene er klare til den er sendt.", "Som invitasjonane; meldinga om at resultata er klare til ho er send.", "As the invitations; the message that the results are ready until it is sent."),
                ),
                row(
                    t(l, "Svar og bakgrunnssvar, med runde og enhet – ingen person, intet tidspunkt", "Svar og bakgrunnssvar, med runde og eining – ingen person, ikkje noko tidspunkt", "Answers and background answers, with round and unit – no person, no time"),
                    t(l, "Anonyme respondenter", "Anonyme respondentar", "Anonymous respondents"),
                    db("responses"),
                    responses,
                ),
                row(
                    t(l, "Antall svar per enhet og dag", "Tal på svar per eining og dag", "Answers per unit and day"),
                    t(l, "Ingen enkeltperson", "Ingen enkeltperson", "No individual"),
                    db("daily_counts"),
                    t(l, "Som runden.", "Som runden.", "As the round."),
                ),
                row(
                    t(l, "Frosne resultater: bare tall for grupper med minst k svar", "Frosne resultat: berre tal for grupper med minst k svar", "Frozen results: figures only for groups of at least k"),
                    t(l, "Ingen enkeltperson", "Ingen enkeltperson", "No individual"),
                    db("snapshots, snapshot_scores"),
                    t(l, "Beholdes (rundens resultater).", "Blir haldne (resultata til runden).", "Kept (the round's results)."),
                ),
                row(
                    t(l, "Sykefravær per enhet og periode (avtalte og tapte dagsverk, egenmeldt/legemeldt)", "Sjukefråvær per eining og periode (avtalte og tapte dagsverk, eigenmeldt/legemeldt)", "Sickness absence per unit and period (agreed and lost days, self-/doctor-certified)"),
                    t(l, "De ansatte i enheten, som summer; i små enheter nær helseopplysninger om én person – vises derfor bare for grupper med minst k", "Dei tilsette i eininga, som summar; i små einingar nær helseopplysningar om éin person – blir difor berre viste for grupper med minst k", "The unit's employees, as sums; in small units close to health data about one person – so shown only for groups of at least k"),
                    db("absence, absence_series"),
                    absence,
                ),
                row(
                    t(l, "Innloggingslenker (bare som hash) og økter", "Innloggingslenkjer (berre som hash) og økter", "Sign-in links (only as a hash) and sessions"),
                    t(l, "Ledere, AMU-medlemmer, administratorer", "Leiarar, AMU-medlemmer, administratorar", "Leaders, AMU members, administrators"),
                    db("login_tokens, sessions"),
                    format!(
                        "{} {} {}, {} {} {}",
                        l.pick("Lenker", "Lenkjer", "Links"),
                        crate::auth::LINK_MINUTES,
                        l.pick("minutter", "minutt", "minutes"),
                        l.pick("økter", "økter", "sessions"),
                        crate::auth::SESSION_HOURS,
                        l.pick("timer; slettes med personen.", "timar; blir sletta med personen.", "hours; deleted with the person."),
                    ),
                ),
                row(
                    t(l, "Tiltak: tekst, ansvarlig (fritekst), frist, status", "Tiltak: tekst, ansvarleg (fritekst), frist, status", "Measures: text, responsible (free text), due date, status"),
                    t(l, "Ledere, og den som står som ansvarlig", "Leiarar, og den som står som ansvarleg", "Leaders, and whoever is named responsible"),
                    db("action_items"),
                    t(l, "Beholdes.", "Blir haldne.", "Kept."),
                ),
                row(
                    t(l, "Logg: metode, rute (hemmelige deler fjernet), status, tid – aldri spørrestreng, token, kode, e-postadresse eller IP-adresse", "Logg: metode, rute (løyndelar fjerna), status, tid – aldri spørjestreng, token, kode, e-postadresse eller IP-adresse", "Log: method, route (secret parts removed), status, time – never a query string, token, code, e-mail address or IP address"),
                    t(l, "Brukerne av tjenesten", "Brukarane av tenesta", "The service's users"),
                    t(l, "Prosessens standard error (journal eller containerlogg)", "Standard error frå prosessen (journal eller containerlogg)", "The process's standard error (journal or container log)"),
                    t(l, "Driftens loggrutiner.", "Loggrutinane til drifta.", "The operator's log routine."),
                ),
                row(
                    t(l, "IP-adresser som har skrevet feil engangskode eller bedt om innloggingslenke", "IP-adresser som har skrive feil eingongskode eller bede om innloggingslenkje", "IP addresses that entered a wrong one-time code or asked for a sign-in link"),
                    t(l, "Brukerne av tjenesten", "Brukarane av tenesta", "The service's users"),
                    t(l, "Prosessens minne (ikke på disk)", "Minnet til prosessen (ikkje på disk)", "The process's memory (not on disk)"),
                    format!("{} {}", crate::auth::LIMIT_WINDOW.as_secs() / 60, l.pick("minutter.", "minutt.", "minutes.")),
                ),
                row(
                    t(l, "Måltall: antall og tider – ingen person, enhet eller token", "Måltal: tal og tider – ingen person, eining eller token", "Metrics: counts and times – no person, unit or token"),
                    t(l, "Ingen enkeltperson", "Ingen enkeltperson", "No individual"),
                    metrics,
                    t(l, "Overvåkingens rutiner.", "Rutinane til overvakinga.", "The monitoring's routine."),
                ),
                row(
                    t(l, "Sikkerhetskopier av hele databasen", "Tryggingskopiar av heile databasen", "Backups of the whole database"),
                    t(l, "Alle over", "Alle over", "All of the above"),
                    t(l, "Der driften legger dem (naervaer backup, pg_dump)", "Der drifta legg dei (naervaer backup, pg_dump)", "Wherever operations keep them (naervaer backup, pg_dump)"),
                    t(l, "Driftens rotasjon – ikke lenger enn fristene over, ellers lever slettede opplysninger videre i kopiene.", "Rotasjonen til drifta – ikkje lenger enn fristane over, elles lever sletta opplysningar vidare i kopiane.", "The operator's rotation – no longer than the periods above, or deleted data lives on in the copies."),
                ),
            ],
        }],
    }
}

fn reach(l: Lang, r: Reach) -> String {
    match r {
        Reach::Nothing => "–".into(),
        Reach::OwnUnits => t(
            l,
            "Egne enheter og alt under dem",
            "Eigne einingar og alt under dei",
            "Their own units and everything below them",
        ),
        Reach::Everything => t(l, "Alle enheter", "Alle einingar", "Every unit"),
    }
}

fn yes_no(l: Lang, b: bool) -> String {
    if b {
        t(l, "Ja", "Ja", "Yes")
    } else {
        "–".into()
    }
}

fn who_sees(l: Lang) -> Section {
    let mut rows = vec![
        vec![
            t(l, "Respondent", "Respondent", "Respondent"),
            t(
                l,
                "Bare sitt eget skjema (lenke eller kode), til det er sendt; etter lukking de viste resultatene for sin gruppe, eller nærmeste viste gruppe over den, gjennom lenken i meldingen om at resultatene er klare",
                "Berre sitt eige skjema (lenkje eller kode), til det er sendt; etter lukking dei viste resultata for si gruppe, eller næraste viste gruppe over henne, gjennom lenkja i meldinga om at resultata er klare",
                "Only their own questionnaire (link or code), until sent; after close the released results of their group, or the nearest shown group above it, through the link in the message that the results are ready",
            ),
            "–".into(),
            "–".into(),
            "–".into(),
            "–".into(),
            "–".into(),
        ],
        vec![
            t(l, "Ikke innlogget", "Ikkje innlogga", "Not signed in"),
            t(
                l,
                "Bare de offentlige sidene",
                "Berre dei opne sidene",
                "Only the public pages",
            ),
            "–".into(),
            "–".into(),
            "–".into(),
            "–".into(),
            "–".into(),
        ],
    ];
    for r in access::matrix() {
        rows.push(vec![
            match r.role {
                Role::Leader => t(l, "Leder", "Leiar", "Leader"),
                Role::Representative => t(
                    l,
                    "Verneombud, tillitsvalgt",
                    "Verneombod, tillitsvald",
                    "Safety or union representative",
                ),
                Role::Amu => t(l, "AMU-medlem", "AMU-medlem", "AMU member"),
                Role::Admin => t(l, "Administrator", "Administrator", "Administrator"),
            },
            reach(l, r.results),
            reach(l, r.plans),
            reach(l, r.follow_up),
            reach(l, r.edit_follow_up),
            yes_no(l, r.overview),
            yes_no(l, r.administration),
        ]);
    }
    Section {
        id: "tilgang",
        heading: t(l, "Hvem ser hva", "Kven ser kva", "Who sees what"),
        blocks: vec![
            Block::Table {
                head: vec![
                    t(l, "Rolle", "Rolle", "Role"),
                    t(l, "Resultater (grupper med minst k svar)", "Resultat (grupper med minst k svar)", "Results (groups of at least k)"),
                    t(l, "Skrive tiltak", "Skrive tiltak", "Write measures"),
                    t(l, "Oppfølging: måltall, redegjørelser, tiltak, effekt", "Oppfølging: måltal, utgreiingar, tiltak, effekt", "Follow-up: targets, accounts, measures, effects"),
                    t(l, "Sette måltall, registrere tiltak", "Setje måltal, registrere tiltak", "Set targets, enter measures"),
                    t(l, "AMU-analyse, fravær, alle tiltak", "AMU-analyse, fråvær, alle tiltak", "AMU analysis, absence, all measures"),
                    t(l, "Administrasjon (runder, import, utsending)", "Administrasjon (rundar, import, utsending)", "Administration (rounds, imports, sending)"),
                ],
                rows,
            },
            Block::Text(t(
                l,
                "Rollene kommer fra HR-fila og gjelder fra neste forespørsel etter en ny import. Roller legges sammen. Ingen rolle ser et enkelt svar.",
                "Rollene kjem frå HR-fila og gjeld frå neste førespurnad etter ein ny import. Roller blir lagde saman. Ingen rolle ser eit enkelt svar.",
                "Roles come from the HR file and apply from the next request after an import. Roles add up. No role sees a single answer.",
            )),
        ],
    }
}

fn anonymity(s: &Settings, f: &Facts, l: Lang) -> Section {
    let k = s.min_group_size;
    let mut list = vec![
        format!(
            "{} k = {k} {}",
            l.pick("Minste gruppestørrelse:", "Minste gruppestorleik:", "Minimum group size:"),
            l.pick(
                "(aldri under 3). Et tall om en gruppe vises bare når minst k har svart – også i eksport og API.",
                "(aldri under 3). Eit tal om ei gruppe blir berre vist når minst k har svart – også i eksport og API.",
                "(never below 3). A figure about a group is shown only when at least k answered – in exports and the API too.",
            )
        ),
        t(l, "Ingen resultater før runden er lukket; da fryses de, og endres senere bare ved å skjule mer.", "Ingen resultat før runden er lukka; då blir dei frosne, og blir seinare berre endra ved å skjule meir.", "No results before the round closes; then they are frozen, and later change only by hiding more."),
        t(l, "Vern mot differanser: er en overordnet gruppe og noen av undergruppene vist, er resten også minst k, ellers skjules mer.", "Vern mot differansar: er ei overordna gruppe og nokre av undergruppene viste, er resten òg minst k, elles blir meir skjult.", "Protection against differencing: where a group and some of its subgroups are shown, the rest is at least k too, or more is hidden."),
        t(l, "Bakgrunnsspørsmål vises bare i celler med minst k svar.", "Bakgrunnsspørsmål blir berre viste i celler med minst k svar.", "Background questions are shown only in cells of at least k."),
        t(l, "Svar kan ikke knyttes til personer: svaret lagres uten person, tidspunkt eller token; invitasjonen har bare «har svart».", "Svar kan ikkje knytast til personar: svaret blir lagra utan person, tidspunkt eller token; invitasjonen har berre «har svart».", "Answers cannot be linked to people: an answer is stored without person, time or token; the invitation only holds «has answered»."),
        t(l, "I databasen etter lukking: ingen lagret svar kan føres tilbake til færre enn k personer.", "I databasen etter lukking: ingen lagra svar kan førast tilbake til færre enn k personar.", "In the database after close: no stored answer can be traced to fewer than k people."),
    ];
    for (title, rk) in &f.raised_k {
        list.push(format!(
            "{} «{title}»: k = {rk}.",
            l.pick(
                "Høyere k for runden",
                "Høgare k for runden",
                "Higher k for the round"
            ),
        ));
    }
    Section {
        id: "anonymitet",
        heading: t(
            l,
            "Anonymitetsreglene",
            "Anonymitetsreglane",
            "The anonymity rules",
        ),
        blocks: vec![Block::List(list)],
    }
}

fn security(s: &Settings, l: Lang) -> Section {
    let mut list = vec![
        format!(
            "{} {} {} {} {}",
            l.pick("Lenkene i e-postene har", "Lenkjene i e-postane har", "The links in the e-mails carry"),
            crate::crypto::TOKEN_LEN * 5,
            l.pick("tilfeldige bit, papirkodene", "tilfeldige bit, papirkodane", "random bits, the paper codes"),
            crate::crypto::CODE_LEN * 5,
            l.pick(
                "(sammen med grensen for feil koder under); de utledes av den hemmelige nøkkelen når de trengs, og bare en hash lagres.",
                "(saman med grensa for feil kodar under); dei blir utleidde av den løynlege nøkkelen når dei trengst, og berre ein hash blir lagra.",
                "(with the limit on wrong codes below); they are derived from the secret key when needed, and only a hash is stored.",
            )
        ),
        t(l, "Innlogging med engangslenke på e-post; økten i en HttpOnly-informasjonskapsel; skjemaer krever CSRF-nøkkel; streng innholdssikkerhetspolicy.", "Innlogging med eingongslenkje på e-post; økta i ein HttpOnly-informasjonskapsel; skjema krev CSRF-nøkkel; streng innhaldstryggleikspolicy.", "Sign-in by a one-time link by e-mail; the session in an HttpOnly cookie; forms need a CSRF token; a strict content security policy."),
        format!(
            "{} {} {} {}",
            l.pick("Feil engangskoder begrenses til", "Feil eingongskodar blir avgrensa til", "Wrong one-time codes are limited to"),
            crate::auth::CODE_FAILURES_PER_CLIENT,
            l.pick(
                "per adresse per",
                "per adresse per",
                "per address per",
            ),
            format!(
                "{} {}",
                crate::auth::LIMIT_WINDOW.as_secs() / 60,
                l.pick(
                    "minutter; riktige koder teller aldri (felles nettbrett og NAT stenges ikke ute).",
                    "minutt; rette kodar tel aldri (felles nettbrett og NAT blir ikkje stengde ute).",
                    "minutes; valid codes never count (shared tablets and NAT are not locked out).",
                )
            )
        ),
    ];
    if !s.base_url.starts_with("https://") {
        list.push(format!(
            "{} NAERVAER_BASE_URL = {} {}",
            l.pick("Merk:", "Merk:", "Note:"),
            s.base_url,
            l.pick(
                "er ikke https. Lenkene i e-postene bør gå over TLS.",
                "er ikkje https. Lenkjene i e-postane bør gå over TLS.",
                "is not https. The links in the e-mails should go over TLS.",
            )
        ));
    }
    Section {
        id: "sikkerhet",
        heading: t(l, "Sikkerhet", "Tryggleik", "Security"),
        blocks: vec![Block::List(list)],
    }
}

fn settings_used(s: &Settings, l: Lang) -> Section {
    let show = [
        "NAERVAER_MIN_GROUP_SIZE",
        "NAERVAER_RETENTION_DAYS",
        "NAERVAER_RESPONSE_RETENTION_DAYS",
        "NAERVAER_EMPLOYEE_RETENTION_DAYS",
        "NAERVAER_ABSENCE_RETENTION_YEARS",
        "NAERVAER_DATABASE_URL",
        "NAERVAER_SMTP_URL",
        "NAERVAER_OUTBOX_DIR",
        "NAERVAER_BASE_URL",
        "NAERVAER_TRUSTED_PROXIES",
        "NAERVAER_METRICS_BIND",
        "NAERVAER_METRICS_TOKEN",
    ];
    let rows = s
        .describe()
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(k, _)| show.contains(k))
        .map(|(k, v)| vec![k.to_string(), v.to_string()])
        .collect();
    Section {
        id: "innstillinger",
        heading: t(
            l,
            "Innstillingene protokollen bygger på",
            "Innstillingane protokollen byggjer på",
            "The settings this record is made from",
        ),
        blocks: vec![Block::Table {
            head: vec![
                t(l, "Innstilling", "Innstilling", "Setting"),
                t(l, "Verdi", "Verdi", "Value"),
            ],
            rows,
        }],
    }
}

fn residual(l: Lang) -> Section {
    Section {
        id: "restrisiko",
        heading: t(l, "Gjenværende risiko", "Attverande risiko", "Residual risks"),
        blocks: vec![Block::List(vec![
            t(l, "Den som styrer nettverket eller logger foran tjenesten, kan se hvem som åpnet en undersøkelsesside når.", "Den som styrer nettverket eller loggar framfor tenesta, kan sjå kven som opna ei undersøkingsside når.", "Whoever controls the network or logs in front of the service can see who opened a survey page when."),
            t(l, "Eldre sikkerhetskopier har svarene slik de var før lukking.", "Eldre tryggingskopiar har svara slik dei var før lukking.", "Older backups hold the answers as they were before close."),
            t(l, "Bakgrunnssvar i en svært liten organisasjon kan fortsatt snevre inn; minste gruppestørrelse er grensen for hva tall kan love.", "Bakgrunnssvar i ein svært liten organisasjon kan framleis snevre inn; minste gruppestorleik er grensa for kva tal kan love.", "Background answers in a very small organisation can still narrow people down; the minimum group size is the limit of what figures can promise."),
            t(l, "Mens en runde er åpen, viser invitasjonen hvem som har svart (ikke hva) – det trengs for påminnelser.", "Medan ein runde er open, viser invitasjonen kven som har svart (ikkje kva) – det trengst for påminningar.", "While a round is open, the invitation shows who has answered (not what) – reminders need it."),
        ])],
    }
}

impl Record {
    /// The record as Markdown: for the municipality's own documents.
    pub fn to_markdown(&self) -> String {
        let cell = |c: &str| c.replace('|', "\\|").replace('\n', " ");
        let mut out = format!("# {}\n\n", self.title);
        for p in &self.preface {
            out += &format!("{p}\n\n");
        }
        for s in &self.sections {
            out += &format!("## {}\n\n", s.heading);
            for b in &s.blocks {
                match b {
                    Block::Text(t) => out += &format!("{t}\n\n"),
                    Block::List(items) => {
                        for i in items {
                            out += &format!("- {i}\n");
                        }
                        out += "\n";
                    }
                    Block::Table { head, rows } => {
                        out += &format!(
                            "| {} |\n|{}\n",
                            head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "),
                            "---|".repeat(head.len())
                        );
                        for r in rows {
                            out += &format!(
                                "| {} |\n",
                                r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                            );
                        }
                        out += "\n";
                    }
                }
            }
        }
        out
    }
}
