//! Paper letters for people without e-mail: one printable page each,
//! grouped by unit, with the one-time code and where to type it, and a QR
//! code of the same link with the code filled in (for a phone's camera).

use crate::crypto::format_code;
use maud::{html, Markup, DOCTYPE};

/// The address a letter's QR code holds: the code page, the code in the
/// fragment (which a browser never sends to a server, so no proxy logs
/// it); the page fills it in and takes it out of the address. Nothing is
/// looked up until the person presses the button.
pub fn code_link(base_url: &str, code: &str) -> String {
    format!("{base_url}/kode#{}", format_code(code))
}

/// A QR code of `text` as SVG written here (one path of the dark modules,
/// four modules of quiet zone), so nothing generated is pasted into the
/// page unescaped. Error correction M: a letter folded or smudged still
/// scans.
pub fn qr_svg(text: &str, label: &str) -> Markup {
    use qrcode::{Color, EcLevel, QrCode};
    let Ok(code) = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M) else {
        return html! {};
    };
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut d = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            d.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    html! {
        svg.qr xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (size) " " (size) } role="img" aria-label=(label) shape-rendering="crispEdges" {
            rect width=(size) height=(size) fill="#ffffff" {}
            path d=(d) fill="#000000" {}
        }
    }
}

pub use crate::rounds::Letter;

pub fn letters(
    title: &str,
    base_url: &str,
    closes_on: chrono::NaiveDate,
    contact: &str,
    letters: &[Letter],
) -> Markup {
    let date = closes_on.format("%d.%m.%Y").to_string();
    html! {
        (DOCTYPE)
        html lang="nb" {
            head {
                meta charset="utf-8";
                title { (title) }
                link rel="stylesheet" href={ (base_url) "/static/app.css" };
            }
            body {
                main {
                    @for l in letters {
                        @let lang = l.lang;
                        section.letter lang=(lang.code()) {
                            p { (l.name) br; (l.unit) }
                            h1 { (title) }
                            p { (lang.pick(
                                "Du er invitert til å svare på medarbeiderundersøkelsen. Det tar om lag ti minutter.",
                                "Du er invitert til å svare på medarbeidarundersøkinga. Det tek om lag ti minutt.",
                                "You are invited to answer the employee survey. It takes about ten minutes.")) }
                            p { (lang.pick("Gå til", "Gå til", "Go to")) " " strong { (base_url) "/kode" } " " (lang.pick("og skriv inn koden:", "og skriv inn koden:", "and enter the code:")) }
                            p.code { (format_code(&l.code)) }
                            div.qr-box {
                                (qr_svg(&code_link(base_url, &l.code), lang.pick(
                                    "QR-kode: lenke til undersøkelsen med koden over fylt inn",
                                    "QR-kode: lenkje til undersøkinga med koden over fylt inn",
                                    "QR code: a link to the survey with the code above filled in")))
                                p { (lang.pick(
                                    "Eller skann QR-koden med kameraet på mobilen: koden er da fylt inn.",
                                    "Eller skann QR-koden med kameraet på mobilen: koden er då fylt inn.",
                                    "Or scan the QR code with your phone's camera: the code is then filled in.")) }
                            }
                            p { (lang.pick("Undersøkelsen er åpen til og med", "Undersøkinga er open til og med", "The survey is open until and including")) " " (date) "." }
                            p { (lang.pick(
                                "Svarene er anonyme. Koden kan brukes én gang og sørger bare for at ingen svarer to ganger; svaret lagres uten kobling til deg eller koden.",
                                "Svara er anonyme. Koden kan brukast éin gong og sørgjer berre for at ingen svarar to gonger; svaret blir lagra utan kopling til deg eller koden.",
                                "Answers are anonymous. The code works once and only makes sure nobody answers twice; the answer is stored without any link to you or the code.")) }
                            p { (lang.pick("Spørsmål? Kontakt", "Spørsmål? Kontakt", "Questions? Contact")) " " (contact) "." }
                        }
                    }
                }
            }
        }
    }
}
