//! Paper letters for people without e-mail: one printable page each,
//! grouped by unit, with the one-time code and where to type it.

use crate::crypto::format_code;
use maud::{html, Markup, DOCTYPE};

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
