//! Pages, one function each, on the shared [`layout`]. maud escapes every
//! value; nothing from a user or a file is ever inserted unescaped.

pub mod admin;
pub mod amu;
pub mod auth;
pub mod charts;
pub mod followup;
pub mod letters;
pub mod live;
pub mod processing;
pub mod results;
pub mod survey;

use crate::lang::Lang;
use actix_web::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

/// The frame of every page: language attribute, skip link, header with the
/// language switcher, main landmark, footer. No inline script or style.
pub fn layout(lang: Lang, title: &str, path: &str, body: Markup) -> Markup {
    frame(lang, title, Some(path), body)
}

/// `switch_path`: where the header's language links point; None leaves them
/// out (the questionnaire switches language inside its form, keeping the
/// answers).
pub fn frame(lang: Lang, title: &str, switch_path: Option<&str>, body: Markup) -> Markup {
    let header = html! {
        a.brand href="/" { "naervaer" }
        @if let Some(path) = switch_path {
            nav aria-label=(lang.pick("Språk", "Språk", "Language")) {
                ul.langs {
                    @for l in Lang::ALL {
                        li {
                            @if l == lang {
                                span aria-current="true" lang=(l.code()) { (l.native_name()) }
                            } @else {
                                a href={ (path) "?lang=" (l.code()) } lang=(l.code()) hreflang=(l.code()) { (l.native_name()) }
                            }
                        }
                    }
                }
            }
        }
    };
    let footer = html! {
        p { (lang.pick(
            "naervaer – anonym medarbeiderundersøkelse og nærværsarbeid",
            "naervaer – anonym medarbeidarundersøking og nærværsarbeid",
            "naervaer – anonymous employee survey and presence work")) }
        p { a href={ "/tilgjengelighet?lang=" (lang.code()) } { (lang.pick("Tilgjengelighetserklæring", "Tilgjengeerklæring", "Accessibility statement")) } }
    };
    document(lang, title, Some(header), body, Some(footer))
}

/// The HTML document every page shares: language, viewport, stylesheet,
/// skip link (when there is a header), header, main landmark, footer.
pub fn document(
    lang: Lang,
    title: &str,
    header: Option<Markup>,
    body: Markup,
    footer: Option<Markup>,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – naervaer" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                @if let Some(h) = header {
                    a.skip href="#main" { (lang.pick("Hopp til innholdet", "Hopp til innhaldet", "Skip to content")) }
                    header.site { (h) }
                }
                main #main tabindex="-1" { (body) }
                @if let Some(f) = footer { footer.site { (f) } }
            }
        }
    }
}

pub fn index(lang: Lang, path: &str) -> Markup {
    let title = lang.pick(
        "Medarbeiderundersøkelse og nærvær",
        "Medarbeidarundersøking og nærvær",
        "Employee survey and presence",
    );
    layout(
        lang,
        title,
        path,
        html! {
            h1 { (title) }
            p { (lang.pick(
                "Her svarer du på kommunens medarbeiderundersøkelse. Svarene er anonyme: de lagres uten kobling til deg, og resultater vises bare for grupper med nok svar.",
                "Her svarar du på medarbeidarundersøkinga til kommunen. Svara er anonyme: dei blir lagra utan kopling til deg, og resultat blir berre viste for grupper med nok svar.",
                "This is where you answer the municipality's employee survey. Answers are anonymous: they are stored without any link to you, and results are shown only for groups with enough answers.")) }
            p { (lang.pick(
                "Har du fått en lenke på e-post, bruker du den. Har du fått et brev med en kode, skriver du inn koden når undersøkelsen er åpen.",
                "Har du fått ei lenkje på e-post, bruker du henne. Har du fått eit brev med ein kode, skriv du inn koden når undersøkinga er open.",
                "If you received a link by e-mail, use it. If you received a letter with a code, enter the code while the survey is open.")) }
        },
    )
}

pub fn error_page(lang: Lang, path: &str, status: StatusCode) -> Markup {
    error_page_with(lang, path, status, None)
}

/// An error page; `detail` says what exactly was wrong with the request.
pub fn error_page_with(lang: Lang, path: &str, status: StatusCode, detail: Option<&str>) -> Markup {
    let (title, text) = status_words(lang, status);
    layout(
        lang,
        title,
        path,
        html! {
            h1 { (title) }
            @if let Some(d) = detail { div.error role="alert" { p { (d) } } }
            p { (text) " " a href="/" { (lang.pick("Til forsiden", "Til framsida", "Front page")) } }
            @if status == StatusCode::UNAUTHORIZED { p { a href="/innlogging" { (lang.pick("Logg inn", "Logg inn", "Sign in")) } } }
        },
    )
}

/// What an error status means for a person: a title and what to do.
pub fn status_words(lang: Lang, status: StatusCode) -> (&'static str, &'static str) {
    if status == StatusCode::NOT_FOUND {
        (
            lang.pick("Siden finnes ikke", "Sida finst ikkje", "Page not found"),
            lang.pick(
                "Sjekk adressen, eller gå til forsiden.",
                "Sjekk adressa, eller gå til framsida.",
                "Check the address, or go to the front page.",
            ),
        )
    } else if status == StatusCode::UNAUTHORIZED {
        (
            lang.pick("Logg inn først", "Logg inn først", "Sign in first"),
            lang.pick(
                "Siden er for ledere, AMU-medlemmer og administratorer. Be om en innloggingslenke på /innlogging.",
                "Sida er for leiarar, AMU-medlemmer og administratorar. Be om ei innloggingslenkje på /innlogging.",
                "This page is for leaders, AMU members and administrators. Ask for a sign-in link at /innlogging.",
            ),
        )
    } else if status == StatusCode::FORBIDDEN {
        (
            lang.pick("Ingen tilgang", "Ingen tilgang", "Not allowed"),
            lang.pick(
                "Rollen din gir ikke tilgang til dette, eller skjemaet var utløpt. Gå tilbake og prøv igjen.",
                "Rolla di gir ikkje tilgang til dette, eller skjemaet var gått ut. Gå tilbake og prøv igjen.",
                "Your role does not give access to this, or the form had expired. Go back and try again.",
            ),
        )
    } else if status.is_client_error() {
        (
            lang.pick(
                "Forespørselen kunne ikke behandles",
                "Førespurnaden kunne ikkje handsamast",
                "The request could not be handled",
            ),
            lang.pick(
                "Prøv igjen fra forsiden.",
                "Prøv igjen frå framsida.",
                "Try again from the front page.",
            ),
        )
    } else {
        (
            lang.pick("Noe gikk galt", "Noko gjekk gale", "Something went wrong"),
            lang.pick(
                "Prøv igjen om litt. Ingenting av det du har sendt inn, er lagret halvveis.",
                "Prøv igjen om litt. Ingenting av det du har sendt inn, er lagra halvvegs.",
                "Try again shortly. Nothing you sent has been half-saved.",
            ),
        )
    }
}
