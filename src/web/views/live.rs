//! `/svarprosent`: the response rate of the open rounds for the viewer's
//! units, and the administrator's round page's counts: rows of at least k
//! invited (ANONYMITY.md §6b), never results.

use super::results::signed;
use crate::access::Viewer;
use crate::lang::{decimal, Lang};
use crate::rounds::live::{NamedRow, Seen};
use maud::{html, Markup};

fn pct(x: f64, l: Lang) -> String {
    format!("{}\u{a0}%", decimal(x, 0, l))
}

/// The table of rows and their sum: each row a unit, with the small units
/// counted inside it named.
pub fn rows_table(
    l: Lang,
    caption: &str,
    rows: &[NamedRow],
    total: crate::rounds::live::Count,
    reminded: bool,
) -> Markup {
    html! {
        div.table-scroll tabindex="0" role="region" aria-label=(caption) {
            table {
                caption { (caption) }
                thead { tr {
                    th scope="col" { (l.pick("Enhet", "Eining", "Unit")) }
                    th scope="col" { (l.pick("Invitert", "Invitert", "Invited")) }
                    th scope="col" { (l.pick("Svart", "Svart", "Answered")) }
                    th scope="col" { (l.pick("Svarprosent", "Svarprosent", "Response rate")) }
                    @if reminded { th scope="col" { (l.pick("Påminnet", "Påminte", "Reminded")) } }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            th scope="row" class={ "depth-" (r.depth.min(6)) } {
                                (r.name)
                                @if !r.includes.is_empty() {
                                    br;
                                    span.hint { (l.pick("med", "med", "with")) " " (r.includes.join(", ")) }
                                }
                            }
                            td { (r.count.invited) }
                            td { (r.count.answered) }
                            td { (pct(r.count.rate(), l)) }
                            @if reminded { td { (r.count.reminded) } }
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" { (l.pick("Sum", "Sum", "Total")) }
                    td { (total.invited) }
                    td { (total.answered) }
                    td { (pct(total.rate(), l)) }
                    @if reminded { td { (total.reminded) } }
                } }
            }
        }
    }
}

/// What the rows mean, once per page.
pub fn small_units_note(l: Lang, k: i32) -> Markup {
    html! {
        p.hint { (match l {
            Lang::Nb => format!("Bare antall, aldri svar. En enhet med færre enn {k} inviterte vises ikke alene (da kunne tallene vise hvem som ikke har svart): den telles med i enheten over."),
            Lang::Nn => format!("Berre tal, aldri svar. Ei eining med færre enn {k} inviterte blir ikkje vist åleine (då kunne tala vise kven som ikkje har svart): ho blir talt med i eininga over."),
            Lang::En => format!("Counts only, never answers. A unit with fewer than {k} invited is not shown alone (its numbers could tell who has not answered): it is counted in the unit above."),
        }) }
    }
}

/// Answers per day and the rate so far, as a chart and a table.
pub fn days(l: Lang, s: &Seen) -> Markup {
    let invited = f64::from(s.total.invited.max(1));
    let rates: Vec<Option<f64>> = s
        .days
        .iter()
        .map(|(_, _, so_far)| Some(f64::from(*so_far) * 100.0 / invited))
        .collect();
    let labels: Vec<String> = s
        .days
        .iter()
        .map(|(d, _, _)| d.format("%d.%m").to_string())
        .collect();
    let title = l.pick(
        "Svarprosent dag for dag",
        "Svarprosent dag for dag",
        "Response rate day by day",
    );
    html! {
        h3 { (title) }
        (super::charts::line(&rates, &labels, (0.0, 100.0), 0, title, l))
        div.table-scroll tabindex="0" role="region" aria-label=(title) {
            table {
                caption.visually-hidden { (title) }
                thead { tr {
                    th scope="col" { (l.pick("Dag", "Dag", "Day")) }
                    th scope="col" { (l.pick("Svar denne dagen", "Svar denne dagen", "Answers that day")) }
                    th scope="col" { (l.pick("Svar til nå", "Svar til no", "Answers so far")) }
                    th scope="col" { (l.pick("Svarprosent", "Svarprosent", "Response rate")) }
                } }
                tbody {
                    @for (d, new, so_far) in &s.days {
                        tr {
                            th scope="row" { (d.format("%d.%m.%Y")) }
                            td { (new) }
                            td { (so_far) }
                            td { (pct(f64::from(*so_far) * 100.0 / invited, l)) }
                        }
                    }
                }
            }
        }
    }
}

/// `/svarprosent`.
pub fn page(l: Lang, viewer: &Viewer, rounds: &[Seen]) -> Markup {
    let title = l.pick("Svarprosent", "Svarprosent", "Response rate");
    signed(
        l,
        title,
        viewer,
        "/svarprosent",
        html! {
            h1 { (title) }
            @if rounds.is_empty() {
                p { (l.pick(
                    "Ingen runde er åpen for enhetene dine nå, eller enhetene har for få inviterte til at tallene kan vises.",
                    "Ingen runde er open for einingane dine no, eller einingane har for få inviterte til at tala kan visast.",
                    "No round is open for your units now, or your units have too few invited for the numbers to be shown.")) }
            }
            @for s in rounds {
                section {
                    h2 { (s.round.title) }
                    p.hint { (l.pick("Åpen til og med", "Open til og med", "Open until and including")) " " (s.round.closes_on_date().format("%d.%m.%Y")) }
                    (small_units_note(l, s.round.min_group_size))
                    (rows_table(l, l.pick("Svar per enhet", "Svar per eining", "Answers per unit"), &s.rows, s.total, false))
                    (days(l, s))
                }
            }
        },
    )
}
