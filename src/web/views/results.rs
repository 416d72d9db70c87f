//! Result pages for leaders, AMU and administrators. Everything shown comes
//! from a [`UnitReport`]; the charts are SVG written here, one small chart
//! per factor so that names stay HTML text, readable at any width.

use crate::access::Viewer;
use crate::followup::plans::ActionItem;
use crate::lang::decimal;
use crate::lang::Lang;
use crate::results::{GroupSummary, UnitReport};
use crate::snapshot::FactorStat;
use maud::{html, Markup};

/// The frame of every signed-in page: the site header with the viewer's
/// navigation and the sign-out button.
pub fn signed(lang: Lang, title: &str, viewer: &Viewer, path: &str, body: Markup) -> Markup {
    let header = html! {
        a.brand href="/resultater" { "naervaer" }
        nav aria-label=(lang.pick("Meny", "Meny", "Menu")) {
            ul.langs {
                li { a href={ "/resultater?lang=" (lang.code()) } { (lang.pick("Resultater", "Resultat", "Results")) } }
                li { a href={ "/oppfolging?lang=" (lang.code()) } { (lang.pick("Oppfølging", "Oppfølging", "Follow-up")) } }
                @if viewer.admin || !viewer.leader_of.is_empty() {
                    li { a href={ "/svarprosent?lang=" (lang.code()) } { (lang.pick("Svarprosent", "Svarprosent", "Response rate")) } }
                }
                @if viewer.sees_everything() {
                    li { a href={ "/amu?lang=" (lang.code()) } { (lang.pick("AMU", "AMU", "AMU")) } }
                }
                li { a href={ "/tiltak?lang=" (lang.code()) } { (lang.pick("Tiltak", "Tiltak", "Measures")) } }
                @if viewer.admin {
                    li { a href={ "/admin?lang=" (lang.code()) } { (lang.pick("Administrasjon", "Administrasjon", "Administration")) } }
                }
                @for l in Lang::ALL {
                    @if l != lang {
                        li { a href={ (path) "?lang=" (l.code()) } lang=(l.code()) hreflang=(l.code()) { (l.native_name()) } }
                    }
                }
            }
        }
        form.signout method="post" action="/utlogging" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            button.link type="submit" { (lang.pick("Logg ut", "Logg ut", "Sign out")) " (" (viewer.name) ")" }
        }
    };
    super::document(lang, title, Some(header), body, None)
}

/// `/resultater`: the closed rounds and the units the viewer may open.
pub fn index(lang: Lang, viewer: &Viewer, rounds: &[crate::results::RoundListing]) -> Markup {
    let title = lang.pick("Resultater", "Resultat", "Results");
    signed(
        lang,
        title,
        viewer,
        "/resultater",
        html! {
            h1 { (title) }
            @if rounds.is_empty() {
                p { (lang.pick(
                    "Ingen undersøkelse er avsluttet ennå. Resultatene kommer når en runde lukkes.",
                    "Inga undersøking er avslutta enno. Resultata kjem når ein runde blir lukka.",
                    "No survey has closed yet. Results appear when a round closes.")) }
            }
            @for r in rounds {
                section {
                    h2 { (r.title) }
                    p.hint { (lang.pick("Avsluttet", "Avslutta", "Closed")) " " (r.closes_on) }
                    ul {
                        @for g in &r.groups {
                            li class={ "depth-" (g.depth.min(6)) } {
                                a href={ "/resultater/" (r.id) "/" (g.id) "?lang=" (lang.code()) } { (g.name) }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn pct(x: f64, lang: Lang) -> String {
    format!("{}\u{a0}%", decimal(x * 100.0, 0, lang))
}

/// x position of a score on the 1–5 scale in a 400-wide chart.
fn x_of(v: f64) -> f64 {
    (v.clamp(1.0, 5.0) - 1.0) / 4.0 * 400.0
}

/// One factor's chart: the mean as a bar, the 95 % interval as a whisker,
/// the level above (dashed) and the organisation (solid) as ticks.
fn bar(s: &FactorStat, above: Option<f64>, org: Option<f64>, label: &str) -> Markup {
    html! {
        svg.chart viewBox="0 0 400 28" preserveAspectRatio="none" role="img" aria-label=(label) focusable="false" {
            rect x="0" y="0" width="400" height="28" fill="#f2f2f2" {}
            @for t in [100.0, 200.0, 300.0] {
                line x1=(t) x2=(t) y1="0" y2="28" stroke="#ffffff" stroke-width="2" vector-effect="non-scaling-stroke" {}
            }
            rect x="0" y="6" width=(format!("{:.1}", x_of(s.mean))) height="16" fill="#1f5f8b" {}
            line x1=(format!("{:.1}", x_of(s.ci_low))) x2=(format!("{:.1}", x_of(s.ci_high))) y1="14" y2="14" stroke="#1a1a1a" stroke-width="2" vector-effect="non-scaling-stroke" {}
            @for x in [s.ci_low, s.ci_high] {
                line x1=(format!("{:.1}", x_of(x))) x2=(format!("{:.1}", x_of(x))) y1="9" y2="19" stroke="#1a1a1a" stroke-width="2" vector-effect="non-scaling-stroke" {}
            }
            @if let Some(a) = above {
                line.above x1=(format!("{:.1}", x_of(a))) x2=(format!("{:.1}", x_of(a))) y1="0" y2="28" stroke="#8a3b00" stroke-width="3" stroke-dasharray="4 3" vector-effect="non-scaling-stroke" {}
            }
            @if let Some(o) = org {
                line.org x1=(format!("{:.1}", x_of(o))) x2=(format!("{:.1}", x_of(o))) y1="0" y2="28" stroke="#6b2a8a" stroke-width="3" vector-effect="non-scaling-stroke" {}
            }
        }
    }
}

fn hidden_message(lang: Lang, k: u32) -> Markup {
    html! {
        div.hidden role="note" {
            p { strong { (match lang {
                Lang::Nb => format!("Færre enn {k} svar — resultatene vises på nivået over"),
                Lang::Nn => format!("Færre enn {k} svar — resultata blir viste på nivået over"),
                Lang::En => format!("Fewer than {k} answers — the results are shown at the level above"),
            }) } }
            p.hint { (lang.pick(
                "For å verne anonymiteten vises ingen tall for små grupper, og heller ikke for grupper der noen kunne regnet seg fram til en liten gruppe ved å trekke tall fra hverandre.",
                "For å verne anonymiteten blir ingen tal viste for små grupper, og heller ikkje for grupper der nokon kunne rekna seg fram til ei lita gruppe ved å trekkje tal frå kvarandre.",
                "To protect anonymity no figures are shown for small groups, nor for groups from which someone could work out a small group by subtracting figures.")) }
        }
    }
}

fn change_text(s: &FactorStat, lang: Lang) -> String {
    match s.change() {
        None => "–".into(),
        Some(c) => {
            let d = if c.diff >= 0.0 {
                format!("+{}", decimal(c.diff, 2, lang))
            } else {
                decimal(c.diff, 2, lang)
            };
            let verdict = if c.is_real() {
                lang.pick("endring", "endring", "change")
            } else {
                lang.pick(
                    "ingen sikker endring",
                    "inga sikker endring",
                    "no clear change",
                )
            };
            format!(
                "{d} ({verdict}; {} {} – {})",
                lang.pick("95 % KI", "95 % KI", "95% CI"),
                decimal(c.low, 2, lang),
                decimal(c.high, 2, lang)
            )
        }
    }
}

fn group_line(g: &GroupSummary, lang: Lang, k: u32) -> Markup {
    html! {
        @if let (Some(n), Some(inv), Some(rate)) = (g.respondents, g.invited, g.response_rate) {
            (match lang {
                Lang::Nb => format!("{n} av {inv} svarte ({})", pct(rate, lang)),
                Lang::Nn => format!("{n} av {inv} svarte ({})", pct(rate, lang)),
                Lang::En => format!("{n} of {inv} answered ({})", pct(rate, lang)),
            })
        } @else {
            (match lang {
                Lang::Nb => format!("Skjult (færre enn {k} svar)"),
                Lang::Nn => format!("Skjult (færre enn {k} svar)"),
                Lang::En => format!("Hidden (fewer than {k} answers)"),
            })
        }
    }
}

const OPTIONS: [(&str, &str, &str); 6] = [
    ("Vet ikke", "Veit ikkje", "Don't know"),
    ("1 Svært uenig", "1 Svært usamd", "1 Strongly disagree"),
    ("2", "2", "2"),
    ("3", "3", "3"),
    ("4", "4", "4"),
    ("5 Svært enig", "5 Svært samd", "5 Strongly agree"),
];

/// The unit page. `print` drops navigation and opens every distribution.
pub fn unit(
    lang: Lang,
    viewer: &Viewer,
    r: &UnitReport,
    actions: &ActionsView,
    print: bool,
    path: &str,
) -> Markup {
    let body = html! {
        (report_body(lang, r, print, false))
        (action_section(lang, viewer, r, actions, print))
    };
    if print {
        super::document(lang, &r.group.name, None, body, None)
    } else {
        signed(lang, &r.group.name, viewer, path, body)
    }
}

/// `/r/{token}`: a group's released results through the link in the
/// "results are ready" message, for everyone in the group, without
/// signing in: the report alone, no exports, no links to other groups.
pub fn linked(lang: Lang, r: &UnitReport, path: &str) -> Markup {
    let body = html! {
        div.info {
            p { (lang.pick(
                "Dette er resultatene for gruppen din fra medarbeiderundersøkelsen. Lederen din går gjennom dem med dere, sammen med verneombudet og den tillitsvalgte, og dere blir enige om hva dere skal arbeide med.",
                "Dette er resultata for gruppa di frå medarbeidarundersøkinga. Leiaren din går gjennom dei med dykk, saman med verneombodet og den tillitsvalde, og de blir samde om kva de skal arbeide med.",
                "These are your group's results from the employee survey. Your leader will go through them with you, together with the safety representative and the union representative, and you will agree on what to work on.")) }
        }
        (report_body(lang, r, false, true))
    };
    super::layout(lang, &r.group.name, path, body)
}

/// The report of one group: its factors, answers per question, background
/// and reliability (where the group is the organisation), and the groups
/// below. `linked`: seen through a results link, so the group's own report
/// alone: no exports, no groups below.
fn report_body(lang: Lang, r: &UnitReport, print: bool, linked: bool) -> Markup {
    let k = r.min_group_size;
    let base = format!("/resultater/{}/{}", r.round_id, r.group.id);
    html! {
        p.hint { (r.round_title) " · " (lang.pick("avsluttet", "avslutta", "closed")) " " (r.closed_on) }
        h1 { (r.group.name) }
        p.rate { (group_line(&r.group, lang, k)) }
        @if !print && !linked {
            p.actions-bar {
                a href={ (base) "/utskrift?lang=" (lang.code()) } { (lang.pick("Utskriftsversjon", "Utskriftsversjon", "Printable version")) }
                " · "
                a href={ (base) "/csv?lang=" (lang.code()) } download { "CSV" }
                " · "
                a href={ (base) "/xlsx?lang=" (lang.code()) } download { "Excel" }
                " · "
                a href={ "/api/v1/rounds/" (r.round_id) "/groups/" (r.group.id) "?lang=" (lang.code()) } { "JSON" }
                " · "
                a href={ (base) "/kart?lang=" (lang.code()) } { (lang.pick("Varmekart over enhetene", "Varmekart over einingane", "Heatmap of the units")) }
            }
        }
        @if !r.group.shown {
            (hidden_message(lang, k))
        } @else {
            h2 { (lang.pick("Faktorene", "Faktorane", "The factors")) }
            p.hint {
                (lang.pick("Skala 1–5, høyere er bedre. Søylen er gjennomsnittet, streken 95 % konfidensintervall.",
                           "Skala 1–5, høgare er betre. Søyla er gjennomsnittet, streken 95 % konfidensintervall.",
                           "Scale 1–5, higher is better. The bar is the mean, the whisker the 95% confidence interval."))
                @if let Some(a) = &r.above { " " span.key-above { (lang.pick("Stiplet strek", "Stipla strek", "Dashed tick")) } ": " (a.name) "." }
                @if let Some(o) = &r.organisation { " " span.key-org { (lang.pick("Heltrukken strek", "Heiltrekt strek", "Solid tick")) } ": " (o.name) "." }
            }
            div.axis aria-hidden="true" { @for v in 1..=5 { span { (v) } } }
            div.factors {
                @for f in &r.factors {
                    div.factor {
                        h3 { (f.name) }
                        @match &f.figure {
                            Some(s) => {
                                (bar(s, f.above_mean, f.organisation_mean, &format!("{}: {}", f.name, decimal(s.mean, 2, lang))))
                                p.figures {
                                    strong { (decimal(s.mean, 2, lang)) }
                                    " (" (decimal(s.ci_low, 2, lang)) "–" (decimal(s.ci_high, 2, lang)) ", n = " (s.n) ", " (lang.pick("SA", "SA", "SD")) " " (decimal(s.sd, 2, lang)) ")"
                                    @if let Some(a) = f.above_mean { " · " (lang.pick("nivået over", "nivået over", "level above")) " " (decimal(a, 2, lang)) }
                                    @if let Some(o) = f.organisation_mean { " · " (lang.pick("hele", "heile", "whole")) " " (decimal(o, 2, lang)) }
                                    @for n in &f.norms {
                                        " · " (lang.pick("norm", "norm", "norm")) " (" (r.unit_type.as_deref().unwrap_or("")) ", " (n.scope) ") " (decimal(n.mean, 2, lang))
                                    }
                                    br;
                                    (lang.pick("Positive", "Positive", "Favourable")) " " (pct(s.favourable, lang))
                                    " · " (lang.pick("negative", "negative", "unfavourable")) " " (pct(s.unfavourable, lang))
                                    " · " (lang.pick("siden forrige runde", "sidan førre runde", "since last round")) ": " (change_text(s, lang))
                                }
                            }
                            None => p.hint { (match lang {
                                Lang::Nb => format!("Færre enn {k} svar på denne faktoren."),
                                Lang::Nn => format!("Færre enn {k} svar på denne faktoren."),
                                Lang::En => format!("Fewer than {k} answers on this factor."),
                            }) }
                        }
                        details open[print] {
                            summary { (lang.pick("Svarfordeling per spørsmål", "Svarfordeling per spørsmål", "Answers per question")) }
                            table.dist {
                                caption.visually-hidden { (f.name) }
                                thead { tr {
                                    th scope="col" { (lang.pick("Spørsmål", "Spørsmål", "Question")) }
                                    @for o in OPTIONS { th scope="col" { (lang.pick(o.0, o.1, o.2)) } }
                                } }
                                tbody {
                                    @for i in &f.items {
                                        tr {
                                            th scope="row" { (i.text) }
                                            @match i.counts {
                                                Some(c) => { @for x in c { td { (x) } } }
                                                None => td colspan="6" { (lang.pick("For få svar", "For få svar", "Too few answers")) }
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
        @if let Some(t) = &r.trend {
            (trend_section(lang, t))
        }
        @if !r.background.is_empty() {
            h2 { (lang.pick("Etter bakgrunn (hele organisasjonen)", "Etter bakgrunn (heile organisasjonen)", "By background (whole organisation)")) }
            p.hint { (match lang {
                Lang::Nb => format!("Gjennomsnitt per faktor. «–»: færre enn {k} svar, eller skjult for at ingen skal kunne regne seg fram til en liten gruppe."),
                Lang::Nn => format!("Gjennomsnitt per faktor. «–»: færre enn {k} svar, eller skjult for at ingen skal kunne rekne seg fram til ei lita gruppe."),
                Lang::En => format!("Mean per factor. '–': fewer than {k} answers, or hidden so that nobody can work out a small group."),
            }) }
            @for q in &r.background {
                div.dist-wrap {
                    table.background {
                        caption { (q.question) }
                        thead { tr {
                            th scope="col" { (lang.pick("Faktor", "Faktor", "Factor")) }
                            @for c in &q.cells {
                                th scope="col" { (c.option) @if let Some(n) = c.respondents { br; span.hint { "n = " (n) } } }
                            }
                        } }
                        tbody {
                            @for (i, f) in r.factors.iter().enumerate() {
                                tr {
                                    th scope="row" { (f.name) }
                                    @for c in &q.cells {
                                        td { @match &c.factors[i] { Some(x) => (decimal(x.mean, 2, lang)), None => "–" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !r.reliability.is_empty() {
            h2 { (lang.pick("Pålitelighet (Cronbachs alfa)", "Pålitelegheit (Cronbachs alfa)", "Reliability (Cronbach's alpha)")) }
            p.hint { (lang.pick(
                "Hvor godt spørsmålene i en faktor måler det samme, blant dem som svarte på alle. Over 0,7 regnes som godt.",
                "Kor godt spørsmåla i ein faktor måler det same, blant dei som svarte på alle. Over 0,7 blir rekna som godt.",
                "How consistently a factor's questions measure the same thing, among those who answered all of them. Above 0.7 counts as good.")) }
            table.reliability {
                thead { tr {
                    th scope="col" { (lang.pick("Faktor", "Faktor", "Factor")) }
                    th scope="col" { "α" }
                    th scope="col" { "n" }
                } }
                tbody {
                    @for x in &r.reliability {
                        tr { th scope="row" { (x.factor) } td { (decimal(x.alpha, 2, lang)) } td { (x.n) } }
                    }
                }
            }
        }
        @if !r.below.is_empty() && !linked {
            h2 { (lang.pick("Enhetene under", "Einingane under", "Units below")) }
            ul {
                @for b in &r.below {
                    li {
                        @if print || linked { (b.name) } @else {
                            a href={ "/resultater/" (r.round_id) "/" (b.id) "?lang=" (lang.code()) } { (b.name) }
                        }
                        ": " (group_line(b, lang, k))
                    }
                }
            }
        }
    }
}

/// Each factor over the closed rounds: a small chart per factor (the
/// values written at the points) and the same numbers as a table.
fn trend_section(lang: Lang, t: &crate::results::compare::Trend) -> Markup {
    let labels: Vec<String> = t
        .rounds
        .iter()
        .map(|r| r.closes_on.get(..4).unwrap_or(&r.closes_on).to_string())
        .collect();
    let title = lang.pick("Utvikling over tid", "Utvikling over tid", "Over time");
    html! {
        h2 { (title) }
        p.hint { (lang.pick(
            "Hver faktor i alle avsluttede runder med samme undersøkelse. Et hull betyr at gruppen hadde for få svar den gangen.",
            "Kvar faktor i alle avslutta rundar med same undersøking. Eit hol tyder at gruppa hadde for få svar den gongen.",
            "Each factor in every closed round of the same questionnaire. A gap means the group had too few answers that time.")) }
        div.trends {
            @for line in &t.factors {
                figure.trend-one {
                    figcaption { (line.name) }
                    (super::charts::line(&line.means, &labels, (1.0, 5.0), 2, &format!("{}: {}", line.name, title), lang))
                }
            }
        }
        div.table-scroll tabindex="0" role="region" aria-label=(title) {
            table.trend-table {
                caption { (title) }
                thead { tr {
                    th scope="col" { (lang.pick("Faktor", "Faktor", "Factor")) }
                    @for r in &t.rounds { th scope="col" { (r.title) } }
                } }
                tbody {
                    @for line in &t.factors {
                        tr {
                            th scope="row" { (line.name) }
                            @for m in &line.means {
                                td { @match m { Some(v) => (decimal(*v, 2, lang)), None => "–" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/resultater/{round}/{group}/kart`: a table of units × factors, each
/// cell the number itself on a light background for its band, hidden
/// groups and figures said in words.
pub fn heatmap(
    lang: Lang,
    viewer: &Viewer,
    r: &UnitReport,
    map: &crate::results::compare::Heatmap,
    colour: crate::results::compare::Colour,
    path: &str,
) -> Markup {
    use crate::results::compare::Colour;
    let title = format!(
        "{}: {}",
        lang.pick("Varmekart", "Varmekart", "Heatmap"),
        r.group.name
    );
    let base = format!("/resultater/{}/{}", r.round_id, r.group.id);
    let band = |mean: f64| match mean {
        m if m < 2.5 => "s1",
        m if m < 3.0 => "s2",
        m if m < 3.5 => "s3",
        m if m < 4.0 => "s4",
        _ => "s5",
    };
    let signed_number = |x: f64| {
        let t = decimal(x, 2, lang);
        if x > 0.0 {
            format!("+{t}")
        } else {
            t.replace('-', "−")
        }
    };
    let body = html! {
        p.hint { (r.round_title) " · " a href={ (base) "?lang=" (lang.code()) } { (lang.pick("Tilbake til resultatene", "Tilbake til resultata", "Back to the results")) } }
        h1 { (title) }
        p.nav {
            @if colour == Colour::Score {
                strong { (lang.pick("Farget etter skår", "Farga etter skår", "Coloured by score")) }
                " · " a href={ (path) "?farge=endring&lang=" (lang.code()) } { (lang.pick("Farg etter endring siden forrige runde", "Farg etter endring sidan førre runde", "Colour by change since last round")) }
            } @else {
                a href={ (path) "?lang=" (lang.code()) } { (lang.pick("Farg etter skår", "Farg etter skår", "Colour by score")) }
                " · " strong { (lang.pick("Farget etter endring siden forrige runde", "Farga etter endring sidan førre runde", "Coloured by change since last round")) }
            }
        }
        @match colour {
            Colour::Score => ul.heat-key {
                li { span.s1 {} "1–2,49" } li { span.s2 {} "2,5–2,99" } li { span.s3 {} "3–3,49" } li { span.s4 {} "3,5–3,99" } li { span.s5 {} "4–5" }
            },
            Colour::Change => ul.heat-key {
                li { span.up {} (lang.pick("Opp (sikker endring)", "Opp (sikker endring)", "Up (a real change)")) }
                li { span.down {} (lang.pick("Ned (sikker endring)", "Ned (sikker endring)", "Down (a real change)")) }
                li { span.same {} (lang.pick("Ingen sikker endring", "Inga sikker endring", "No real change")) }
            },
        }
        p.hint { (lang.pick(
            "Tallene er gjennomsnitt på skalaen 1–5 (eller endringen siden forrige runde). «skjult»: for få svar til at tallet kan vises.",
            "Tala er gjennomsnitt på skalaen 1–5 (eller endringa sidan førre runde). «skjult»: for få svar til at talet kan visast.",
            "The numbers are means on the scale 1–5 (or the change since last round). 'hidden': too few answers for the number to be shown.")) }
        div.table-scroll tabindex="0" role="region" aria-label=(title) {
            table.heat {
                caption { (title) }
                thead { tr {
                    th scope="col" { (lang.pick("Enhet", "Eining", "Unit")) }
                    @for f in &map.factors { th scope="col" { (f) } }
                } }
                tbody {
                    @for row in &map.rows {
                        tr {
                            th scope="row" class={ "depth-" (row.depth.min(6)) } {
                                a href={ "/resultater/" (r.round_id) "/" (row.key) "?lang=" (lang.code()) } { (row.name) }
                            }
                            @match &row.cells {
                                None => td.h colspan=(map.factors.len()) { (lang.pick("skjult: for få svar", "skjult: for få svar", "hidden: too few answers")) },
                                Some(cells) => {
                                    @for c in cells {
                                        @match (c, colour) {
                                            (None, _) => td.h { (lang.pick("skjult", "skjult", "hidden")) },
                                            (Some(c), Colour::Score) => td class=(band(c.mean)) { (decimal(c.mean, 2, lang)) },
                                            (Some(c), Colour::Change) => {
                                                @match c.change {
                                                    None => td.h { (lang.pick("ingen forrige", "ingen førre", "no previous")) },
                                                    Some((d, real)) => td class=(if !real { "same" } else if d > 0.0 { "up" } else { "down" }) { (signed_number(d)) },
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
    };
    signed(lang, &title, viewer, path, body)
}

/// The action plan part of a unit page.
pub struct ActionsView {
    pub items: Vec<ActionItem>,
    /// Whether the viewer leads this unit and so may edit its plan.
    pub editable: bool,
    /// (factor value, factor name) to choose from.
    pub factors: Vec<(String, String)>,
}

fn action_section(
    lang: Lang,
    viewer: &Viewer,
    r: &UnitReport,
    a: &ActionsView,
    print: bool,
) -> Markup {
    let name_of = |key: &str| {
        a.factors
            .iter()
            .find(|(k, _)| k == key)
            .map_or(key.to_string(), |(_, n)| n.clone())
    };
    html! {
        h2 #tiltak { (lang.pick("Tiltak", "Tiltak", "Action plan")) }
        @if a.items.is_empty() {
            p.hint { (lang.pick("Ingen tiltak er registrert ennå.", "Ingen tiltak er registrerte enno.", "No measures recorded yet.")) }
        } @else {
            table.plan {
                thead { tr {
                    th scope="col" { (lang.pick("Faktor", "Faktor", "Factor")) }
                    th scope="col" { (lang.pick("Tiltak", "Tiltak", "Measure")) }
                    th scope="col" { (lang.pick("Ansvarlig", "Ansvarleg", "Responsible")) }
                    th scope="col" { (lang.pick("Frist", "Frist", "Due")) }
                    th scope="col" { (lang.pick("Status", "Status", "Status")) }
                } }
                tbody {
                    @for i in &a.items {
                        tr {
                            td { (name_of(&i.factor)) }
                            td { (i.measure) }
                            td { (i.responsible) }
                            td { (i.due_on) }
                            td {
                                @if i.done { (lang.pick("Gjennomført", "Gjennomført", "Done")) } @else { (lang.pick("Pågår", "Pågår", "In progress")) }
                                @if a.editable && !print {
                                    form.inline method="post" action={ "/tiltak/" (i.id) "?lang=" (lang.code()) } {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        input type="hidden" name="done" value=(if i.done { "false" } else { "true" });
                                        button.link type="submit" {
                                            @if i.done { (lang.pick("Marker som pågående", "Merk som pågåande", "Mark as in progress")) }
                                            @else { (lang.pick("Marker som gjennomført", "Merk som gjennomført", "Mark as done")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if a.editable && !print {
            form.plan method="post" action={ "/resultater/" (r.round_id) "/" (r.group.id) "/tiltak?lang=" (lang.code()) } {
                h3 { (lang.pick("Nytt tiltak", "Nytt tiltak", "New measure")) }
                input type="hidden" name="csrf" value=(viewer.csrf);
                div.field {
                    label for="factor" { (lang.pick("Faktor dere vil jobbe med", "Faktor de vil jobbe med", "Factor to work on")) }
                    select #factor name="factor" required {
                        @for (key, name) in &a.factors { option value=(key) { (name) } }
                    }
                }
                div.field {
                    label for="measure" { (lang.pick("Tiltak dere er enige om", "Tiltak de er samde om", "Agreed measure")) }
                    textarea #measure name="measure" rows="3" maxlength="2000" required {}
                }
                div.field {
                    label for="responsible" { (lang.pick("Ansvarlig", "Ansvarleg", "Responsible")) }
                    input #responsible type="text" name="responsible" maxlength="200" required;
                }
                div.field {
                    label for="due_on" { (lang.pick("Frist", "Frist", "Due date")) }
                    input #due_on type="date" name="due_on" required;
                }
                button.primary type="submit" { (lang.pick("Lagre tiltak", "Lagre tiltak", "Save measure")) }
            }
        }
    }
}

/// A form that could not be saved: what was wrong, and the way back.
pub fn form_error(lang: Lang, viewer: &Viewer, message: &str, r: &UnitReport) -> Markup {
    let title = lang.pick(
        "Tiltaket ble ikke lagret",
        "Tiltaket vart ikkje lagra",
        "The measure was not saved",
    );
    signed(
        lang,
        title,
        viewer,
        &format!("/resultater/{}/{}", r.round_id, r.group.id),
        html! {
            h1 { (title) }
            div.error role="alert" { p { (message) } }
            p { a href={ "/resultater/" (r.round_id) "/" (r.group.id) "?lang=" (lang.code()) "#tiltak" } {
                (lang.pick("Tilbake til ", "Tilbake til ", "Back to ")) (r.group.name)
            } }
        },
    )
}
