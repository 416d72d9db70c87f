//! Sign-in pages.

use super::layout;
use crate::lang::Lang;
use maud::{html, Markup};

pub enum Notice {
    /// The same text whether or not the address is known.
    Sent,
    TooMany,
    LinkUsedOrExpired,
}

pub fn request_form(lang: Lang, notice: Option<Notice>) -> Markup {
    let title = lang.pick("Logg inn", "Logg inn", "Sign in");
    layout(
        lang,
        title,
        "/innlogging",
        html! {
            h1 { (title) }
            @match notice {
                Some(Notice::Sent) => div.notice role="status" {
                    p { (lang.pick(
                        "Hvis adressen hører til en leder, et AMU-medlem eller en administrator, er en innloggingslenke sendt til den. Lenken virker én gang og i 15 minutter.",
                        "Om adressa høyrer til ein leiar, eit AMU-medlem eller ein administrator, er ei innloggingslenkje send til henne. Lenkja verkar éin gong og i 15 minutt.",
                        "If the address belongs to a leader, an AMU member or an administrator, a sign-in link has been sent to it. The link works once, for 15 minutes.")) }
                },
                Some(Notice::TooMany) => div.error role="alert" {
                    p { (lang.pick(
                        "For mange forsøk. Vent noen minutter og prøv igjen.",
                        "For mange forsøk. Vent nokre minutt og prøv igjen.",
                        "Too many attempts. Wait a few minutes and try again.")) }
                },
                Some(Notice::LinkUsedOrExpired) => div.error role="alert" {
                    p { (lang.pick(
                        "Lenken er allerede brukt eller har gått ut. Be om en ny lenke under.",
                        "Lenkja er alt brukt eller har gått ut. Be om ei ny lenkje under.",
                        "The link has already been used or has expired. Ask for a new one below.")) }
                },
                None => {},
            }
            p { (lang.pick(
                "Ledere, AMU-medlemmer og administratorer logger inn med en lenke på e-post. Skriv inn jobbadressen din.",
                "Leiarar, AMU-medlemmer og administratorar loggar inn med ei lenkje på e-post. Skriv inn jobbadressa di.",
                "Leaders, AMU members and administrators sign in with a link by e-mail. Enter your work address.")) }
            form method="post" action={ "/innlogging?lang=" (lang.code()) } {
                div.field {
                    label for="email" { (lang.pick("E-postadresse", "E-postadresse", "E-mail address")) }
                    input #email type="email" name="email" autocomplete="email" required;
                }
                button type="submit" { (lang.pick("Send meg en lenke", "Send meg ei lenkje", "Send me a link")) }
            }
        },
    )
}

pub fn confirm(lang: Lang, token: &str) -> Markup {
    let title = lang.pick("Logg inn", "Logg inn", "Sign in");
    html! {
        (super::frame(lang, title, None, html! {
            h1 { (title) }
            p { (lang.pick(
                "Trykk på knappen for å logge inn. Lenken virker bare én gang.",
                "Trykk på knappen for å logge inn. Lenkja verkar berre éin gong.",
                "Press the button to sign in. The link works only once.")) }
            form method="post" action={ "/innlogging/" (token) "?lang=" (lang.code()) } {
                button type="submit" { (title) }
            }
        }))
    }
}
