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

/// The sign-in page: the e-mailed link, and (with `oidc`) the button to
/// sign in through the municipality's identity provider.
pub fn request_form(lang: Lang, notice: Option<Notice>, oidc: bool) -> Markup {
    request_form_refused(lang, notice, oidc, None)
}

/// [`request_form`], saying why a sign-in through the identity provider
/// was refused.
pub fn request_form_refused(
    lang: Lang,
    notice: Option<Notice>,
    oidc: bool,
    refusal: Option<&crate::auth::oidc::Refusal>,
) -> Markup {
    use crate::auth::oidc::Refusal;
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
            @if let Some(r) = refusal {
                div.error role="alert" {
                    p { (match r {
                        Refusal::Unknown(_) | Refusal::NoClaim(_) => lang.pick(
                            "Innloggingen gikk gjennom hos kommunen, men kontoen hører ikke til en leder, et verneombud, en tillitsvalgt, et AMU-medlem eller en administrator i naervaer. Ansatte ser resultatene sine gjennom lenken i meldingen om at resultatene er klare.",
                            "Innlogginga gjekk gjennom hos kommunen, men kontoen høyrer ikkje til ein leiar, eit verneombod, ein tillitsvald, eit AMU-medlem eller ein administrator i naervaer. Tilsette ser resultata sine gjennom lenkja i meldinga om at resultata er klare.",
                            "The sign-in went through at the municipality, but the account is not a leader, safety or union representative, AMU member or administrator in naervaer. Employees see their results through the link in the message that the results are ready."),
                        Refusal::State => lang.pick(
                            "Innloggingen tok for lang tid, ble brukt to ganger eller ble startet i en annen nettleser. Prøv igjen.",
                            "Innlogginga tok for lang tid, vart brukt to gonger eller vart starta i ein annan nettlesar. Prøv igjen.",
                            "The sign-in took too long, was used twice or was started in another browser. Try again."),
                        Refusal::Denied(_) => lang.pick(
                            "Innloggingen ble avbrutt eller avvist hos kommunens innlogging.",
                            "Innlogginga vart avbroten eller avvist hos innlogginga til kommunen.",
                            "The sign-in was cancelled or refused by the municipality's sign-in."),
                        Refusal::Token(_) => lang.pick(
                            "Svaret fra kommunens innlogging kunne ikke bekreftes. Prøv igjen, eller be om en lenke på e-post.",
                            "Svaret frå innlogginga til kommunen kunne ikkje stadfestast. Prøv igjen, eller be om ei lenkje på e-post.",
                            "The answer from the municipality's sign-in could not be verified. Try again, or ask for a link by e-mail."),
                        Refusal::Provider(_) => lang.pick(
                            "Kommunens innlogging svarer ikke nå. Be om en lenke på e-post i stedet.",
                            "Innlogginga til kommunen svarar ikkje no. Be om ei lenkje på e-post i staden.",
                            "The municipality's sign-in does not answer now. Ask for a link by e-mail instead."),
                    }) }
                }
            }
            @if oidc {
                p { a.button.primary href={ "/oidc/login?lang=" (lang.code()) } { (lang.pick(
                    "Logg inn med kommunens konto (Entra ID)",
                    "Logg inn med kontoen frå kommunen (Entra ID)",
                    "Sign in with the municipality's account (Entra ID)")) } }
                p { (lang.pick("Eller få en lenke på e-post:", "Eller få ei lenkje på e-post:", "Or get a link by e-mail:")) }
            }
            p { (lang.pick(
                "Ledere, verneombud, tillitsvalgte, AMU-medlemmer og administratorer logger inn med en lenke på e-post. Skriv inn jobbadressen din.",
                "Leiarar, verneombod, tillitsvalde, AMU-medlemmer og administratorar loggar inn med ei lenkje på e-post. Skriv inn jobbadressa di.",
                "Leaders, safety and union representatives, AMU members and administrators sign in with a link by e-mail. Enter your work address.")) }
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
