//! Administrator pages.

use super::results::signed;
use crate::access::Viewer;
use crate::config::Settings;
use crate::import::{Issue, Outcome};
use crate::lang::Lang;
use crate::rounds::Round;
use maud::{html, Markup};

pub struct Overview {
    /// Each round, with (invited, answered) where at least k are invited.
    pub rounds: Vec<(Round, Option<(i64, i64)>)>,
    pub outbox: Vec<(String, i64)>,
    pub failures: Vec<(String, String, String)>,
}

fn status_name(lang: Lang, s: &str) -> String {
    match s {
        "draft" => lang.pick("utkast", "utkast", "draft").into(),
        "open" => lang.pick("åpen", "open", "open").into(),
        "closed" => lang.pick("lukket", "lukka", "closed").into(),
        other => other.into(),
    }
}

fn post_button(viewer: &Viewer, action: &str, label: &str, lang: Lang) -> Markup {
    html! {
        form.inline method="post" action={ (action) "?lang=" (lang.code()) } {
            input type="hidden" name="csrf" value=(viewer.csrf);
            button type="submit" { (label) }
        }
    }
}

pub fn index(
    lang: Lang,
    viewer: &Viewer,
    o: &Overview,
    settings: &Settings,
    notice: Option<&str>,
) -> Markup {
    let title = lang.pick("Administrasjon", "Administrasjon", "Administration");
    signed(
        lang,
        title,
        viewer,
        "/admin",
        html! {
            h1 { (title) }
            @if let Some(n) = notice { div.hidden role="status" { p { (n) } } }
            p { a href={ "/admin/behandling?lang=" (lang.code()) } {
                (lang.pick(
                    "Protokoll over behandling av personopplysninger",
                    "Protokoll over behandling av personopplysningar",
                    "Record of processing of personal data"))
            } }
            h2 { (lang.pick("Runder", "Rundar", "Rounds")) }
            @if o.rounds.is_empty() {
                p { (lang.pick("Ingen runder ennå.", "Ingen rundar enno.", "No rounds yet.")) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (lang.pick("Runde", "Runde", "Round")) }
                        th scope="col" { (lang.pick("Status", "Status", "Status")) }
                        th scope="col" { (lang.pick("Periode", "Periode", "Period")) }
                        th scope="col" { (lang.pick("Svar", "Svar", "Answers")) }
                    } }
                    tbody {
                        @for (r, counts) in &o.rounds {
                            tr {
                                td { a href={ "/admin/runder/" (r.id) "?lang=" (lang.code()) } { (r.title) } }
                                td { (status_name(lang, &r.status)) }
                                td { (r.opens_on) " – " (r.closes_on) }
                                td { @match counts {
                                    Some((invited, responded)) => { (responded) " / " (invited) }
                                    None => { (lang.pick("for få invitert", "for få inviterte", "too few invited")) }
                                } }
                            }
                        }
                    }
                }
            }
            h2 { (lang.pick("Ny runde", "Ny runde", "New round")) }
            form method="post" action={ "/admin/runder?lang=" (lang.code()) } {
                input type="hidden" name="csrf" value=(viewer.csrf);
                div.field {
                    label for="title" { (lang.pick("Tittel", "Tittel", "Title")) }
                    input #title type="text" name="title" required maxlength="200";
                }
                div.field {
                    label for="opens_on" { (lang.pick("Åpner", "Opnar", "Opens")) }
                    input #opens_on type="date" name="opens_on" required;
                }
                div.field {
                    label for="closes_on" { (lang.pick("Siste svardag", "Siste svardag", "Last day to answer")) }
                    input #closes_on type="date" name="closes_on" required;
                }
                div.field {
                    label for="unit_code" { (lang.pick("Enhetskode (tom for hele organisasjonen)", "Einingskode (tom for heile organisasjonen)", "Unit code (empty for the whole organisation)")) }
                    input #unit_code type="text" name="unit_code" maxlength="50";
                }
                div.field {
                    label for="min_group_size" { (lang.pick("Minste gruppestørrelse", "Minste gruppestorleik", "Minimum group size")) }
                    input #min_group_size type="number" name="min_group_size" min=(settings.min_group_size) value=(settings.min_group_size);
                }
                fieldset {
                    legend { (lang.pick("Utsending av invitasjoner og påminnelser", "Utsending av invitasjonar og påminningar", "How invitations and reminders go out")) }
                    @for (i, d) in crate::rounds::Delivery::ALL.iter().enumerate() {
                        div.field.check {
                            input id={ "delivery-" (d.key()) } type="radio" name="delivery" value=(d.key()) checked[i == 0];
                            " "
                            label for={ "delivery-" (d.key()) } { (d.name(lang)) }
                        }
                    }
                    @if !settings.sms_ready() {
                        p.hint { (lang.pick(
                            "Ingen SMS-tjeneste er satt opp (NAERVAER_SMS_URL): alle uten e-post får brev med kode.",
                            "Inga SMS-teneste er sett opp (NAERVAER_SMS_URL): alle utan e-post får brev med kode.",
                            "No SMS service is set up (NAERVAER_SMS_URL): everyone without e-mail gets a letter with a code.")) }
                    }
                }
                div.field.check {
                    input #module type="checkbox" name="module" value="1" checked;
                    " "
                    label for="module" { (lang.pick("Ta med nærværsmodulen", "Ta med nærværsmodulen", "Include the presence module")) }
                }
                button.primary type="submit" { (lang.pick("Opprett utkast", "Opprett utkast", "Create draft")) }
            }
            h2 { (lang.pick("Importer fra HR", "Importer frå HR", "Import from HR")) }
            p.hint { (lang.pick(
                "CSV eller Excel. Du ser hva som vil endres før noe lagres.",
                "CSV eller Excel. Du ser kva som vil endrast før noko blir lagra.",
                "CSV or Excel. You see what would change before anything is saved.")) }
            form method="post" action={ "/admin/import?lang=" (lang.code()) } enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                div.field {
                    label for="kind" { (lang.pick("Filen inneholder", "Fila inneheld", "The file holds")) }
                    select #kind name="kind" {
                        option value="units" { (lang.pick("Enheter", "Einingar", "Units")) }
                        option value="employees" { (lang.pick("Ansatte", "Tilsette", "Employees")) }
                        option value="absence" { (lang.pick("Sykefravær", "Sjukefråvær", "Sickness absence")) }
                        option value="targets" { (lang.pick("Måltall", "Måltal", "Absence targets")) }
                        option value="measures" { (lang.pick("Tiltak", "Tiltak", "Measures")) }
                        option value="norms" { (lang.pick("Normer (snitt per enhetstype)", "Normer (snitt per einingstype)", "Norms (means per unit type)")) }
                        option value="national" { (lang.pick("Nasjonalt sykefravær (SSB)", "Nasjonalt sjukefråvær (SSB)", "National absence (Statistics Norway)")) }
                    }
                }
                div.field {
                    label for="file" { (lang.pick("Fil", "Fil", "File")) }
                    input #file type="file" name="file" accept=".csv,.xlsx" required;
                }
                button type="submit" { (lang.pick("Forhåndsvis", "Førehandsvis", "Preview")) }
            }
            h2 { (lang.pick("E-post", "E-post", "E-mail")) }
            @if o.outbox.is_empty() {
                p { (lang.pick("Ingen e-post i køen.", "Ingen e-post i køen.", "No e-mail queued.")) }
            } @else {
                ul { @for (status, n) in &o.outbox { li { (status) ": " (n) } } }
            }
            (post_button(viewer, "/admin/utsending", lang.pick("Send det som venter nå", "Send det som ventar no", "Send what is due now"), lang))
            @if !o.failures.is_empty() {
                h3 { (lang.pick("Kunne ikke leveres", "Kunne ikkje leverast", "Could not be delivered")) }
                ul { @for (to, round, err) in &o.failures { li { (to) " (" (round) "): " (err) } } }
            }
        },
    )
}

pub fn round(
    lang: Lang,
    viewer: &Viewer,
    seen: &crate::rounds::live::Seen,
    k: Option<u32>,
) -> Markup {
    let r = &seen.round;
    let path = format!("/admin/runder/{}", r.id);
    signed(
        lang,
        &r.title,
        viewer,
        &path,
        html! {
            p { a href={ "/admin?lang=" (lang.code()) } { (lang.pick("← Administrasjon", "← Administrasjon", "← Administration")) } }
            h1 { (r.title) }
            p { (status_name(lang, &r.status)) " · " (r.opens_on) " – " (r.closes_on) " · "
                (lang.pick("minste gruppe", "minste gruppe", "minimum group")) " " (k.unwrap_or(r.min_group_size.max(0) as u32)) " · "
                (crate::rounds::Delivery::parse(&r.delivery).unwrap_or(crate::rounds::Delivery::Email).name(lang)) }
            p.nav {
                @match r.status.as_str() {
                    "draft" => { (post_button(viewer, &format!("{path}/apne"), lang.pick("Åpne og send invitasjoner", "Opne og send invitasjonar", "Open and send invitations"), lang)) }
                    "open" => {
                        (post_button(viewer, &format!("{path}/purring"), lang.pick("Send påminnelse", "Send påminning", "Send reminder"), lang))
                        (post_button(viewer, &format!("{path}/lukk"), lang.pick("Lukk runden nå", "Lukk runden no", "Close the round now"), lang))
                        a href={ (path) "/brev" } { (lang.pick("Papirbrev", "Papirbrev", "Paper letters")) }
                    }
                    _ => {}
                }
            }
            @if k.is_some() {
                form method="post" action={ (path) "/k?lang=" (lang.code()) } {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    div.field {
                        label for="k" { (lang.pick("Øk minste gruppestørrelse (skjuler mer, aldri mindre)", "Auk minste gruppestorleik (skjuler meir, aldri mindre)", "Raise the minimum group size (hides more, never less)")) }
                        input #k type="number" name="k" min=(k.unwrap_or(3)) value=(k.unwrap_or(3));
                    }
                    button type="submit" { (lang.pick("Øk", "Auk", "Raise")) }
                }
            }
            @if r.status != "draft" {
                h2 { (lang.pick("Svar per enhet", "Svar per eining", "Answers per unit")) }
                @if seen.rows.is_empty() {
                    p { (lang.pick(
                        "For få er invitert til at tall kan vises.",
                        "For få er inviterte til at tal kan visast.",
                        "Too few are invited for numbers to be shown.")) }
                } @else {
                    (super::live::small_units_note(lang, r.min_group_size))
                    (super::live::rows_table(lang, lang.pick("Svar per enhet", "Svar per eining", "Answers per unit"), &seen.rows, seen.total, true))
                    @if r.status == "open" { (super::live::days(lang, seen)) }
                }
            }
        },
    )
}

fn issues_list(lang: Lang, issues: &[Issue]) -> Markup {
    html! {
        div.error role="alert" {
            p { strong { (lang.pick("Filen ble avvist. Ingenting er endret.", "Fila vart avvist. Ingenting er endra.", "The file was rejected. Nothing was changed.")) } }
            ul { @for i in issues { li { (i.render(lang)) } } }
        }
    }
}

/// After an upload (`pending` is Some: a preview, with the confirmation
/// button when there is an id) or after applying (None).
pub fn import_result(
    lang: Lang,
    viewer: &Viewer,
    outcome: &Result<Outcome, Vec<Issue>>,
    pending: Option<&str>,
) -> Markup {
    let title = if pending.is_some() {
        lang.pick(
            "Forhåndsvisning av import",
            "Førehandsvising av import",
            "Import preview",
        )
    } else {
        lang.pick("Import", "Import", "Import")
    };
    signed(
        lang,
        title,
        viewer,
        "/admin",
        html! {
            h1 { (title) }
            @match outcome {
                Err(issues) => (issues_list(lang, issues)),
                Ok(o) => {
                    @if pending.is_some() {
                        p { (lang.pick("Dette vil endres (ingenting er lagret ennå):", "Dette vil endrast (ingenting er lagra enno):", "This would change (nothing is saved yet):")) }
                    } @else {
                        p role="status" { (lang.pick("Importert.", "Importert.", "Imported.")) }
                    }
                    pre.diff { (o.diff.render(lang)) }
                    @for r in &o.rounds { p { (r.render(lang)) } }
                    @for w in &o.warnings { p.hint { (w.render(lang)) } }
                    @if let Some(id) = pending.filter(|id| !id.is_empty()) {
                        form method="post" action={ "/admin/import/" (id) "?lang=" (lang.code()) } {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button.primary type="submit" { (lang.pick("Bekreft import", "Stadfest import", "Confirm import")) }
                        }
                    }
                }
            }
            p { a href={ "/admin?lang=" (lang.code()) } { (lang.pick("Tilbake", "Tilbake", "Back")) } }
        },
    )
}
