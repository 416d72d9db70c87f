//! The report of one group: its figures, the level above and the whole
//! organisation to compare with, the groups below, items, background cells
//! and reliability, each only as the snapshot released it.

use crate::db::models::Round;
use crate::lang::{display_name, Lang};
use crate::snapshot::{FactorStat, Group, Snapshot};
use crate::survey::Survey;
use crate::AppError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitReport {
    pub round_id: crate::ids::RoundId,
    pub round_title: String,
    pub closed_on: String,
    /// The minimum group size the figures were released under.
    pub min_group_size: u32,
    pub group: GroupSummary,
    /// The level above, for comparison; None at the top.
    pub above: Option<GroupSummary>,
    /// The whole organisation (or the round's subtree), for comparison;
    /// None when the report is about it.
    pub organisation: Option<GroupSummary>,
    pub factors: Vec<FactorRow>,
    /// The units directly below, and whether their results are shown.
    pub below: Vec<GroupSummary>,
    /// The round the changes compare with.
    pub previous_round: Option<crate::ids::RoundId>,
    /// Background breakdowns: only in the organisation's own report.
    pub background: Vec<BackgroundView>,
    /// Cronbach's alpha per factor: only in the organisation's own report.
    pub reliability: Vec<ReliabilityRow>,
    /// The kind of unit the group is (norms are given per type).
    pub unit_type: Option<String>,
    /// Each factor over every closed round of the same questionnaire up to
    /// this one ([`super::compare::trend`]); None with fewer than two.
    pub trend: Option<super::compare::Trend>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackgroundView {
    pub question: String,
    pub cells: Vec<CellView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CellView {
    pub option: String,
    /// None when the cell is hidden.
    pub respondents: Option<u32>,
    /// By factor, in the order of [`UnitReport::factors`]; None where hidden.
    pub factors: Vec<Option<CellFactor>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CellFactor {
    pub n: u32,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReliabilityRow {
    pub factor: String,
    pub n: u32,
    pub alpha: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupSummary {
    pub id: String,
    pub code: String,
    pub name: String,
    /// False when the anonymity rules hide the group: then no figure at all.
    pub shown: bool,
    pub respondents: Option<u32>,
    pub invited: Option<u32>,
    pub response_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FactorRow {
    pub survey: String,
    pub key: String,
    pub name: String,
    /// This group's figure; None when hidden.
    pub figure: Option<FactorStat>,
    /// The level above's mean, when shown.
    pub above_mean: Option<f64>,
    pub organisation_mean: Option<f64>,
    /// The norms for the group's unit type ([`super::compare::attach`]).
    pub norms: Vec<Norm>,
    pub items: Vec<ItemRow>,
}

/// A norm: the mean the municipality brought for this factor and unit
/// type, in one scope (national, county …).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Norm {
    pub scope: String,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemRow {
    pub key: String,
    pub text: String,
    /// Answers per option: "vet ikke", then 1..=5; None when hidden.
    pub counts: Option<[u32; 6]>,
}

/// A group's name; the group above several top units has none of its own.
pub fn group_name(g: &Group, lang: Lang) -> String {
    display_name(&g.name, lang)
}

fn summary(g: &Group, lang: Lang) -> GroupSummary {
    let n = g.figures.as_ref().map(|f| f.n);
    GroupSummary {
        id: g.key.clone(),
        code: g.code.clone(),
        name: group_name(g, lang),
        shown: n.is_some(),
        respondents: n,
        // The invited count is organisation data, but beside a hidden
        // group it would frame the hidden count: shown only with it.
        invited: n.map(|_| g.invited),
        response_rate: n
            .filter(|_| g.invited > 0)
            .map(|n| f64::from(n) / f64::from(g.invited)),
    }
}

/// The report of one group. The caller has asked [`crate::access`].
pub fn unit_report(
    round: &Round,
    snapshot: &Snapshot,
    surveys: &[Survey],
    group: &crate::ids::GroupKey,
    lang: Lang,
) -> Result<UnitReport, AppError> {
    let g = snapshot.group(group).ok_or(AppError::NotFound)?;
    let above = g.parent.as_deref().and_then(|p| snapshot.group(p));
    let root = snapshot.root();
    // The organisation compares only where it is not already the level
    // above (or the group itself).
    let organisation =
        (root.key != g.key && above.map_or(true, |a| a.key != root.key)).then_some(root);
    let factors: Vec<FactorRow> = snapshot
        .factors
        .iter()
        .map(|f| {
            let s = surveys.iter().find(|s| s.id == f.survey);
            let name = s
                .and_then(|s| s.factors.iter().find(|x| x.key == f.key))
                .map_or(f.key.clone(), |x| x.name.get(lang).to_string());
            let items = snapshot
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.survey == f.survey && i.factor == f.key)
                .map(|(t, i)| ItemRow {
                    key: i.key.clone(),
                    text: s
                        .and_then(|s| s.items.iter().find(|x| x.key == i.key))
                        .map_or(i.key.clone(), |x| x.text.get(lang).to_string()),
                    counts: g.figures.as_ref().and_then(|fig| fig.items[t]),
                })
                .collect();
            FactorRow {
                survey: f.survey.clone(),
                key: f.key.clone(),
                name,
                figure: snapshot.factor(g, f).cloned(),
                above_mean: above.and_then(|a| snapshot.factor(a, f)).map(|x| x.mean),
                organisation_mean: organisation
                    .and_then(|o| snapshot.factor(o, f))
                    .map(|x| x.mean),
                norms: Vec::new(),
                items,
            }
        })
        .collect();
    let is_root = g.key == root.key && g.figures.is_some();
    let factor_names: Vec<String> = factors.iter().map(|f: &FactorRow| f.name.clone()).collect();
    let background = if is_root {
        snapshot
            .background
            .iter()
            .map(|q| {
                let def = surveys
                    .iter()
                    .find(|s| s.id == q.survey)
                    .and_then(|s| s.background.iter().find(|b| b.key == q.key));
                BackgroundView {
                    question: def.map_or(q.key.clone(), |d| d.question.get(lang).to_string()),
                    cells: q
                        .cells
                        .iter()
                        .map(|c| CellView {
                            option: def
                                .and_then(|d| d.options.iter().find(|o| o.key == c.option))
                                .map_or(c.option.clone(), |o| o.label.get(lang).to_string()),
                            respondents: c.figures.as_ref().map(|f| f.n),
                            factors: match &c.figures {
                                Some(f) => f
                                    .factors
                                    .iter()
                                    .map(|x| {
                                        x.as_ref().map(|x| CellFactor {
                                            n: x.n,
                                            mean: x.mean,
                                        })
                                    })
                                    .collect(),
                                None => vec![None; snapshot.factors.len()],
                            },
                        })
                        .collect(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let reliability = if is_root {
        snapshot
            .alpha
            .iter()
            .zip(&factor_names)
            .filter_map(|(a, name)| {
                a.as_ref().map(|a| ReliabilityRow {
                    factor: name.clone(),
                    n: a.n,
                    alpha: a.alpha,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(UnitReport {
        round_id: round.id.clone(),
        round_title: round.title.clone(),
        closed_on: round.closes_on.clone(),
        min_group_size: snapshot.k,
        group: summary(g, lang),
        above: above.map(|a| summary(a, lang)),
        organisation: organisation.map(|o| summary(o, lang)),
        factors,
        below: snapshot
            .children(&g.key)
            .into_iter()
            .map(|c| summary(c, lang))
            .collect(),
        previous_round: snapshot.previous_round.clone(),
        background,
        reliability,
        unit_type: None,
        trend: None,
    })
}
