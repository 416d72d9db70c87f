//! The record of processing as a page: readable on screen, printable (to
//! PDF from the browser), with a link to the Markdown version.

use super::results::signed;
use crate::access::Viewer;
use crate::lang::Lang;
use crate::processing::{Block, Record};
use maud::{html, Markup};

pub fn page(lang: Lang, viewer: &Viewer, r: &Record) -> Markup {
    signed(
        lang,
        &r.title,
        viewer,
        "/admin/behandling",
        html! {
            h1 { (r.title) }
            @for p in &r.preface { p { (p) } }
            p.actions-bar {
                a href={ "/admin/behandling.md?lang=" (lang.code()) } download {
                    (lang.pick("Last ned som Markdown", "Last ned som Markdown", "Download as Markdown"))
                }
                " · "
                (lang.pick(
                    "Skriv ut eller lagre som PDF fra nettleseren.",
                    "Skriv ut eller lagre som PDF frå nettlesaren.",
                    "Print or save as PDF from the browser."))
            }
            nav aria-labelledby="innhold" {
                h2 #innhold { (lang.pick("Innhold", "Innhald", "Contents")) }
                ol { @for s in &r.sections { li { a href={ "#" (s.id) } { (s.heading) } } } }
            }
            @for s in &r.sections {
                section.record aria-labelledby=(s.id) {
                    h2 id=(s.id) { (s.heading) }
                    @for b in &s.blocks {
                        @match b {
                            Block::Text(t) => p { (t) },
                            Block::List(items) => ul { @for i in items { li { (i) } } },
                            Block::Table { head, rows } => div.table-scroll role="region" aria-label=(s.heading) tabindex="0" {
                                table {
                                    thead { tr { @for h in head { th scope="col" { (h) } } } }
                                    tbody { @for row in rows { tr {
                                        @for (i, c) in row.iter().enumerate() {
                                            @if i == 0 { th scope="row" { (c) } } @else { td { (c) } }
                                        }
                                    } } }
                                }
                            },
                        }
                    }
                }
            }
        },
    )
}
