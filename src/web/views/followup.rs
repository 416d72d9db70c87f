//! The follow-up pages: the viewer's units against their targets, one
//! unit's follow-up (absence beside its targets and the national level,
//! targets, accounts, measures and their effects), the units above target
//! for AMU, the written account's form, the register of measures and the
//! effect of measures. Only released figures reach these views.

use super::results::signed;
use crate::access::Viewer;
use crate::analysis::summary::{num, pct};
use crate::followup::accounts::{self, Account};
use crate::followup::effect::{self, TypeEffect};
use crate::followup::measures::{Measure, MeasureType, Status};
use crate::followup::standing::Standing;
use crate::followup::targets::{Kind, Value};
use crate::followup::view::{Above, Home, UnitView};
use crate::lang::Lang;
use crate::stats::effect::NoEstimate;
use chrono::NaiveDate;
use maud::{html, Markup};

/// The name of a table that scrolls sideways on a phone: such a region
/// must be reachable with the keyboard.
fn scroll_label(l: Lang) -> &'static str {
    l.pick(
        "Tabell (kan rulles sideveis)",
        "Tabell (kan rullast sidelengs)",
        "Table (scrolls sideways)",
    )
}

fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn period(p: (NaiveDate, NaiveDate)) -> String {
    format!("{}–{}", date(p.0), date(p.1))
}

fn iso(s: &str) -> String {
    NaiveDate::parse_from_str(s, crate::db::models::DATE_FORMAT)
        .map(date)
        .unwrap_or_else(|_| s.to_string())
}

fn type_name<'a>(types: &'a [MeasureType], key: &'a str, l: Lang) -> &'a str {
    types
        .iter()
        .find(|t| t.key == key)
        .map_or(key, |t| t.name(l))
}

fn factor_name(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).replace('_', " ")
}

fn standing_text(s: &Standing, l: Lang) -> Markup {
    html! {
        @if s.above {
            strong.key-above { (l.pick("Over målet", "Over målet", "Above target")) }
        } @else {
            (l.pick("Innenfor målet", "Innanfor målet", "Within target"))
        }
        " (" (pct(s.rate, l)) " / " (l.pick("mål", "mål", "target")) " " (pct(s.target, l))
        @if s.national { " " (l.pick("– nasjonalt nivå", "– nasjonalt nivå", "– national level")) }
        ")"
    }
}

/// The menu of the follow-up pages.
fn nav(l: Lang, viewer: &Viewer) -> Markup {
    html! {
        nav.nav aria-label=(l.pick("Oppfølging", "Oppfølging", "Follow-up")) {
            a href={ "/oppfolging?lang=" (l.code()) } { (l.pick("Mine enheter", "Mine einingar", "My units")) }
            a href={ "/tiltak?lang=" (l.code()) } { (l.pick("Tiltaksregister", "Tiltaksregister", "Register of measures")) }
            @if viewer.sees_everything() {
                a href={ "/oppfolging/over-mal?lang=" (l.code()) } { (l.pick("Over måltall", "Over måltal", "Above target")) }
                a href={ "/tiltak/effekt?lang=" (l.code()) } { (l.pick("Effekt av tiltak", "Effekt av tiltak", "Effect of measures")) }
                a href={ "/oppfolging/rapporter?lang=" (l.code()) } { (l.pick("Rapporter", "Rapportar", "Reports")) }
            }
        }
    }
}

/// `/oppfolging`.
pub fn home(l: Lang, viewer: &Viewer, h: &Home, checked: Option<&str>) -> Markup {
    let title = l.pick(
        "Nærværsoppfølging",
        "Nærværsoppfølging",
        "Presence follow-up",
    );
    signed(
        l,
        title,
        viewer,
        "/oppfolging",
        html! {
            h1 { (title) }
            (nav(l, viewer))
            @if let Some(c) = checked { div.info role="status" { p { (c) } } }
            @match h.period {
                None => p { (l.pick(
                    "Ingen sykefravær er importert ennå. Når fraværet er importert, vises hver enhet mot måltallet her.",
                    "Ikkje noko sjukefråvær er importert enno. Når fråværet er importert, blir kvar eining vist mot måltalet her.",
                    "No sickness absence has been imported yet. Once it is, each unit is shown against its target here.")) },
                Some(p) => {
                    p { (l.pick("Siste periode med fravær:", "Siste periode med fråvær:", "Latest period with absence:")) " " strong { (period(p)) } "." }
                    @if let Some((q, rate)) = h.national {
                        p { (l.pick("Nasjonalt nivå (SSB, siste kvartal):", "Nasjonalt nivå (SSB, siste kvartal):", "National level (Statistics Norway, latest quarter):")) " " (pct(rate, l)) " (" (q.label()) ")." }
                    }
                    @if !h.open_accounts.is_empty() {
                        h2 { (l.pick("Redegjørelser som venter", "Utgreiingar som ventar", "Accounts waiting")) }
                        ul {
                            @for (name, a) in &h.open_accounts {
                                li { (name) ": " (a.kind().name(l)) " " (l.pick("– frist", "– frist", "– due")) " " (iso(&a.due_on)) }
                            }
                        }
                    }
                    div.table-scroll tabindex="0" role="region" aria-label=(scroll_label(l)) {
                        table {
                            caption { (l.pick("Sykefravær mot måltall", "Sjukefråvær mot måltal", "Sickness absence against targets")) }
                            thead { tr {
                                th scope="col" { (l.pick("Enhet", "Eining", "Unit")) }
                                th scope="col" { (l.pick("Fravær", "Fråvær", "Absence")) }
                                th scope="col" { (l.pick("Langtid", "Langtid", "Long-term")) }
                                th scope="col" { (l.pick("Mot måltall", "Mot måltal", "Against target")) }
                            } }
                            tbody {
                                @for u in &h.units {
                                    tr {
                                        th scope="row" class={ "depth-" (u.depth.min(6)) } {
                                            a href={ "/oppfolging/enheter/" (u.id) "?lang=" (l.code()) } { (u.name) }
                                        }
                                        @match &u.rates {
                                            Some(r) => {
                                                td { (pct(r.total, l)) }
                                                td { @if let Some(x) = r.long_term { (pct(x, l)) } @else { "–" } }
                                                td {
                                                    @if u.standings.is_empty() { (l.pick("ingen måltall", "ingen måltal", "no target")) }
                                                    @for s in &u.standings { div { (s.kind.name(l)) ": " (standing_text(s, l)) } }
                                                }
                                            }
                                            None => td colspan="3" { (l.pick(
                                                "For få ansatte til at fraværet kan vises; det teller med i enheten over.",
                                                "For få tilsette til at fråværet kan visast; det tel med i eininga over.",
                                                "Too few employees for the absence to be shown; it counts in the unit above.")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if viewer.sees_everything() {
                        form method="post" action={ "/oppfolging/sjekk?lang=" (l.code()) } {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button.primary type="submit" { (l.pick(
                                "Finn enheter over måltall og be om redegjørelser",
                                "Finn einingar over måltal og be om utgreiingar",
                                "Find units above target and ask for accounts")) }
                        }
                    }
                }
            }
        },
    )
}

fn target_value(v: Option<Value>, l: Lang) -> String {
    match v {
        Some(Value::Percent(p)) => pct(p, l),
        Some(Value::National) => l
            .pick("nasjonalt nivå", "nasjonalt nivå", "national level")
            .into(),
        None => "–".into(),
    }
}

fn status_select(l: Lang, id: &str, current: Option<Status>) -> Markup {
    html! {
        select id=(id) name="status" {
            @for s in Status::ALL {
                option value=(s.key()) selected[current == Some(s)] { (s.name(l)) }
            }
        }
    }
}

/// The form for a new measure (a unit's page, or the register).
pub fn measure_form(
    l: Lang,
    viewer: &Viewer,
    action: &str,
    types: &[MeasureType],
    factors: &[String],
    units: Option<&[(String, String)]>,
) -> Markup {
    html! {
        form.plan method="post" action=(action) {
            h3 { (l.pick("Nytt tiltak", "Nytt tiltak", "New measure")) }
            input type="hidden" name="csrf" value=(viewer.csrf);
            @if let Some(units) = units {
                div.field {
                    label for="unit" { (l.pick("Enhet", "Eining", "Unit")) }
                    select #unit name="unit" required {
                        @for (id, name) in units { option value=(id) { (name) } }
                    }
                }
            }
            div.field {
                label for="title" { (l.pick("Hva gjøres", "Kva blir gjort", "What is done")) }
                textarea #title name="title" rows="2" maxlength="2000" required {}
            }
            div.field {
                label for="type" { (l.pick("Type tiltak", "Type tiltak", "Type of measure")) }
                select #type name="type_key" required {
                    @for t in types { option value=(t.key) { (t.name(l)) } }
                }
            }
            div.field {
                label for="started_on" { (l.pick("Start", "Start", "Start")) }
                input #started_on type="date" name="started_on" required;
            }
            div.field {
                label for="ended_on" { (l.pick("Slutt (tom mens det pågår)", "Slutt (tom medan det pågår)", "End (empty while it goes on)")) }
                input #ended_on type="date" name="ended_on";
            }
            div.field {
                label for="responsible" { (l.pick("Ansvarlig", "Ansvarleg", "Responsible")) }
                input #responsible type="text" name="responsible" maxlength="200";
            }
            div.field {
                label for="status" { (l.pick("Status", "Status", "Status")) }
                (status_select(l, "status", Some(Status::Ongoing)))
            }
            div.field {
                label for="factor" { (l.pick("Faktor i undersøkelsen (valgfritt)", "Faktor i undersøkinga (valfritt)", "Survey factor (optional)")) }
                select #factor name="factor" {
                    option value="" { "–" }
                    @for f in factors { option value=(f) { (factor_name(f)) } }
                }
            }
            button.primary type="submit" { (l.pick("Lagre tiltaket", "Lagre tiltaket", "Save the measure")) }
        }
    }
}

fn measures_table(
    l: Lang,
    viewer: &Viewer,
    types: &[MeasureType],
    ms: &[Measure],
    editable: bool,
    unit_names: &dyn Fn(&Measure) -> String,
) -> Markup {
    html! {
        @if ms.is_empty() {
            p.hint { (l.pick("Ingen tiltak er registrert.", "Ingen tiltak er registrerte.", "No measures recorded.")) }
        } @else {
            div.table-scroll tabindex="0" role="region" aria-label=(scroll_label(l)) {
                table.plan {
                    thead { tr {
                        th scope="col" { (l.pick("Tiltak", "Tiltak", "Measure")) }
                        th scope="col" { (l.pick("Enhet", "Eining", "Unit")) }
                        th scope="col" { (l.pick("Type", "Type", "Type")) }
                        th scope="col" { (l.pick("Periode", "Periode", "Period")) }
                        th scope="col" { (l.pick("Ansvarlig", "Ansvarleg", "Responsible")) }
                        th scope="col" { (l.pick("Faktor", "Faktor", "Factor")) }
                        th scope="col" { (l.pick("Status", "Status", "Status")) }
                    } }
                    tbody {
                        @for m in ms {
                            tr {
                                th scope="row" { (m.title) }
                                td { (unit_names(m)) }
                                td { (type_name(types, &m.type_key, l)) }
                                td { (date(m.started_on)) "–" @if let Some(e) = m.ended_on { (date(e)) } }
                                td { (m.responsible) }
                                td { @if let Some(f) = &m.factor { (factor_name(f)) } @else { "–" } }
                                td {
                                    (m.status.name(l))
                                    @if editable {
                                        form.inline method="post" action={ "/oppfolging/tiltak/" (m.id) "/status?lang=" (l.code()) } {
                                            input type="hidden" name="csrf" value=(viewer.csrf);
                                            label.visually-hidden for={ "status-" (m.id) } { (l.pick("Ny status for ", "Ny status for ", "New status of ")) (m.title) }
                                            (status_select(l, &format!("status-{}", m.id), Some(m.status)))
                                            button.link type="submit" { (l.pick("Endre", "Endre", "Change")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn no_estimate(e: NoEstimate, l: Lang) -> &'static str {
    match e {
        NoEstimate::TooEarlyData => l.pick(
            "for lite fravær registrert før starten (minst tre måneder trengs)",
            "for lite fråvær registrert før starten (minst tre månader trengst)",
            "too little absence recorded before the start (three months are needed)",
        ),
        NoEstimate::TooEarlyToTell => l.pick(
            "for tidlig å si: minst tre måneder etter starten trengs",
            "for tidleg å seie: minst tre månader etter starten trengst",
            "too early to tell: three months after the start are needed",
        ),
        NoEstimate::NoControls => l.pick(
            "ingen sammenlignbare enheter uten samme tiltak",
            "ingen samanliknbare einingar utan same tiltak",
            "no comparable units without the same measure",
        ),
        NoEstimate::NotReleased => l.pick(
            "for få ansatte til at fraværet kan vises",
            "for få tilsette til at fråværet kan visast",
            "too few employees for the absence to be shown",
        ),
    }
}

/// `/oppfolging/enheter/{unit}`.
pub fn unit(l: Lang, viewer: &Viewer, u: &UnitView, editable: bool, path: &str) -> Markup {
    let title = format!(
        "{} – {}",
        u.name,
        l.pick("oppfølging", "oppfølging", "follow-up")
    );
    let this_year = crate::db::models::today().format("%Y").to_string();
    signed(
        l,
        &title,
        viewer,
        path,
        html! {
            h1 { (u.name) }
            (nav(l, viewer))
            @if !u.above.is_empty() {
                p { (l.pick("Del av", "Del av", "Part of")) " "
                    @for (i, (id, name)) in u.above.iter().enumerate() {
                        @if i > 0 { " › " }
                        a href={ "/oppfolging/enheter/" (id) "?lang=" (l.code()) } { (name) }
                    }
                }
            }
            h2 { (l.pick("Sykefravær mot måltall", "Sjukefråvær mot måltal", "Sickness absence against targets")) }
            @if u.periods.is_empty() {
                p { (l.pick("Ingen sykefravær er importert.", "Ikkje noko sjukefråvær er importert.", "No absence imported.")) }
            } @else {
                div.table-scroll tabindex="0" role="region" aria-label=(scroll_label(l)) {
                    table {
                        caption { (l.pick("Hele enheten med underenheter, siste perioder", "Heile eininga med undereiningar, siste periodar", "The whole unit with its sub-units, latest periods")) }
                        thead { tr {
                            th scope="col" { (l.pick("Periode", "Periode", "Period")) }
                            th scope="col" { (l.pick("Fravær", "Fråvær", "Absence")) }
                            th scope="col" { (l.pick("Mål", "Mål", "Target")) }
                            th scope="col" { (l.pick("Langtid", "Langtid", "Long-term")) }
                            th scope="col" { (l.pick("Mål langtid", "Mål langtid", "Long-term target")) }
                            th scope="col" { (l.pick("Nasjonalt", "Nasjonalt", "National")) }
                        } }
                        tbody {
                            @for p in &u.periods {
                                @let target = |k: Kind| p.targets.iter().find(|t| t.0 == k).map(|t| (t.1, t.3));
                                tr {
                                    th scope="row" { (period(p.period)) }
                                    @match &p.rates {
                                        Some(r) => {
                                            td { (pct(r.total, l)) @if target(Kind::Total).is_some_and(|t| r.total > t.0) { " " strong.key-above { (l.pick("over", "over", "above")) } } }
                                            td { @if let Some(t) = target(Kind::Total) { (pct(t.0, l)) } @else { "–" } }
                                            td { @if let Some(x) = r.long_term { (pct(x, l)) } @else { "–" } }
                                            td { @if let Some(t) = target(Kind::LongTerm) { (pct(t.0, l)) @if t.1 { "*" } } @else { "–" } }
                                        }
                                        None => td colspan="4" { (l.pick("for få ansatte til å vises", "for få tilsette til å visast", "too few employees to show")) }
                                    }
                                    td { @if let Some(n) = p.national_total { (pct(n, l)) } @else { "–" } }
                                }
                            }
                        }
                    }
                }
                p.hint { (l.pick(
                    "* Nasjonalt nivå for langtidsfravær måles mot SSBs legemeldte fravær, som er det nærmeste tallet SSB gir per kvartal.",
                    "* Nasjonalt nivå for langtidsfråvær blir målt mot det legemelde fråværet til SSB, som er det nærmaste talet SSB gir per kvartal.",
                    "* The national level for long-term absence is Statistics Norway's doctor-certified rate, the closest figure it gives per quarter.")) }
            }
            h2 { (l.pick("Måltall", "Måltal", "Targets")) }
            table {
                thead { tr {
                    th scope="col" { (l.pick("År", "År", "Year")) }
                    th scope="col" { (l.pick("Gjelder", "Gjeld", "For")) }
                    th scope="col" { (l.pick("Mål", "Mål", "Target")) }
                    th scope="col" { (l.pick("Satt av", "Sett av", "Set by")) }
                } }
                tbody {
                    @for t in &u.targets {
                        tr {
                            td { (t.year) }
                            td { (t.kind.name(l)) }
                            td { (target_value(t.value, l)) }
                            td {
                                @if t.own { (l.pick("enhetens eget mål", "eininga sitt eige mål", "the unit's own target")) }
                                @else if let Some(from) = &t.from { (l.pick("arvet fra ", "arva frå ", "inherited from ")) (from) }
                                @else { "–" }
                            }
                        }
                    }
                }
            }
            @if editable {
                form.plan method="post" action={ "/oppfolging/enheter/" (u.id) "/maal?lang=" (l.code()) } {
                    h3 { (l.pick("Sett enhetens eget mål", "Set eininga sitt eige mål", "Set the unit's own target")) }
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    div.field {
                        label for="year" { (l.pick("År", "År", "Year")) }
                        input #year type="number" name="year" min="2000" max="2100" value=(this_year) required;
                    }
                    div.field {
                        label for="kind" { (l.pick("Gjelder", "Gjeld", "For")) }
                        select #kind name="kind" {
                            @for k in Kind::ALL { option value=(k.key()) { (k.name(l)) } }
                        }
                    }
                    div.field {
                        label for="value" { (l.pick("Høyeste fravær i prosent, eller «nasjonalt» (tomt: fjern målet)", "Høgaste fråvær i prosent, eller «nasjonalt» (tomt: fjern målet)", "Highest absence in percent, or «nasjonalt» for the national level (empty: remove the target)")) }
                        input #value type="text" name="value" inputmode="decimal" maxlength="20";
                    }
                    button.primary type="submit" { (l.pick("Lagre målet", "Lagre målet", "Save the target")) }
                }
            }
            h2 { (l.pick("Redegjørelser", "Utgreiingar", "Written accounts")) }
            @if u.accounts.is_empty() {
                p.hint { (l.pick("Enheten er ikke bedt om noen redegjørelse.", "Eininga er ikkje beden om noka utgreiing.", "The unit has not been asked for an account.")) }
            } @else {
                @for a in &u.accounts { (account_summary(l, a)) }
            }
            h2 #tiltak { (l.pick("Tiltak", "Tiltak", "Measures")) }
            (measures_table(l, viewer, &u.types, &u.measures, editable, &|_| u.name.clone()))
            @if !u.effects.is_empty() {
                h3 { (l.pick("Effekt av tiltakene her", "Effekt av tiltaka her", "Effect of the measures here")) }
                ul {
                    @for (id, e) in &u.effects {
                        @let title = u.measures.iter().find(|m| &m.id == id).map_or("", |m| m.title.as_str());
                        li { (title) ": "
                            @match e {
                                Ok(x) => { (num(x.d, 2, l)) " " (l.pick("prosentpoeng mot sammenlignbare enheter", "prosentpoeng mot samanliknbare einingar", "percentage points against comparable units"))
                                    " (" (l.pick("før", "før", "before")) " " (pct(x.pre, l)) ", " (l.pick("etter", "etter", "after")) " " (pct(x.post, l)) ")" }
                                Err(why) => (no_estimate(*why, l))
                            }
                        }
                    }
                }
                p.hint { (effect::caveat(l)) }
            }
            @if editable {
                (measure_form(l, viewer, &format!("/oppfolging/enheter/{}/tiltak?lang={}", u.id, l.code()), &u.types, &u.factors, None))
            }
            @if !u.below.is_empty() {
                h2 { (l.pick("Enheter under", "Einingar under", "Units below")) }
                ul { @for (id, name) in &u.below { li { a href={ "/oppfolging/enheter/" (id) "?lang=" (l.code()) } { (name) } } } }
            }
        },
    )
}

fn account_summary(l: Lang, a: &Account) -> Markup {
    html! {
        div.factor {
            h3 { (a.kind().name(l)) ", " @if let Some(p) = a.period() { (period(p)) } }
            p { (pct(a.rate, l)) " " (l.pick("mot målet", "mot målet", "against the target of")) " " (pct(a.target, l)) ". "
                @if a.answered() { (l.pick("Besvart.", "Svara.", "Answered.")) }
                @else { strong { (l.pick("Ikke besvart", "Ikkje svara", "Not answered")) } " – " (l.pick("frist", "frist", "due")) " " (iso(&a.due_on)) "." }
            }
            @if a.answered() {
                dl {
                    dt { (l.pick("Hva gjøres nå", "Kva blir gjort no", "What is done now")) }
                    dd { (a.done_now.as_deref().unwrap_or("")) }
                    dt { (l.pick("Hva er planlagt", "Kva er planlagt", "What is planned")) }
                    dd { (a.planned.as_deref().unwrap_or("")) }
                    dt { (l.pick("Støtte enheten trenger", "Støtte eininga treng", "Support needed")) }
                    dd {
                        @let keys = a.support_keys();
                        @if keys.is_empty() && a.support_other.is_none() { "–" }
                        @for (i, k) in keys.iter().enumerate() { @if i > 0 { ", " } (accounts::support_name(k, l)) }
                        @if let Some(o) = &a.support_other { @if !keys.is_empty() { ", " } (o) }
                    }
                }
            }
        }
    }
}

/// `/oppfolging/over-mal` and its print version: an AMU agenda item.
pub fn above(l: Lang, viewer: &Viewer, a: &Above, print: bool) -> Markup {
    let title = l.pick(
        "Enheter over måltall",
        "Einingar over måltal",
        "Units above target",
    );
    let body = html! {
        h1 { (title) }
        @if !print { (nav(l, viewer)) p { a href={ "/oppfolging/over-mal/utskrift?lang=" (l.code()) } { (l.pick("Utskriftsvennlig versjon (sak til AMU)", "Utskriftsvenleg versjon (sak til AMU)", "Printable version (AMU agenda item)")) } } }
        @match a.period {
            None => p { (l.pick("Ingen sykefravær er importert ennå.", "Ikkje noko sjukefråvær er importert enno.", "No absence imported yet.")) },
            Some(p) => {
                p { (l.pick("Periode:", "Periode:", "Period:")) " " strong { (period(p)) } ". "
                    (match l {
                        Lang::Nb => format!("{} av {} enheter med måltall ligger over målet.", a.rows.len(), a.compared),
                        Lang::Nn => format!("{} av {} einingar med måltal ligg over målet.", a.rows.len(), a.compared),
                        Lang::En => format!("{} of {} units with a target are above it.", a.rows.len(), a.compared),
                    })
                }
                p.hint { (l.pick(
                    "Bare enheter som er store nok til at fraværet kan vises, er med. Fraværet i mindre enheter teller med i enheten over.",
                    "Berre einingar som er store nok til at fråværet kan visast, er med. Fråværet i mindre einingar tel med i eininga over.",
                    "Only units large enough for their absence to be shown are listed. The absence of smaller units counts in the unit above.")) }
                @if a.rows.is_empty() {
                    p { (l.pick("Ingen enheter ligger over målet.", "Ingen einingar ligg over målet.", "No unit is above its target.")) }
                } @else {
                    div.table-scroll tabindex="0" role="region" aria-label=(scroll_label(l)) {
                        table {
                            caption { (title) }
                            thead { tr {
                                th scope="col" { (l.pick("Enhet", "Eining", "Unit")) }
                                th scope="col" { (l.pick("Tjenesteområde", "Tenesteområde", "Service area")) }
                                th scope="col" { (l.pick("Gjelder", "Gjeld", "For")) }
                                th scope="col" { (l.pick("Fravær", "Fråvær", "Absence")) }
                                th scope="col" { (l.pick("Mål", "Mål", "Target")) }
                                th scope="col" { (l.pick("Redegjørelse", "Utgreiing", "Account")) }
                                th scope="col" { (l.pick("Tiltak", "Tiltak", "Measures")) }
                            } }
                            tbody {
                                @for r in &a.rows {
                                    tr {
                                        th scope="row" { @if print { (r.name) } @else { a href={ "/oppfolging/enheter/" (r.id) "?lang=" (l.code()) } { (r.name) } } }
                                        td { (r.area) }
                                        td { (r.standing.kind.name(l)) }
                                        td { (pct(r.standing.rate, l)) }
                                        td { (pct(r.standing.target, l)) }
                                        td { @match &r.account {
                                            Some(acc) if acc.answered() => (l.pick("besvart", "svara", "answered")),
                                            Some(acc) => { (l.pick("venter, frist ", "ventar, frist ", "waiting, due ")) (iso(&acc.due_on)) },
                                            None => (l.pick("ikke bedt om ennå", "ikkje bede om enno", "not yet asked for")),
                                        } }
                                        td { (r.measures.len()) }
                                    }
                                }
                            }
                        }
                    }
                    @for r in &a.rows {
                        section.factor {
                            h2 { (r.name) " – " (r.standing.kind.name(l)) }
                            @if let Some(acc) = &r.account { (account_summary(l, acc)) }
                            @if !r.measures.is_empty() {
                                ul { @for m in &r.measures { li { (m.title) " (" (type_name(&a.types, &m.type_key, l)) ", " (m.status.name(l)) ")" } } }
                            }
                        }
                    }
                }
            }
        }
    };
    if print {
        super::document(l, title, None, body, None)
    } else {
        signed(l, title, viewer, "/oppfolging/over-mal", body)
    }
}

/// The written account's form, opened from the e-mailed link.
pub fn account_form(
    l: Lang,
    unit: &str,
    a: &Account,
    action: &str,
    problems: &[String],
    given: &accounts::Answer,
) -> Markup {
    let title = l.pick(
        "Redegjørelse for sykefraværet",
        "Utgreiing om sjukefråværet",
        "Account of sickness absence",
    );
    let done_now = if given.done_now.is_empty() {
        a.done_now.clone().unwrap_or_default()
    } else {
        given.done_now.clone()
    };
    let planned = if given.planned.is_empty() {
        a.planned.clone().unwrap_or_default()
    } else {
        given.planned.clone()
    };
    let other = if given.support_other.is_empty() {
        a.support_other.clone().unwrap_or_default()
    } else {
        given.support_other.clone()
    };
    let chosen: Vec<String> = if given.support.is_empty() {
        a.support_keys().iter().map(|s| s.to_string()).collect()
    } else {
        given.support.clone()
    };
    super::layout(
        l,
        title,
        action,
        html! {
            h1 { (title) ": " (unit) }
            p { (a.kind().name(l)) " " @if let Some(p) = a.period() { (period(p)) } ": " strong { (pct(a.rate, l)) } " " (l.pick("mot målet", "mot målet", "against the target of")) " " (pct(a.target, l)) "." }
            p { (l.pick("Frist:", "Frist:", "Due:")) " " (iso(&a.due_on)) ". " @if a.answered() { (l.pick("Redegjørelsen er levert; du kan rette den.", "Utgreiinga er levert; du kan rette ho.", "The account has been given; you may correct it.")) } }
            @if !problems.is_empty() {
                div.error role="alert" { @for p in problems { p { (p) } } }
            }
            form method="post" action=(action) {
                div.field {
                    label for="done_now" { (l.pick("Hva gjør enheten nå for å få fraværet ned?", "Kva gjer eininga no for å få fråværet ned?", "What does the unit do now to bring absence down?")) }
                    textarea #done_now name="done_now" rows="5" maxlength="4000" required { (done_now) }
                }
                div.field {
                    label for="planned" { (l.pick("Hva er planlagt?", "Kva er planlagt?", "What is planned?")) }
                    textarea #planned name="planned" rows="5" maxlength="4000" required { (planned) }
                }
                fieldset {
                    legend { (l.pick("Hvilken støtte trenger enheten?", "Kva støtte treng eininga?", "What support does the unit need?")) }
                    @for k in accounts::SUPPORT {
                        div.field.check {
                            input type="checkbox" id={ "support-" (k) } name="support" value=(k) checked[chosen.iter().any(|c| c == k)];
                            " "
                            label for={ "support-" (k) } { (accounts::support_name(k, l)) }
                        }
                    }
                    div.field {
                        label for="support_other" { (l.pick("Annen støtte", "Anna støtte", "Other support")) }
                        input #support_other type="text" name="support_other" maxlength="4000" value=(other);
                    }
                }
                button.primary type="submit" { (l.pick("Send redegjørelsen", "Send utgreiinga", "Send the account")) }
            }
            p.hint { (l.pick(
                "Redegjørelsen leses av arbeidsmiljøutvalget. Skriv om enheten, ikke om enkeltpersoner.",
                "Utgreiinga blir lesen av arbeidsmiljøutvalet. Skriv om eininga, ikkje om enkeltpersonar.",
                "The working-environment committee reads the account. Write about the unit, not about individuals.")) }
        },
    )
}

pub fn account_thanks(l: Lang, unit: &str, path: &str) -> Markup {
    let title = l.pick(
        "Takk for redegjørelsen",
        "Takk for utgreiinga",
        "Thank you for the account",
    );
    super::layout(
        l,
        title,
        path,
        html! {
            h1 { (title) }
            p { (unit) ": " (l.pick(
                "redegjørelsen er lagret og blir lagt fram for arbeidsmiljøutvalget. Du kan åpne lenken igjen for å rette den fram til fristen.",
                "utgreiinga er lagra og blir lagd fram for arbeidsmiljøutvalet. Du kan opne lenkja igjen for å rette ho fram til fristen.",
                "the account is saved and goes to the working-environment committee. You can open the link again to correct it until the due date.")) }
        },
    )
}

/// The register's filters as chosen.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RegisterQuery {
    #[serde(default)]
    pub type_key: String,
    #[serde(default)]
    pub area: String,
    #[serde(default)]
    pub factor: String,
    #[serde(default)]
    pub status: String,
}

/// What the register page shows.
pub struct Register<'a> {
    pub measures: &'a [Measure],
    pub types: &'a [MeasureType],
    pub areas: &'a [(String, String)],
    pub factors: &'a [String],
    /// (unit id, name) the viewer may enter measures for.
    pub units: &'a [(String, String)],
    pub names: &'a std::collections::HashMap<String, String>,
    pub query: &'a RegisterQuery,
}

/// `/tiltak`: the register across units, filterable.
pub fn register(l: Lang, viewer: &Viewer, r: &Register) -> Markup {
    let title = l.pick("Tiltaksregister", "Tiltaksregister", "Register of measures");
    let q = r.query;
    let mut counts: Vec<(Status, usize)> = Status::ALL
        .iter()
        .map(|s| (*s, r.measures.iter().filter(|m| m.status == *s).count()))
        .collect();
    counts.retain(|c| c.1 > 0);
    signed(
        l,
        title,
        viewer,
        "/tiltak",
        html! {
            h1 { (title) }
            (nav(l, viewer))
            form.plan method="get" action="/tiltak" {
                input type="hidden" name="lang" value=(l.code());
                div.field {
                    label for="f-type" { (l.pick("Type", "Type", "Type")) }
                    select #f-type name="type_key" {
                        option value="" { (l.pick("alle", "alle", "all")) }
                        @for t in r.types { option value=(t.key) selected[q.type_key == t.key] { (t.name(l)) } }
                    }
                }
                div.field {
                    label for="f-area" { (l.pick("Tjenesteområde", "Tenesteområde", "Service area")) }
                    select #f-area name="area" {
                        option value="" { (l.pick("alle", "alle", "all")) }
                        @for (id, name) in r.areas { option value=(id) selected[&q.area == id] { (name) } }
                    }
                }
                div.field {
                    label for="f-factor" { (l.pick("Faktor", "Faktor", "Factor")) }
                    select #f-factor name="factor" {
                        option value="" { (l.pick("alle", "alle", "all")) }
                        @for f in r.factors { option value=(f) selected[&q.factor == f] { (factor_name(f)) } }
                    }
                }
                div.field {
                    label for="f-status" { (l.pick("Status", "Status", "Status")) }
                    select #f-status name="status" {
                        option value="" { (l.pick("alle", "alle", "all")) }
                        @for s in Status::ALL { option value=(s.key()) selected[q.status == s.key()] { (s.name(l)) } }
                    }
                }
                button type="submit" { (l.pick("Vis", "Vis", "Show")) }
            }
            p { (r.measures.len()) " " (l.pick("tiltak", "tiltak", "measures"))
                @if !counts.is_empty() { ": " @for (i, (s, n)) in counts.iter().enumerate() { @if i > 0 { ", " } (n) " " (s.name(l)) } }
                "." }
            (measures_table(l, viewer, r.types, r.measures, !r.units.is_empty(), &|m| m.units.iter().map(|u| r.names.get(u.as_str()).cloned().unwrap_or_default()).collect::<Vec<_>>().join(", ")))
            @if !r.units.is_empty() {
                (measure_form(l, viewer, &format!("/tiltak?lang={}", l.code()), r.types, r.factors, Some(r.units)))
            }
            @if viewer.admin {
                form.plan method="post" action={ "/tiltak/typer?lang=" (l.code()) } {
                    h3 { (l.pick("Ny tiltakstype i katalogen", "Ny tiltakstype i katalogen", "New type in the catalogue")) }
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    div.field { label for="t-key" { (l.pick("Nøkkel (små bokstaver a–z, sifre og _)", "Nøkkel (små bokstavar a–z, siffer og _)", "Key (lowercase a–z, digits and _)")) } input #t-key type="text" name="key" maxlength="60" required; }
                    div.field { label for="t-nb" { (l.pick("Navn på bokmål", "Namn på bokmål", "Name in bokmål")) } input #t-nb type="text" name="name_nb" maxlength="200" required; }
                    div.field { label for="t-nn" { (l.pick("Navn på nynorsk", "Namn på nynorsk", "Name in nynorsk")) } input #t-nn type="text" name="name_nn" maxlength="200" required; }
                    div.field { label for="t-en" { (l.pick("Navn på engelsk", "Namn på engelsk", "Name in English")) } input #t-en type="text" name="name_en" maxlength="200" required; }
                    button.primary type="submit" { (l.pick("Legg til typen", "Legg til typen", "Add the type")) }
                }
            }
        },
    )
}

/// The event-study line as a chart: treated minus controls, month by
/// month around the start (0), with the zero line.
fn event_chart(e: &TypeEffect, name: &str, l: Lang) -> Markup {
    let pts: Vec<(i32, f64)> = e
        .event
        .iter()
        .filter_map(|(m, v)| Some((*m, (*v)?)))
        .collect();
    if pts.len() < 2 {
        return html! {};
    }
    let lim = pts.iter().fold(0.5f64, |m, p| m.max(p.1.abs())) * 1.15;
    let (w, h, pad) = (400.0, 200.0, 30.0);
    let sx = |m: i32| pad + (m + 12) as f64 / 24.0 * (w - pad - 10.0);
    let sy = |v: f64| h / 2.0 - v / lim * (h / 2.0 - 15.0);
    let path: String = pts
        .iter()
        .enumerate()
        .map(|(i, (m, v))| {
            format!(
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                sx(*m),
                sy(*v)
            )
        })
        .collect();
    let label = match l {
        Lang::Nb => format!("{name}: forskjell i fravær mellom enheter med tiltaket og sammenlignbare enheter, måned for måned fra 12 måneder før til 12 måneder etter starten"),
        Lang::Nn => format!("{name}: skilnad i fråvær mellom einingar med tiltaket og samanliknbare einingar, månad for månad frå 12 månader før til 12 månader etter starten"),
        Lang::En => format!("{name}: the difference in absence between units with the measure and comparable units, month by month from 12 months before to 12 months after the start"),
    };
    html! {
        figure {
            svg.chart.trend viewBox="0 0 400 200" role="img" aria-label=(label) focusable="false" {
                rect x="0" y="0" width="400" height="200" fill="#ffffff" {}
                line x1=(pad) x2=(w - 10.0) y1=(sy(0.0)) y2=(sy(0.0)) stroke="#4a4a4a" stroke-dasharray="3 3" {}
                line x1=(sx(0)) x2=(sx(0)) y1="10" y2=(h - 10.0) stroke="#8a3b00" {}
                text x="2" y="14" font-size="11" fill="#1a1a1a" { "+" (num(lim, 1, l)) }
                text x="2" y=(h - 4.0) font-size="11" fill="#1a1a1a" { "−" (num(lim, 1, l)) }
                text x=(sx(0) + 3.0) y="22" font-size="11" fill="#8a3b00" { (l.pick("start", "start", "start")) }
                text x=(sx(-12)) y=(sy(0.0) + 14.0) font-size="11" fill="#1a1a1a" { "−12" }
                text x=(sx(12) - 20.0) y=(sy(0.0) + 14.0) font-size="11" fill="#1a1a1a" { "+12" }
                path d=(path) fill="none" stroke="#1f5f8b" stroke-width="2" {}
            }
            figcaption { (l.pick(
                "Prosentpoeng over (+) eller under (−) sammenlignbare enheter; loddrett strek: startmåneden.",
                "Prosentpoeng over (+) eller under (−) samanliknbare einingar; loddrett strek: startmånaden.",
                "Percentage points above (+) or below (−) comparable units; vertical line: the start month.")) }
        }
    }
}

/// The survey side: did the factor a measure addressed change more where
/// units worked on it?
fn survey_side(l: Lang, round: Option<&str>, rows: &[effect::SurveySide]) -> Markup {
    html! {
        @if !rows.is_empty() {
            h2 { (l.pick("Undersøkelsen: endret faktoren seg mer der tiltakene gjaldt?", "Undersøkinga: endra faktoren seg meir der tiltaka galdt?", "The survey: did the factor change more where the measures applied?")) }
            p { (l.pick(
                "Endringen i faktorskåren fra forrige runde til",
                "Endringa i faktorskåren frå førre runde til",
                "The change in the factor score from the previous round to"))
                " " (round.unwrap_or("")) ", "
                (l.pick(
                    "i de minste viste gruppene med et tiltak for faktoren startet mellom rundene, mot gruppene uten (differanse i gjennomsnitt med Welchs 95 % intervall).",
                    "i dei minste viste gruppene med eit tiltak for faktoren starta mellom rundane, mot gruppene utan (skilnad i gjennomsnitt med 95 % intervall etter Welch).",
                    "in the finest shown groups with a measure for the factor started between the rounds, against the groups without (difference of means with Welch's 95 % interval).")) }
            div.table-scroll tabindex="0" role="region" aria-label=(scroll_label(l)) {
                table {
                    thead { tr {
                        th scope="col" { (l.pick("Faktor", "Faktor", "Factor")) }
                        th scope="col" { (l.pick("Grupper med tiltak", "Grupper med tiltak", "Groups with measures")) }
                        th scope="col" { (l.pick("Uten", "Utan", "Without")) }
                        th scope="col" { (l.pick("Forskjell i endring", "Skilnad i endring", "Difference in change")) }
                    } }
                    tbody { @for r in rows { tr {
                        th scope="row" { (factor_name(&r.factor)) }
                        td { (r.with) }
                        td { (r.without) }
                        td { @match &r.difference {
                            Some(c) => { (num(c.diff, 2, l)) " (" (num(c.low, 2, l)) " " (l.pick("til", "til", "to")) " " (num(c.high, 2, l)) ")"
                                @if c.is_real() { " " strong { (l.pick("reell forskjell", "reell skilnad", "a real difference")) } } }
                            None => (l.pick("for få grupper", "for få grupper", "too few groups")),
                        } }
                    } } }
                }
            }
        }
    }
}

/// `/tiltak/effekt`: the effect of each type of measure.
pub fn effects(
    l: Lang,
    viewer: &Viewer,
    effects: &[TypeEffect],
    types: &[MeasureType],
    k: u32,
    survey: &(Option<String>, Vec<effect::SurveySide>),
) -> Markup {
    let title = l.pick("Effekt av tiltak", "Effekt av tiltak", "Effect of measures");
    signed(
        l,
        title,
        viewer,
        "/tiltak/effekt",
        html! {
            h1 { (title) }
            (nav(l, viewer))
            div.summary { p { (l.pick(
                "For hver enhet som startet et tiltak sammenlignes endringen i fravær fra de 12 månedene før til de 12 månedene etter starten med endringen i sammenlignbare enheter i samme tjenesteområde som ikke hadde noe tiltak i de samme månedene – eller, der det er for få slike, ikke et tiltak av samme type (en forskjell i forskjeller). Enhetene veies etter avtalte dagsverk før starten.",
                "For kvar eining som starta eit tiltak blir endringa i fråvær frå dei 12 månadene før til dei 12 månadene etter starten samanlikna med endringa i samanliknbare einingar i same tenesteområde som ikkje hadde noko tiltak i dei same månadene – eller, der det er for få slike, ikkje eit tiltak av same type (ein skilnad i skilnader). Einingane blir vege etter avtalte dagsverk før starten.",
                "For each unit that started a measure, the change in absence from the 12 months before to the 12 months after the start is compared with the change in comparable units in the same service area that had no measure in the same months – or, where there are too few of those, no measure of the same type (a difference in differences). Units are weighted by agreed working days before the start.")) }
                p { (effect::caveat(l)) } }
            @if effects.is_empty() {
                p { (l.pick("Ingen tiltak er registrert, eller ingen sykefravær er importert.", "Ingen tiltak er registrerte, eller ikkje noko sjukefråvær er importert.", "No measures are recorded, or no absence is imported.")) }
            }
            @for e in effects {
                @let name = type_name(types, &e.type_key, l);
                @let ok = e.treatments.iter().filter(|t| t.estimate.is_ok()).count();
                section.factor {
                    h2 { (name) }
                    p { (e.treatments.len()) " " (l.pick("enheter med tiltaket,", "einingar med tiltaket,", "units with the measure,")) " " (ok) " " (l.pick("med et anslag.", "med eit anslag.", "with an estimate.")) }
                    @match &e.pooled {
                        Some(p) => {
                            p { strong { (effect::verdict(p, l)) } }
                            @if let Some((share, n)) = e.placebo {
                                p { (match l {
                                    Lang::Nb => format!("Kontroll med placebo: av {n} sammenlignbare enheter gitt de samme startmånedene viste {} en like stor endring (andel {}).", (share * n as f64).round(), num(share, 2, l)),
                                    Lang::Nn => format!("Kontroll med placebo: av {n} samanliknbare einingar gitt dei same startmånadene viste {} ei like stor endring (del {}).", (share * n as f64).round(), num(share, 2, l)),
                                    Lang::En => format!("Placebo check: of {n} comparable units given the same start months, {} showed as large a change (share {}).", (share * n as f64).round(), num(share, 2, l)),
                                }) }
                            }
                            (event_chart(e, name, l))
                        }
                        None => p { (match l {
                            Lang::Nb => format!("Ingen samlet effekt vises: enhetene med et anslag har til sammen færre enn {k} ansatte, eller ingen har et anslag ennå."),
                            Lang::Nn => format!("Ingen samla effekt blir vist: einingane med eit anslag har til saman færre enn {k} tilsette, eller ingen har eit anslag enno."),
                            Lang::En => format!("No pooled effect is shown: the units with an estimate have fewer than {k} employees together, or none has an estimate yet."),
                        }) },
                    }
                }
            }
            (survey_side(l, survey.0.as_deref(), &survey.1))
        },
    )
}

/// A bar per line of the report: its absence (bar), its target (tick) and
/// the national level (dashed line).
fn report_chart(r: &crate::followup::report::Report, l: Lang) -> Markup {
    let lines: Vec<&crate::followup::report::Line> = std::iter::once(&r.organisation)
        .chain(&r.areas)
        .filter(|x| x.rates.is_some())
        .collect();
    if lines.is_empty() {
        return html! {};
    }
    let max = lines
        .iter()
        .flat_map(|x| [x.rates.map(|r| r.total), x.target_total])
        .flatten()
        .chain(r.national_total)
        .fold(1.0f64, f64::max)
        * 1.15;
    let (w, bar, gap, left) = (400.0, 14.0, 8.0, 130.0);
    let h = lines.len() as f64 * (bar + gap) + 24.0;
    let sx = |v: f64| left + v / max * (w - left - 10.0);
    html! {
        figure {
            svg.chart.bars viewBox={ "0 0 400 " (format!("{h:.0}")) } role="img" focusable="false"
                aria-label=(l.pick("Sykefravær per tjenesteområde med måltall (strek) og nasjonalt nivå (stiplet)", "Sjukefråvær per tenesteområde med måltal (strek) og nasjonalt nivå (stipla)", "Sickness absence per service area with target (tick) and national level (dashed)")) {
                rect x="0" y="0" width="400" height=(format!("{h:.0}")) fill="#ffffff" {}
                @for (i, x) in lines.iter().enumerate() {
                    @let y = 10.0 + i as f64 * (bar + gap);
                    @let rate = x.rates.map_or(0.0, |r| r.total);
                    text x="2" y=(format!("{:.1}", y + bar - 3.0)) font-size="10" fill="#1a1a1a" { (x.name.chars().take(24).collect::<String>()) }
                    rect x=(left) y=(format!("{y:.1}")) width=(format!("{:.1}", sx(rate) - left)) height=(bar) fill="#1f5f8b" {}
                    @if let Some(t) = x.target_total {
                        line x1=(format!("{:.1}", sx(t))) x2=(format!("{:.1}", sx(t))) y1=(format!("{:.1}", y - 2.0)) y2=(format!("{:.1}", y + bar + 2.0)) stroke="#8a3b00" stroke-width="3" {}
                    }
                }
                @if let Some(n) = r.national_total {
                    line x1=(format!("{:.1}", sx(n))) x2=(format!("{:.1}", sx(n))) y1="4" y2=(format!("{:.0}", h - 4.0)) stroke="#4a4a4a" stroke-dasharray="4 3" {}
                }
            }
            figcaption { (l.pick(
                "Stolpe: fravær i perioden. Strek: måltallet. Stiplet: nasjonalt nivå (SSB).",
                "Stolpe: fråvær i perioden. Strek: måltalet. Stipla: nasjonalt nivå (SSB).",
                "Bar: absence in the period. Tick: the target. Dashed: the national level (Statistics Norway).")) }
        }
    }
}

/// The tertial report or the IA status: print-ready HTML (A4, page breaks,
/// page numbers), every figure released by the engine.
pub fn report(l: Lang, r: &crate::followup::report::Report, xlsx_href: Option<&str>) -> Markup {
    let title = format!("{} – {}", r.kind.title(l), r.period.name(l));
    let opt = |x: Option<f64>| x.map_or("–".to_string(), |v| pct(v, l));
    let body = html! {
        div.report {
            h1 { (title) }
            @if let Some(href) = xlsx_href { p.no-print { a href=(href) { (l.pick("Last ned som Excel (XLSX)", "Last ned som Excel (XLSX)", "Download as Excel (XLSX)")) } } }
            p { (l.pick("Periode:", "Periode:", "Period:")) " " (date(r.period.first_day())) "–" (date(r.period.last_day())) ". "
                (l.pick("Alle tall gjelder enheter store nok til at fraværet kan vises.", "Alle tal gjeld einingar store nok til at fråværet kan visast.", "Every figure is for units large enough for their absence to be shown.")) }
            @if !r.has_data {
                div.notice { p { (l.pick("Ingen sykefravær er importert for perioden.", "Ikkje noko sjukefråvær er importert for perioden.", "No absence is imported for the period.")) } }
            }
            h2 { (l.pick("1. Sykefraværet", "1. Sjukefråværet", "1. Sickness absence")) }
            (report_chart(r, l))
            div.table-scroll tabindex="0" role="region" aria-label=(scroll_label(l)) { table {
                caption { (l.pick("Fravær i prosent av avtalte dagsverk", "Fråvær i prosent av avtalte dagsverk", "Absence in percent of agreed working days")) }
                thead { tr {
                    th scope="col" { (l.pick("Enhet", "Eining", "Unit")) }
                    th scope="col" { (l.pick("Totalt", "Totalt", "Total")) }
                    th scope="col" { (l.pick("Korttid", "Korttid", "Short-term")) }
                    th scope="col" { (l.pick("Langtid", "Langtid", "Long-term")) }
                    th scope="col" { (l.pick("Egenmeldt", "Eigenmeldt", "Self-cert.")) }
                    th scope="col" { (l.pick("Legemeldt", "Legemeldt", "Doctor-cert.")) }
                    th scope="col" { (l.pick("Mål", "Mål", "Target")) }
                    th scope="col" { (l.pick("Mål langtid", "Mål langtid", "Long-term target")) }
                    @for (p, _) in &r.organisation.previous { th scope="col" { (p) } }
                    th scope="col" { (l.pick("I fjor", "I fjor", "Last year")) }
                } }
                tbody {
                    @for line in std::iter::once(&r.organisation).chain(&r.areas) {
                        tr {
                            th scope="row" { (line.name) }
                            @match &line.rates {
                                Some(x) => {
                                    td { (pct(x.total, l)) }
                                    td { (opt(x.short_term)) }
                                    td { (opt(x.long_term)) }
                                    td { (opt(x.self_certified)) }
                                    td { (opt(x.doctor_certified)) }
                                }
                                None => td colspan="5" { (l.pick("vises ikke", "blir ikkje vist", "not shown")) }
                            }
                            td { (opt(line.target_total)) }
                            td { (opt(line.target_long_term)) }
                            @for (_, v) in &line.previous { td { (opt(*v)) } }
                            td { (opt(line.last_year)) }
                        }
                    }
                    tr {
                        th scope="row" { (l.pick("Nasjonalt nivå (SSB)", "Nasjonalt nivå (SSB)", "National level (SSB)")) }
                        td { (opt(r.national_total)) }
                        td {} td { (opt(r.national_doctor)) "*" } td {} td { (opt(r.national_doctor)) }
                        td {} td {}
                        @for _ in &r.organisation.previous { td {} }
                        td {}
                    }
                }
            } }
            p.hint { (l.pick("* Nasjonalt legemeldt fravær, det nærmeste SSB gir for langtidsfravær.", "* Nasjonalt legemeldt fråvær, det nærmaste SSB gir for langtidsfråvær.", "* National doctor-certified absence, the closest Statistics Norway gives for long-term absence.")) }
            section.new-page {
                h2 { (l.pick("2. Enheter over måltall", "2. Einingar over måltal", "2. Units above target")) }
                @if r.above.is_empty() {
                    p { (l.pick("Ingen enheter ligger over målet i perioden.", "Ingen einingar ligg over målet i perioden.", "No unit is above its target in the period.")) }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { (l.pick("Enhet", "Eining", "Unit")) }
                            th scope="col" { (l.pick("Gjelder", "Gjeld", "For")) }
                            th scope="col" { (l.pick("Fravær", "Fråvær", "Absence")) }
                            th scope="col" { (l.pick("Mål", "Mål", "Target")) }
                            th scope="col" { (l.pick("Redegjørelse", "Utgreiing", "Account")) }
                        } }
                        tbody { @for a in &r.above { tr {
                            th scope="row" { (a.name) }
                            td { (a.standing.kind.name(l)) }
                            td { (pct(a.standing.rate, l)) }
                            td { (pct(a.standing.target, l)) }
                            td { @if a.answered { (l.pick("besvart", "svara", "answered")) } @else if a.asked { (l.pick("venter", "ventar", "waiting")) } @else { (l.pick("ikke bedt om", "ikkje bede om", "not asked")) } }
                        } } }
                    }
                }
            }
            section.new-page {
                h2 { (l.pick("3. Tiltak", "3. Tiltak", "3. Measures")) }
                p { (r.started.len()) " " (l.pick("tiltak startet og", "tiltak starta og", "measures started and")) " " (r.completed.len()) " " (l.pick("fullført i perioden.", "fullførte i perioden.", "completed in the period.")) }
                @if !r.started.is_empty() {
                    h3 { (l.pick("Startet", "Starta", "Started")) }
                    ul { @for m in &r.started { li { (m.title) " (" (type_name(&r.types, &m.type_key, l)) ", " (date(m.started_on)) ")" } } }
                }
                @if !r.completed.is_empty() {
                    h3 { (l.pick("Fullført", "Fullført", "Completed")) }
                    ul { @for m in &r.completed { li { (m.title) " (" (type_name(&r.types, &m.type_key, l)) ")" } } }
                }
                h3 { (l.pick("Vurdering av effekten", "Vurdering av effekten", "Assessment of the effect")) }
                p { (effect::caveat(l)) }
                @for e in r.effects.iter().filter(|e| e.pooled.is_some()) {
                    @let name = type_name(&r.types, &e.type_key, l);
                    h4 { (name) }
                    @if let Some(p) = &e.pooled { p { (effect::verdict(p, l)) } }
                    (event_chart(e, name, l))
                }
                (survey_side(l, r.survey.0.as_deref(), &r.survey.1))
            }
            section.new-page {
                h2 { (l.pick("4. Medarbeiderundersøkelsen: risikobildet", "4. Medarbeidarundersøkinga: risikobiletet", "4. The employee survey: the risk summary")) }
                @match &r.risk {
                    Some((round, text)) => { p { strong { (round) } } @for para in text.split("\n\n") { p { (para) } } }
                    None => p { (l.pick("Ingen undersøkelse er avsluttet ennå.", "Inga undersøking er avslutta enno.", "No survey has closed yet.")) },
                }
            }
        }
    };
    super::document(l, &title, None, body, None)
}

/// `/oppfolging/rapporter`: which reports there are.
pub fn reports(l: Lang, viewer: &Viewer, tertials: &[String], halves: &[String]) -> Markup {
    let title = l.pick("Rapporter", "Rapportar", "Reports");
    signed(
        l,
        title,
        viewer,
        "/oppfolging/rapporter",
        html! {
            h1 { (title) }
            (nav(l, viewer))
            h2 { (l.pick("Tertialrapport til kommunestyret", "Tertialrapport til kommunestyret", "Tertial report for the council")) }
            ul { @for p in tertials {
                li { a href={ "/oppfolging/rapporter/tertial/" (p) "?lang=" (l.code()) } { (p) } " · " a href={ "/oppfolging/rapporter/tertial/" (p) "/xlsx?lang=" (l.code()) } { "XLSX" } }
            } }
            h2 { (l.pick("IA-status til AMU (halvår)", "IA-status til AMU (halvår)", "IA status for AMU (half-year)")) }
            ul { @for p in halves {
                li { a href={ "/oppfolging/rapporter/ia/" (p) "?lang=" (l.code()) } { (p) } " · " a href={ "/oppfolging/rapporter/ia/" (p) "/xlsx?lang=" (l.code()) } { "XLSX" } }
            } }
        },
    )
}
