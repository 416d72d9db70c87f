//! The answering pages: the questionnaire, the code entry, the messages
//! that end a visit, and the accessibility statement.

use super::{frame, layout};
use crate::lang::Lang;
use crate::rounds::answer::{background_field, item_field, pages, Answers, Page};
use crate::rounds::Round;
use crate::survey::Survey;
use maud::{html, Markup};

/// One page of the questionnaire. Answers given on other pages travel as
/// hidden fields: the server keeps no draft that could tie answers to a
/// person.
pub fn questionnaire(
    lang: Lang,
    round: &Round,
    surveys: &[Survey],
    page_no: usize,
    answers: &Answers,
) -> Markup {
    let all = pages(surveys);
    let page = &all[page_no];
    let last = page_no + 1 == all.len();
    let title = surveys
        .first()
        .map(|s| s.title.get(lang).to_string())
        .unwrap_or_else(|| round.title.clone());
    let on_page: Vec<String> = match page {
        Page::Items(items) => items
            .iter()
            .map(|(si, ii)| item_field(&surveys[*si], &surveys[*si].items[*ii].key))
            .collect(),
        Page::Background(qs) => qs
            .iter()
            .map(|(si, bi)| background_field(&surveys[*si], &surveys[*si].background[*bi].key))
            .collect(),
    };
    let progress = format!(
        "{} {} {} {}",
        lang.pick("Side", "Side", "Page"),
        page_no + 1,
        lang.pick("av", "av", "of"),
        all.len()
    );
    frame(
        lang,
        &title,
        None,
        html! {
            h1 { (title) }
            p #progress-text { (progress) }
            progress max=(all.len()) value=(page_no + 1) aria-labelledby="progress-text" { (progress) }
            @if page_no == 0 {
                @if let Some(intro) = surveys.first().and_then(|s| s.intro.as_ref()) { p.intro { (intro.get(lang)) } }
                p.hint { (lang.pick(
                    "Alle spørsmål kan hoppes over. Velg «vet ikke / ikke relevant» når et spørsmål ikke passer for deg.",
                    "Alle spørsmål kan hoppast over. Vel «veit ikkje / ikkje relevant» når eit spørsmål ikkje passar for deg.",
                    "Every question may be skipped. Choose \"don't know / not relevant\" when a question does not fit you.")) }
            }
            form method="post" action={ "/svar?lang=" (lang.code()) } {
                input type="hidden" name="page" value=(page_no);
                @for (field, value) in &answers.items {
                    @if !on_page.contains(field) { input type="hidden" name=(field) value=(value); }
                }
                @for (field, value) in &answers.background {
                    @if !on_page.contains(field) { input type="hidden" name=(field) value=(value); }
                }
                @match page {
                    Page::Items(items) => {
                        @for (si, ii) in items {
                            @let s = &surveys[*si];
                            @let item = &s.items[*ii];
                            @let field = item_field(s, &item.key);
                            @let chosen = answers.items.get(&field).copied();
                            fieldset.item {
                                legend { (item.text.get(lang)) }
                                div.scale {
                                    @for v in 1..=5u8 {
                                        (radio("option", &field, &v.to_string(), chosen == Some(v),
                                            html! { span.num aria-hidden="true" { (v) } " " (s.scale_labels[usize::from(v) - 1].get(lang)) }))
                                    }
                                    (radio("option dontknow", &field, "0", chosen == Some(0), html! { (s.dont_know.get(lang)) }))
                                }
                            }
                        }
                    }
                    Page::Background(qs) => {
                        h2 { (lang.pick("Om deg (frivillig)", "Om deg (frivillig)", "About you (optional)")) }
                        p.hint { (lang.pick(
                            "Disse svarene vises bare for hele kommunen samlet, aldri for en enhet.",
                            "Desse svara blir berre viste for heile kommunen samla, aldri for ei eining.",
                            "These answers are shown only for the whole organisation, never for a unit.")) }
                        @for (si, bi) in qs {
                            @let s = &surveys[*si];
                            @let q = &s.background[*bi];
                            @let field = background_field(s, &q.key);
                            fieldset.item {
                                legend { (q.question.get(lang)) }
                                div.choices {
                                    @for o in &q.options {
                                        (radio("option", &field, &o.key, answers.background.get(&field) == Some(&o.key), html! { (o.label.get(lang)) }))
                                    }
                                }
                            }
                        }
                    }
                }
                div.nav {
                    @if last {
                        button.primary type="submit" name="go" value="submit" { (lang.pick("Send inn svarene", "Send inn svara", "Submit your answers")) }
                    } @else {
                        button.primary type="submit" name="go" value="next" { (lang.pick("Neste", "Neste", "Next")) }
                    }
                    @if page_no > 0 {
                        button type="submit" name="go" value="back" { (lang.pick("Forrige", "Førre", "Previous")) }
                    }
                }
                @if last {
                    p.hint { (lang.pick(
                        "Når du har sendt inn, kan ikke svarene endres. Ingen kan se hva du har svart.",
                        "Når du har sendt inn, kan ikkje svara endrast. Ingen kan sjå kva du har svart.",
                        "Once submitted, the answers cannot be changed. Nobody can see what you answered.")) }
                }
                div.langswitch role="group" aria-label=(lang.pick("Bytt språk", "Byt språk", "Change language")) {
                    @for l in Lang::ALL {
                        @if l != lang {
                            button.link type="submit" name="go" value=(l.code()) lang=(l.code()) { (l.native_name()) }
                        }
                    }
                }
            }
        },
    )
}

/// One labelled radio button: the whole row is its label's target.
fn radio(class: &str, field: &str, value: &str, checked: bool, label: Markup) -> Markup {
    let id = format!("{field}-{value}");
    html! {
        div class=(class) {
            input type="radio" id=(id) name=(field) value=(value) checked[checked];
            label for=(id) { (label) }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Message {
    InvalidLink,
    NoSession,
    AlreadyAnswered,
    Closed,
    BadForm,
    Thanks,
}

pub fn message(lang: Lang, m: Message) -> Markup {
    let l = lang;
    let (title, text) = match m {
        Message::InvalidLink => (
            l.pick("Lenken virker ikke", "Lenkja verkar ikkje", "The link does not work"),
            l.pick("Sjekk at du har fått med hele lenken fra e-posten. Har du fått et brev med kode, kan du skrive inn koden.",
                   "Sjekk at du har fått med heile lenkja frå e-posten. Har du fått eit brev med kode, kan du skrive inn koden.",
                   "Check that you copied the whole link from the e-mail. If you received a letter with a code, you can enter the code."),
        ),
        Message::NoSession => (
            l.pick("Økten er utløpt", "Økta er gått ut", "The session has expired"),
            l.pick("Åpne lenken fra e-posten på nytt, eller skriv inn koden fra brevet.",
                   "Opne lenkja frå e-posten på nytt, eller skriv inn koden frå brevet.",
                   "Open the link from the e-mail again, or enter the code from the letter."),
        ),
        Message::AlreadyAnswered => (
            l.pick("Du har allerede svart", "Du har allereie svart", "You have already answered"),
            l.pick("Svarene dine er registrert. Takk! Lenken kan bare brukes én gang.",
                   "Svara dine er registrerte. Takk! Lenkja kan berre brukast éin gong.",
                   "Your answers are registered. Thank you! The link can be used only once."),
        ),
        Message::Closed => (
            l.pick("Undersøkelsen er stengt", "Undersøkinga er stengd", "The survey is closed"),
            l.pick("Det er ikke lenger mulig å svare. Ingen svar er lagret fra dette besøket.",
                   "Det er ikkje lenger mogleg å svare. Ingen svar er lagra frå dette besøket.",
                   "It is no longer possible to answer. Nothing was stored from this visit."),
        ),
        Message::BadForm => (
            l.pick("Skjemaet kunne ikke leses", "Skjemaet kunne ikkje lesast", "The form could not be read"),
            l.pick("Ingenting er lagret. Åpne lenken fra e-posten på nytt og prøv igjen.",
                   "Ingenting er lagra. Opne lenkja frå e-posten på nytt og prøv igjen.",
                   "Nothing was stored. Open the link from the e-mail again and try again."),
        ),
        Message::Thanks => (
            l.pick("Takk for svarene!", "Takk for svara!", "Thank you for your answers!"),
            l.pick("Svarene dine er lagret uten kobling til deg. Resultatene blir vist når undersøkelsen er avsluttet, og bare for grupper med nok svar.",
                   "Svara dine er lagra utan kopling til deg. Resultata blir viste når undersøkinga er avslutta, og berre for grupper med nok svar.",
                   "Your answers are stored without any link to you. Results are shown when the survey has closed, and only for groups with enough answers."),
        ),
    };
    frame(lang, title, None, html! { h1 { (title) } p { (text) } })
}

/// The receipt. On a shared device (`next_person`: the answer was given
/// with a paper code) it leads back to an empty code page for the next one.
pub fn receipt(lang: Lang, next_person: bool) -> Markup {
    if !next_person {
        return message(lang, Message::Thanks);
    }
    let l = lang;
    let title = l.pick(
        "Takk for svarene!",
        "Takk for svara!",
        "Thank you for your answers!",
    );
    frame(
        lang,
        title,
        None,
        html! {
            h1 { (title) }
            p { (l.pick(
                "Svarene dine er lagret uten kobling til deg, og ingenting av dem er igjen på denne enheten.",
                "Svara dine er lagra utan kopling til deg, og ingenting av dei er att på denne eininga.",
                "Your answers are stored without any link to you, and nothing of them is left on this device.")) }
            p { a.button href={ "/kode?lang=" (lang) } { (l.pick("Neste person", "Neste person", "Next person")) } }
        },
    )
}

/// The code entry page; `refused` adds the one answer every failure gets.
pub fn code_form(lang: Lang, refused: bool) -> Markup {
    let title = lang.pick(
        "Skriv inn koden fra brevet",
        "Skriv inn koden frå brevet",
        "Enter the code from the letter",
    );
    layout(
        lang,
        title,
        "/kode",
        html! {
            h1 { (title) }
            @if refused {
                div.notice role="alert" {
                    p { (lang.pick(
                        "Koden kan ikke brukes. Sjekk at den er skrevet riktig, og at undersøkelsen er åpen.",
                        "Koden kan ikkje brukast. Sjekk at han er skriven rett, og at undersøkinga er open.",
                        "The code cannot be used. Check that it is typed correctly and that the survey is open.")) }
                }
            }
            form method="post" action={ "/kode?lang=" (lang.code()) } {
                label for="kode" { (lang.pick("Kode (11 tegn, for eksempel 7K3M-QX9P-2RT)", "Kode (11 teikn, til dømes 7K3M-QX9P-2RT)", "Code (11 characters, for example 7K3M-QX9P-2RT)")) }
                input #kode type="text" name="kode" autocomplete="off" autocapitalize="characters" spellcheck="false" required;
                div.nav { button.primary type="submit" { (lang.pick("Gå til undersøkelsen", "Gå til undersøkinga", "Go to the survey")) } }
            }
            // Fills the code in from a letter's QR code (/kode#CODE).
            script src="/static/kode.js" defer {}
        },
    )
}

pub fn accessibility(lang: Lang, path: &str) -> Markup {
    let title = lang.pick(
        "Tilgjengelighetserklæring",
        "Tilgjengeerklæring",
        "Accessibility statement",
    );
    layout(
        lang,
        title,
        path,
        html! {
            h1 { (title) }
            p { (lang.pick(
                "Svarsidene i naervaer skal oppfylle kravene i WCAG 2.1 nivå AA, slik forskrift om universell utforming av IKT-løsninger krever.",
                "Svarsidene i naervaer skal oppfylle krava i WCAG 2.1 nivå AA, slik forskrift om universell utforming av IKT-løysingar krev.",
                "The answering pages of naervaer are meant to meet WCAG 2.1 level AA, as Norwegian regulations on universal design of ICT require.")) }
            h2 { (lang.pick("Slik er sidene laget", "Slik er sidene laga", "How the pages are made")) }
            ul {
                li { (lang.pick("Sidene virker uten JavaScript, på mobil og PC, og kan brukes med tastatur alene.", "Sidene verkar utan JavaScript, på mobil og PC, og kan brukast med tastatur åleine.", "The pages work without JavaScript, on phones and PCs, and with a keyboard alone.")) }
                li { (lang.pick("Hvert spørsmål er en gruppe med radioknapper og en ledetekst som skjermlesere leser opp.", "Kvart spørsmål er ei gruppe med radioknappar og ein leietekst som skjermlesarar les opp.", "Each question is a group of radio buttons with a caption that screen readers announce.")) }
                li { (lang.pick("Sidene finnes på bokmål, nynorsk og engelsk.", "Sidene finst på bokmål, nynorsk og engelsk.", "The pages are available in Bokmål, Nynorsk and English.")) }
                li { (lang.pick("Hver versjon testes automatisk med axe-core i Chromium, og med tastatur.", "Kvar versjon blir testa automatisk med axe-core i Chromium, og med tastatur.", "Every version is tested automatically with axe-core in Chromium, and with a keyboard.")) }
            }
            h2 { (lang.pick("Kjente mangler", "Kjende manglar", "Known shortcomings")) }
            p { (lang.pick("Vi kjenner ikke til mangler. Finner du noe som ikke virker, kontakt HR-avdelingen i kommunen din.", "Vi kjenner ikkje til manglar. Finn du noko som ikkje verkar, kontakt HR-avdelinga i kommunen din.", "We know of no shortcomings. If something does not work for you, contact your municipality's HR department.")) }
        },
    )
}
