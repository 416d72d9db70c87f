//! The risk summary for AMU (STATISTICS.md "Risk summary for AMU"):
//! factors ranked by their association with absence, the groups that need
//! attention and why, and a plain-language text a committee can paste into
//! its minutes, with the two caveats every time.

use super::model::{
    Analysis, CoverageStatus, Flagged, NoCoefficients, RankedFactor, RiskSummary, MIN_GROUPS,
    Q_COUNTS,
};
use crate::lang::Lang;
use crate::stats::correlation::{strength, Strength};
use std::fmt::Write as _;

/// A number as Norwegian texts write it: decimal comma, real minus sign.
pub fn num(x: f64, places: usize, lang: Lang) -> String {
    crate::lang::decimal(x, places, lang)
}

/// A percentage with a non-breaking space before the sign.
pub fn pct(x: f64, lang: Lang) -> String {
    format!("{}\u{a0}%", num(x, 1, lang))
}

fn strength_word(s: Strength, lang: Lang) -> &'static str {
    match s {
        Strength::Negligible => lang.pick("ubetydelig", "ubetydeleg", "negligible"),
        Strength::Weak => lang.pick("svak", "svak", "weak"),
        Strength::Moderate => lang.pick("moderat", "moderat", "moderate"),
        Strength::Strong => lang.pick("sterk", "sterk", "strong"),
    }
}

pub fn summarise(a: &Analysis, lang: Lang) -> RiskSummary {
    let mut ranked: Vec<RankedFactor> = a
        .factors
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let c = f.ranked(a.within_used)?;
            Some(RankedFactor {
                factor: i,
                name: f.name.clone(),
                r: c.r,
                low: c.low,
                high: c.high,
                q: f.q?,
                counts: f.q? < Q_COUNTS,
            })
        })
        .collect();
    ranked.sort_by(|x, y| {
        y.r.abs()
            .total_cmp(&x.r.abs())
            .then(x.factor.cmp(&y.factor))
    });

    // Flags: absence above the organisation's, and in the lowest-scoring
    // quarter on a counting factor whose association is negative.
    let mut flagged: Vec<Flagged> = Vec::new();
    if let Some(org) = a.organisation_rate {
        // Each counting, negative factor's lowest-scoring quarter (by
        // score, then code), found once.
        let lowest: Vec<(&str, std::collections::HashSet<&str>)> = ranked
            .iter()
            .filter(|r| r.counts && r.r < 0.0)
            .map(|rf| {
                let mut scored: Vec<(f64, &str, &str)> = a
                    .groups
                    .iter()
                    .filter_map(|x| Some((x.scores[rf.factor]?, x.code.as_str(), x.key.as_str())))
                    .collect();
                scored.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(q.1)));
                let quarter = scored.len() / 4;
                (
                    rf.name.as_str(),
                    scored[..quarter].iter().map(|x| x.2).collect(),
                )
            })
            .collect();
        for g in a.groups.iter().filter(|g| g.absence_rate > org) {
            let why: Vec<String> = lowest
                .iter()
                .filter(|(_, low)| low.contains(g.key.as_str()))
                .map(|(name, _)| name.to_string())
                .collect();
            if !why.is_empty() {
                flagged.push(Flagged {
                    key: g.key.clone(),
                    name: g.name.clone(),
                    absence_rate: g.absence_rate,
                    target: g.target,
                    factors: why,
                });
            }
        }
    }
    flagged.sort_by(|x, y| {
        y.factors
            .len()
            .cmp(&x.factors.len())
            .then(y.absence_rate.total_cmp(&x.absence_rate))
    });
    let text = text(a, &ranked, &flagged, lang);
    RiskSummary {
        ranked,
        flagged,
        text,
    }
}

/// Where the window has no (or only part of the) imported absence: that,
/// what the imported absence covers, and the latest 12 months with data.
fn coverage_text(t: &mut String, a: &Analysis, l: Lang) {
    let c = &a.coverage;
    let d = |x: chrono::NaiveDate| x.format("%d.%m.%Y").to_string();
    let window = format!("{}–{}", d(a.window_from), d(a.window_to));
    match c.status {
        CoverageStatus::Full => return,
        CoverageStatus::None => {
            let _ = write!(
                t,
                "{} {window}. ",
                l.pick(
                    "Det er ikke importert sykefravær for perioden",
                    "Det er ikkje importert sjukefråvær for perioden",
                    "No sickness absence has been imported for the period"
                )
            );
        }
        CoverageStatus::Partial => {
            let _ = write!(
                t,
                "{} {window}. ",
                l.pick(
                    "Importert sykefravær dekker bare deler av perioden",
                    "Importert sjukefråvær dekkjer berre delar av perioden",
                    "Imported sickness absence covers only part of the period"
                )
            );
        }
    }
    if c.periods.is_empty() {
        t.push_str(l.pick(
            "Det er ikke importert noe sykefravær ennå.",
            "Det er ikkje importert noko sjukefråvær enno.",
            "No sickness absence has been imported yet.",
        ));
    } else {
        let spans: Vec<String> = c
            .periods
            .iter()
            .map(|(x, y)| format!("{}–{}", d(*x), d(*y)))
            .collect();
        let _ = write!(
            t,
            "{} {}.",
            l.pick(
                "Importert fravær dekker",
                "Importert fråvær dekkjer",
                "The imported absence covers"
            ),
            spans.join(", ")
        );
    }
    if let Some((x, y)) = c.suggested {
        let _ = write!(
            t,
            " {} {}–{}.",
            l.pick(
                "Velg for eksempel de siste 12 månedene med data:",
                "Vel til dømes dei siste 12 månadene med data:",
                "Choose, for example, the latest 12 months with data:"
            ),
            d(x),
            d(y)
        );
    }
    t.push_str("\n\n");
}

fn text(a: &Analysis, ranked: &[RankedFactor], flagged: &[Flagged], l: Lang) -> String {
    let mut t = String::new();
    let from = a.window_from.format("%d.%m.%Y");
    let to = a.window_to.format("%d.%m.%Y");
    let m = a.groups.len();
    let _ = write!(
        t,
        "{} «{}» {} {from}–{to}: {m} {}",
        l.pick(
            "Sammenhengen mellom medarbeiderundersøkelsen",
            "Samanhengen mellom medarbeidarundersøkinga",
            "How the employee survey"
        ),
        a.round_title,
        l.pick(
            "og sykefraværet i perioden",
            "og sjukefråværet i perioden",
            "goes together with sickness absence in the period"
        ),
        l.pick(
            "enheter er sammenlignet",
            "einingar er samanlikna",
            "units are compared"
        ),
    );
    if a.grouping == "finest" {
        let _ = write!(
            t,
            " {} {} {}",
            l.pick(
                "– den fineste inndelingen der både resultater og fravær kan vises: hver enhet som vises, og der den har underenheter som vises, resten av den («øvrige») når resten har minst",
                "– den finaste inndelinga der både resultat og fråvær kan visast: kvar eining som blir vist, og der ho har undereiningar som blir viste, resten av henne («andre») når resten har minst",
                "– the finest division in which both results and absence may be shown: every unit shown and, where it has units below it that are shown, its rest («others») when the rest has at least",
            ),
            a.min_group_size,
            l.pick("personer", "personar", "people"),
        );
    }
    if let Some(org) = a.organisation_rate {
        let _ = write!(
            t,
            " ({} {})",
            l.pick(
                "fraværet i hele organisasjonen var",
                "fråværet i heile organisasjonen var",
                "absence in the whole organisation was"
            ),
            pct(org, l)
        );
    }
    t.push_str(".\n\n");
    coverage_text(&mut t, a, l);
    if a.reason == Some(NoCoefficients::NoAbsenceInWindow) {
        // Said above: there is nothing to compare, not "too few units".
    } else if a.too_few {
        let _ = write!(
            t,
            "{} {MIN_GROUPS}.",
            l.pick(
                "Det er for få enheter med både resultater og fravær til å beregne sammenhenger; det trengs minst",
                "Det er for få einingar med både resultat og fråvær til å rekne ut samanhengar; det trengst minst",
                "There are too few units with both results and absence to compute associations; at least this many are needed:"
            )
        );
    } else {
        let counting: Vec<&RankedFactor> = ranked.iter().filter(|r| r.counts).collect();
        if counting.is_empty() {
            t.push_str(l.pick(
                "Ingen faktor henger sikkert sammen med sykefraværet (q < 0,10 for ingen).",
                "Ingen faktor heng sikkert saman med sjukefråværet (q < 0,10 for ingen).",
                "No factor is clearly associated with sickness absence (q < 0.10 for none).",
            ));
        } else {
            t.push_str(l.pick(
                "Faktorene som henger tydeligst sammen med sykefraværet:",
                "Faktorane som heng tydelegast saman med sjukefråværet:",
                "The factors most clearly associated with sickness absence:",
            ));
            for r in counting.iter().take(5) {
                let direction = if r.r < 0.0 {
                    l.pick(
                        "lavere skår, høyere fravær",
                        "lågare skår, høgare fråvær",
                        "lower score, higher absence",
                    )
                } else {
                    l.pick(
                        "høyere skår, høyere fravær",
                        "høgare skår, høgare fråvær",
                        "higher score, higher absence",
                    )
                };
                let _ = write!(
                    t,
                    "\n– {}: {} {} ({direction}; r = {}, 95 % KI {} til {}, q = {})",
                    r.name,
                    strength_word(strength(r.r), l),
                    l.pick("sammenheng", "samanheng", "association"),
                    num(r.r, 2, l),
                    num(r.low, 2, l),
                    num(r.high, 2, l),
                    num(r.q, 3, l)
                );
            }
            if a.within_used {
                let _ = write!(
                    t,
                    "\n{}",
                    l.pick(
                        "Sammenhengene er regnet innenfor tjenesteområdene, så forskjeller i selve arbeidet mellom områdene teller ikke med.",
                        "Samanhengane er rekna innanfor tenesteområda, så skilnader i sjølve arbeidet mellom områda tel ikkje med.",
                        "The associations are computed within service areas, so differences in the work itself between areas do not count."
                    )
                );
            }
        }
        t.push_str("\n\n");
        if flagged.is_empty() {
            t.push_str(l.pick(
                "Ingen enhet er flagget.",
                "Inga eining er flagga.",
                "No unit is flagged.",
            ));
        } else {
            t.push_str(l.pick(
                "Enheter som bør følges opp (høyere fravær enn organisasjonen og lav skår på en faktor som henger sammen med fravær):",
                "Einingar som bør følgjast opp (høgare fråvær enn organisasjonen og låg skår på ein faktor som heng saman med fråvær):",
                "Units that need attention (absence above the organisation's and a low score on a factor associated with absence):",
            ));
            for f in flagged {
                let _ = write!(
                    t,
                    "\n– {} ({} {}; {} {})",
                    f.name,
                    l.pick("fravær", "fråvær", "absence"),
                    pct(f.absence_rate, l),
                    l.pick("lav skår på", "låg skår på", "low score on"),
                    f.factors.join(", ")
                );
            }
        }
    }
    t.push_str("\n\n");
    t.push_str(l.pick(
        "Husk: dette er sammenhenger mellom enheter, ikke årsaker. Få enheter gir usikre tall.",
        "Hugs: dette er samanhengar mellom einingar, ikkje årsaker. Få einingar gir usikre tal.",
        "Remember: these are associations across units, not causes. Few units make uncertain numbers.",
    ));
    t
}
