//! The AMU page and its printable report: the risk summary, a forest plot
//! of every factor's association, scatter plots, the flagged units, the
//! absence trend per service area, the method and its caveats. All charts
//! are SVG written here; every number is also in a table.

use super::results::signed;
use crate::access::Viewer;
use crate::analysis::summary::{num, pct};
use crate::analysis::{Analysis, FactorResult, Trend};
use crate::lang::Lang;
use maud::{html, Markup};

/// x position of r ∈ [−1, 1] in a 400-wide row.
fn xr(r: f64) -> String {
    format!("{:.1}", (r.clamp(-1.0, 1.0) + 1.0) * 200.0)
}

/// One factor's row of the forest plot: the interval as a line, r as a
/// square, 0 as a dashed line.
fn forest_row(f: &FactorResult, within: bool, label: &str) -> Markup {
    html! {
        svg.chart.forest viewBox="0 0 400 20" preserveAspectRatio="none" role="img" aria-label=(label) focusable="false" {
            rect x="0" y="0" width="400" height="20" fill="#f2f2f2" {}
            line x1="200" x2="200" y1="0" y2="20" stroke="#4a4a4a" stroke-width="1" stroke-dasharray="3 3" vector-effect="non-scaling-stroke" {}
            @if let Some(c) = f.ranked(within) {
                line x1=(xr(c.low)) x2=(xr(c.high)) y1="10" y2="10" stroke="#1a1a1a" stroke-width="2" vector-effect="non-scaling-stroke" {}
                rect x=(format!("{:.1}", (c.r.clamp(-1.0, 1.0) + 1.0) * 200.0 - 4.0)) y="5" width="8" height="10" fill=(if c.r < 0.0 { "#8a3b00" } else { "#1f5f8b" }) {}
            }
        }
    }
}

/// A scatter plot of groups: factor score against absence rate, with the
/// least-squares line.
fn scatter(a: &Analysis, fi: usize, lang: Lang) -> Markup {
    let pts: Vec<(f64, f64)> = a
        .groups
        .iter()
        .filter_map(|g| Some((g.scores[fi]?, g.absence_rate)))
        .collect();
    if pts.len() < 2 {
        return html! {};
    }
    let (w, h, pad) = (400.0, 260.0, 40.0);
    let (mut x0, mut x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |m, p| (m.0.min(p.0), m.1.max(p.0)));
    let (mut y0, mut y1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |m, p| (m.0.min(p.1), m.1.max(p.1)));
    x0 -= 0.1;
    x1 += 0.1;
    y0 = (y0 - 1.0).max(0.0);
    y1 += 1.0;
    let sx = |x: f64| pad + (x - x0) / (x1 - x0) * (w - pad - 10.0);
    let sy = |y: f64| h - pad - (y - y0) / (y1 - y0) * (h - pad - 10.0);
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = if sxx > 0.0 {
        pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx
    } else {
        0.0
    };
    let f = &a.factors[fi];
    let label = match lang {
        Lang::Nb => format!("{}: skår mot sykefravær for {} enheter", f.name, pts.len()),
        Lang::Nn => format!(
            "{}: skår mot sjukefråvær for {} einingar",
            f.name,
            pts.len()
        ),
        Lang::En => format!("{}: score against absence for {} units", f.name, pts.len()),
    };
    let fmt = |v: f64| format!("{v:.1}");
    html! {
        figure.scatter {
            svg.chart.scatter viewBox="0 0 400 260" role="img" aria-label=(label) focusable="false" {
                rect x="0" y="0" width="400" height="260" fill="#ffffff" {}
                line x1=(pad) x2=(w - 10.0) y1=(h - pad) y2=(h - pad) stroke="#4a4a4a" {}
                line x1=(pad) x2=(pad) y1="10" y2=(h - pad) stroke="#4a4a4a" {}
                text x=(pad) y=(h - pad + 16.0) font-size="12" fill="#1a1a1a" { (num(x0, 1, lang)) }
                text x=(w - 40.0) y=(h - pad + 16.0) font-size="12" fill="#1a1a1a" { (num(x1, 1, lang)) }
                text x=(w / 2.0 - 20.0) y=(h - 6.0) font-size="12" fill="#1a1a1a" { (lang.pick("skår", "skår", "score")) }
                text x="2" y=(sy(y1) + 4.0) font-size="12" fill="#1a1a1a" { (num(y1, 0, lang)) " %" }
                text x="2" y=(sy(y0)) font-size="12" fill="#1a1a1a" { (num(y0, 0, lang)) " %" }
                line x1=(fmt(sx(x0))) y1=(fmt(sy(my + slope * (x0 - mx)))) x2=(fmt(sx(x1))) y2=(fmt(sy(my + slope * (x1 - mx)))) stroke="#8a3b00" stroke-width="2" {}
                @for p in &pts {
                    circle cx=(fmt(sx(p.0))) cy=(fmt(sy(p.1))) r="4" fill="#1f5f8b" fill-opacity="0.8" {}
                }
            }
            figcaption { (f.name) ": " (lang.pick("skår (vannrett) mot sykefravær (loddrett), med rett linje", "skår (vassrett) mot sjukefråvær (loddrett), med rett linje", "score (across) against absence (up), with a fitted line")) }
        }
    }
}

use super::charts::LINE_COLOURS;

fn trend_chart(t: &Trend, lang: Lang) -> Markup {
    let n = t.periods.len();
    let max = t
        .areas
        .iter()
        .flat_map(|a| a.1.iter().flatten())
        .chain(t.targets.iter().flatten())
        .chain(t.national.iter())
        .fold(0.0f64, |m, v| m.max(*v))
        .max(1.0)
        * 1.1;
    let (w, h, pad) = (400.0, 220.0, 30.0);
    let sx = |i: usize| pad + i as f64 / (n.max(2) - 1) as f64 * (w - pad - 10.0);
    let sy = |y: f64| h - pad - y / max * (h - pad - 10.0);
    html! {
        @if n >= 2 {
            figure {
                svg.chart.trend viewBox="0 0 400 220" role="img" aria-label=(lang.pick("Sykefravær per tjenesteområde over tid", "Sjukefråvær per tenesteområde over tid", "Sickness absence per service area over time")) focusable="false" {
                    rect x="0" y="0" width="400" height="220" fill="#ffffff" {}
                    line x1=(pad) x2=(w - 10.0) y1=(h - pad) y2=(h - pad) stroke="#4a4a4a" {}
                    line x1=(pad) x2=(pad) y1="10" y2=(h - pad) stroke="#4a4a4a" {}
                    text x="2" y="20" font-size="12" fill="#1a1a1a" { (num(max, 0, lang)) " %" }
                    text x=(pad) y=(h - 10.0) font-size="12" fill="#1a1a1a" { (t.periods[0].0.format("%m.%Y")) }
                    text x=(w - 60.0) y=(h - 10.0) font-size="12" fill="#1a1a1a" { (t.periods[n - 1].0.format("%m.%Y")) }
                    @for (ai, (_, rates)) in t.areas.iter().enumerate() {
                        polyline fill="none" stroke=(LINE_COLOURS[ai % LINE_COLOURS.len()]) stroke-width="2"
                            points=(rates.iter().enumerate().filter_map(|(i, r)| r.map(|v| format!("{:.1},{:.1}", sx(i), sy(v)))).collect::<Vec<_>>().join(" ")) {}
                    }
                    @if let Some(nat) = t.national {
                        line x1=(pad) x2=(w - 10.0) y1=(format!("{:.1}", sy(nat))) y2=(format!("{:.1}", sy(nat))) stroke="#1a1a1a" stroke-dasharray="4 3" {}
                    }
                }
                figcaption {
                    ul.legend {
                        @for (ai, (name, rates)) in t.areas.iter().enumerate() {
                            li {
                                span.swatch.{"c" (ai % LINE_COLOURS.len())} {}
                                (name) ": "
                                @match rates.iter().rev().flatten().next() {
                                    Some(last) => { (lang.pick("siste", "siste", "latest")) " " (pct(*last, lang)) }
                                    None => { (lang.pick("skjult (for få ansatte)", "skjult (for få tilsette)", "hidden (too few employees)")) }
                                }
                                @if let Some(target) = t.targets.get(ai).copied().flatten() {
                                    " · " (lang.pick("mål", "mål", "target")) " " (pct(target, lang))
                                }
                            }
                        }
                    }
                    @if let Some(nat) = t.national {
                        p.hint { (lang.pick("Stiplet linje: nasjonalt nivå (SSB) i siste periode,", "Stipla linje: nasjonalt nivå (SSB) i siste periode,", "Dashed line: the national level (Statistics Norway) in the latest period,")) " " (pct(nat, lang)) "." }
                    }
                }
            }
        }
    }
}

fn caveats(lang: Lang) -> Markup {
    html! {
        h2 { (lang.pick("Metode og forbehold", "Metode og atterhald", "Method and caveats")) }
        ul {
            li { (lang.pick(
                "Fravær er tapte dagsverk delt på avtalte dagsverk for hele enheten med enhetene under, i perioden. Enheter med færre enn k ansatte vises ikke, heller ikke når de kunne regnes ut ved å trekke tall fra hverandre.",
                "Fråvær er tapte dagsverk delt på avtalte dagsverk for heile eininga med einingane under, i perioden. Einingar med færre enn k tilsette blir ikkje viste, heller ikkje når dei kunne reknast ut ved å trekkje tal frå kvarandre.",
                "Absence is lost workdays divided by agreed workdays for the whole unit with the units below it, in the period. Units with fewer than k employees are not shown, nor when they could be worked out by subtracting figures.")) }
            li { (lang.pick(
                "r er Pearsons korrelasjon mellom enhetenes skår og fravær (−1 til 1). Intervallet er 95 % (Fisher). q er p-verdien justert for at mange faktorer testes (Benjamini–Hochberg); en sammenheng regnes med når q < 0,10.",
                "r er korrelasjonen til Pearson mellom skåren og fråværet til einingane (−1 til 1). Intervallet er 95 % (Fisher). q er p-verdien justert for at mange faktorar blir testa (Benjamini–Hochberg); ein samanheng blir rekna med når q < 0,10.",
                "r is Pearson's correlation between the units' scores and absence (−1 to 1). The interval is 95% (Fisher). q is the p-value adjusted for testing many factors (Benjamini–Hochberg); an association counts when q < 0.10.")) }
            li { strong { (lang.pick(
                "Dette er sammenhenger mellom enheter, ikke årsaker. Få enheter gir usikre tall.",
                "Dette er samanhengar mellom einingar, ikkje årsaker. Få einingar gir usikre tal.",
                "These are associations across units, not causes. Few units make uncertain numbers.")) } }
        }
    }
}

pub struct Choices<'a> {
    pub rounds: &'a [(crate::ids::RoundId, String)],
    pub round: &'a str,
    pub window: &'a str,
}

pub fn page(
    lang: Lang,
    viewer: &Viewer,
    a: &Analysis,
    t: &Trend,
    c: &Choices,
    print: bool,
) -> Markup {
    let title = lang.pick(
        "Arbeidsmiljø og sykefravær",
        "Arbeidsmiljø og sjukefråvær",
        "Working environment and sickness absence",
    );
    let query = format!(
        "round={}&window={}&lang={}",
        a.round_id,
        c.window,
        lang.code()
    );
    let mut order: Vec<usize> = (0..a.factors.len()).collect();
    order.sort_by(|x, y| {
        let r = |i: &usize| {
            a.factors[*i]
                .ranked(a.within_used)
                .map_or(0.0, |c| c.r.abs())
        };
        r(y).total_cmp(&r(x))
    });
    let body = html! {
        h1 { (title) }
        p.hint { (a.round_title) " · " (lang.pick("fravær", "fråvær", "absence")) " " (a.window_from.format("%d.%m.%Y")) "–" (a.window_to.format("%d.%m.%Y"))
            " · " (a.groups.len()) " " (lang.pick("enheter", "einingar", "units")) " · k = " (a.min_group_size) }
        @if !print {
            form.choices method="get" action="/amu" {
                input type="hidden" name="lang" value=(lang.code());
                div.field {
                    label for="round" { (lang.pick("Runde", "Runde", "Round")) }
                    select #round name="round" {
                        @for (id, title) in c.rounds { option value=(id) selected[id.as_str() == c.round] { (title) } }
                    }
                }
                div.field {
                    label for="window" { (lang.pick("Fraværsperiode", "Fråværsperiode", "Absence period")) }
                    select #window name="window" {
                        option value="before" selected[c.window == "before"] { (lang.pick("12 måneder før runden lukket", "12 månader før runden vart lukka", "12 months before the round closed")) }
                        option value="after" selected[c.window == "after"] { (lang.pick("12 måneder etter", "12 månader etter", "12 months after")) }
                        @if c.window != "before" && c.window != "after" {
                            option value=(c.window) selected { (a.window_from.format("%d.%m.%Y")) "–" (a.window_to.format("%d.%m.%Y")) }
                        }
                    }
                }
                button type="submit" { (lang.pick("Vis", "Vis", "Show")) }
            }
            p.actions-bar {
                a href={ "/amu/rapport?" (query) } { (lang.pick("Utskriftsvennlig rapport", "Utskriftsvenleg rapport", "Printable report")) }
                " · " a href={ "/amu/csv?" (query) } download { "CSV" }
                " · " a href={ "/amu/xlsx?" (query) } download { "Excel" }
                " · " a href={ "/api/v1/rounds/" (a.round_id) "/analysis?window=" (c.window) "&lang=" (lang.code()) } { "JSON" }
            }
        }
        @if let (false, Some((from, to))) = (print, a.coverage.suggested) {
            p.info {
                a href={ "/amu?round=" (a.round_id) "&window=" (from.format("%Y-%m-%d")) ".." (to.format("%Y-%m-%d")) "&lang=" (lang.code()) } {
                    (lang.pick("Vis de siste 12 månedene med fraværsdata", "Vis dei siste 12 månadene med fråværsdata", "Show the latest 12 months with absence data"))
                    " (" (from.format("%d.%m.%Y")) "–" (to.format("%d.%m.%Y")) ")"
                }
            }
        }
        h2 { (lang.pick("Oppsummering til AMU", "Oppsummering til AMU", "Summary for AMU")) }
        div.summary { @for para in a.summary.text.split("\n\n") { p { @for (i, line) in para.lines().enumerate() { @if i > 0 { br; } (line) } } } }
        @if !a.too_few {
            h2 { (lang.pick("Alle faktorer", "Alle faktorar", "All factors")) }
            p.hint {
                (lang.pick("Korrelasjon med sykefravær, −1 til 1, med 95 % intervall. Til venstre for streken: lavere skår går sammen med høyere fravær.",
                           "Korrelasjon med sjukefråvær, −1 til 1, med 95 % intervall. Til venstre for streken: lågare skår går saman med høgare fråvær.",
                           "Correlation with sickness absence, −1 to 1, with 95% interval. Left of the line: a lower score goes with higher absence."))
                @if a.within_used { " " (lang.pick("Regnet innenfor tjenesteområdene.", "Rekna innanfor tenesteområda.", "Computed within service areas.")) }
            }
            table.forest {
                thead { tr {
                    th scope="col" { (lang.pick("Faktor", "Faktor", "Factor")) }
                    th scope="col" { "r (95 %)" }
                    th scope="col" { "q" }
                    th scope="col" { (lang.pick("Laveste mot høyeste kvartil", "Lågaste mot høgaste kvartil", "Lowest vs highest quarter")) }
                    @if let Some(p) = &a.previous { th scope="col" { "r " (lang.pick("forrige runde", "førre runde", "previous round")) br; span.hint { (p.round_title) } } }
                } }
                tbody {
                    @for &i in &order {
                        @let f = &a.factors[i];
                        tr {
                            th scope="row" { (f.name) }
                            td.forest-cell {
                                @match f.ranked(a.within_used) {
                                    Some(c) => {
                                        (forest_row(f, a.within_used, &format!("{}: r {}", f.name, num(c.r, 2, lang))))
                                        (num(c.r, 2, lang)) " (" (num(c.low, 2, lang)) "; " (num(c.high, 2, lang)) ")"
                                    }
                                    None => { "–" }
                                }
                            }
                            td { (f.q.map_or("–".into(), |q| num(q, 3, lang))) }
                            td { @if let Some(c) = &f.contrast { (pct(c.low_rate, lang)) " / " (pct(c.high_rate, lang)) } @else { "–" } }
                            @if let Some(p) = &a.previous { td { (p.r[i].map_or("–".into(), |r| num(r, 2, lang))) } }
                        }
                    }
                }
            }
            h2 { (lang.pick("Skår og fravær per enhet", "Skår og fråvær per eining", "Score and absence per unit")) }
            div.scatters {
                @for &i in order.iter().take(3) { (scatter(a, i, lang)) }
            }
            @if !print {
                details {
                    summary { (lang.pick("Alle faktorene", "Alle faktorane", "All factors")) }
                    div.scatters { @for &i in order.iter().skip(3) { (scatter(a, i, lang)) } }
                }
            }
        }
        h2 { (lang.pick("Enheter som bør følges opp", "Einingar som bør følgjast opp", "Units that need attention")) }
        @if a.summary.flagged.is_empty() {
            p { (lang.pick("Ingen enhet er flagget.", "Inga eining er flagga.", "No unit is flagged.")) }
        } @else {
            table.flagged {
                thead { tr {
                    th scope="col" { (lang.pick("Enhet", "Eining", "Unit")) }
                    th scope="col" { (lang.pick("Fravær", "Fråvær", "Absence")) }
                    th scope="col" { (lang.pick("Mål", "Mål", "Target")) }
                    th scope="col" { (lang.pick("Lav skår på", "Låg skår på", "Low score on")) }
                } }
                tbody { @for f in &a.summary.flagged { tr { th scope="row" { (f.name) } td { (pct(f.absence_rate, lang)) } td { (f.target.map_or("–".into(), |x| pct(x, lang))) } td { (f.factors.join(", ")) } } } }
            }
        }
        h2 { (lang.pick("Sykefravær per tjenesteområde", "Sjukefråvær per tenesteområde", "Sickness absence per service area")) }
        (trend_chart(t, lang))
        (caveats(lang))
    };
    if print {
        super::document(lang, title, None, body, None)
    } else {
        signed(lang, title, viewer, "/amu", body)
    }
}
