//! Computing a snapshot from a closed round's responses, and re-applying
//! suppression to it. Pure: the caller reads the database.
//!
//! Figures are summed up the unit tree from each unit's own respondents,
//! then the anonymity engine decides, in this order: which groups are shown
//! (respondents per subtree); within the shown groups, which factor figures
//! (respondents with a score on the factor) and which item distributions
//! (respondents who answered the item); for the whole organisation, which
//! background cells and, within them, which factor figures. Each later step
//! runs the engine again over the groups still shown, so a narrower figure
//! can never reopen a difference the wider one closed. Only released
//! figures are put into the [`Snapshot`]: a hidden group has none.

use super::anonymity::{release, release_cells, release_sized, Node, SizedGroup};
use super::model::*;
use crate::stats::scores::{cronbach_alpha, respondent_score_exact, welch, Answer, Moments, Score};
use crate::survey::Survey;
use std::collections::{BTreeMap, HashMap};

/// A unit of the round's tree. Index 0 of [`Input::units`] is the whole
/// organisation (or the round's subtree), the parent of the top units.
#[derive(Debug, Clone)]
pub struct TreeUnit {
    pub key: String,
    pub code: String,
    pub name: String,
    pub parent: Option<usize>,
    /// People invited directly in this unit.
    pub invited: u32,
}

/// One stored response, as the database holds it.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Index into [`Input::units`].
    pub unit: usize,
    pub answers: String,
    pub background: String,
}

pub struct Input<'a> {
    pub round_id: &'a str,
    pub k: u32,
    pub computed_at: i64,
    pub surveys: &'a [Survey],
    pub units: Vec<TreeUnit>,
    pub responses: Vec<RawResponse>,
    /// The snapshot of the previous round of the same questionnaire.
    pub previous: Option<&'a Snapshot>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error("the unit tree is broken: {0:?}")]
    Tree(super::anonymity::TreeError),
    #[error("a stored response does not read back: {0}")]
    Response(String),
}

/// One respondent, parsed: their factor scores, item answers and
/// background answers, all by position in the snapshot's lists.
struct Parsed {
    unit: usize,
    scores: Vec<Option<Score>>,
    items: Vec<Option<Answer>>,
    background: BTreeMap<String, String>,
}

fn parse_response(
    r: &RawResponse,
    surveys: &[Survey],
    factors: &[(usize, Vec<usize>)],
) -> Result<Parsed, ComputeError> {
    let bad = |e: String| ComputeError::Response(e);
    let answers: serde_json::Value =
        serde_json::from_str(&r.answers).map_err(|e| bad(e.to_string()))?;
    let background: BTreeMap<String, String> =
        serde_json::from_str(&r.background).map_err(|e| bad(e.to_string()))?;
    let mut items = Vec::new();
    // Per survey, the answers by item position.
    let mut per_survey: Vec<Vec<Option<Answer>>> = Vec::new();
    for s in surveys {
        let given = answers.get(&s.id);
        let row: Vec<Option<Answer>> = s
            .items
            .iter()
            .map(|i| match given.and_then(|g| g.get(&i.key)) {
                None => Ok(None),
                Some(serde_json::Value::Null) => Ok(Some(Answer::DontKnow)),
                Some(v) => match v.as_u64() {
                    Some(x @ 1..=5) => Ok(Some(Answer::Value(x as u8))),
                    _ => Err(bad(format!("item {} has the value {v}", i.key))),
                },
            })
            .collect::<Result<_, _>>()?;
        items.extend(row.iter().copied());
        per_survey.push(row);
    }
    let scores = factors
        .iter()
        .map(|(s, idx)| {
            let answers: Vec<Option<Answer>> = idx.iter().map(|i| per_survey[*s][*i]).collect();
            let reverse: Vec<bool> = idx.iter().map(|i| surveys[*s].items[*i].reverse).collect();
            respondent_score_exact(&answers, &reverse)
        })
        .collect();
    Ok(Parsed {
        unit: r.unit,
        scores,
        items,
        background,
    })
}

/// Sums of one group (or cell): respondents, factor moments, item counts.
#[derive(Clone)]
struct Sums {
    n: u32,
    factors: Vec<Moments>,
    items: Vec<[u32; 6]>,
}

impl Sums {
    fn new(factors: usize, items: usize) -> Sums {
        Sums {
            n: 0,
            factors: vec![Moments::default(); factors],
            items: vec![[0; 6]; items],
        }
    }
    fn add(&mut self, p: &Parsed) {
        self.n += 1;
        for (m, s) in self.factors.iter_mut().zip(&p.scores) {
            if let Some(s) = s {
                m.add(*s);
            }
        }
        for (c, a) in self.items.iter_mut().zip(&p.items) {
            match a {
                Some(Answer::DontKnow) => c[0] += 1,
                Some(Answer::Value(v)) => c[usize::from(*v)] += 1,
                None => {}
            }
        }
    }
    fn merge(&mut self, o: &Sums) {
        self.n += o.n;
        for (a, b) in self.factors.iter_mut().zip(&o.factors) {
            a.merge(b);
        }
        for (a, b) in self.items.iter_mut().zip(&o.items) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

fn stat(m: &Moments) -> Option<FactorStat> {
    let s = m.summary()?;
    let (ci_low, ci_high) = s.ci?;
    Some(FactorStat {
        n: m.n,
        mean: s.mean,
        sd: s.sd?,
        ci_low,
        ci_high,
        favourable: s.favourable,
        unfavourable: s.unfavourable,
        change: None,
    })
}

/// Depth of every unit (0 for the organisation), checking the tree.
fn depths(units: &[TreeUnit]) -> Result<Vec<usize>, ComputeError> {
    let nodes: Vec<Node> = units
        .iter()
        .map(|u| Node {
            id: u.key.clone(),
            parent: u.parent,
            direct: 0,
        })
        .collect();
    // `release` validates the tree (range, cycles) for us.
    release(&nodes, 1).map_err(ComputeError::Tree)?;
    let mut depth = vec![None; units.len()];
    fn d(i: usize, units: &[TreeUnit], depth: &mut Vec<Option<usize>>) -> usize {
        if let Some(x) = depth[i] {
            return x;
        }
        let x = match units[i].parent {
            Some(p) => d(p, units, depth) + 1,
            None => 0,
        };
        depth[i] = Some(x);
        x
    }
    Ok((0..units.len()).map(|i| d(i, units, &mut depth)).collect())
}

/// For every shown group, the nearest shown group above it, as an index
/// into the list of shown groups: the laminar family the engine works on.
fn shown_family(parents: &[Option<usize>], shown: &[bool]) -> (Vec<usize>, Vec<Option<usize>>) {
    let members: Vec<usize> = (0..shown.len()).filter(|i| shown[*i]).collect();
    let pos: HashMap<usize, usize> = members.iter().enumerate().map(|(p, i)| (*i, p)).collect();
    let up = members
        .iter()
        .map(|&i| {
            let mut p = parents[i];
            while let Some(x) = p {
                if shown[x] {
                    return Some(pos[&x]);
                }
                p = parents[x];
            }
            None
        })
        .collect();
    (members, up)
}

/// Runs the engine over the shown groups with another size per group.
fn narrow(
    keys: &[String],
    parents: &[Option<usize>],
    shown: &[bool],
    size: impl Fn(usize) -> u32,
    k: u32,
) -> Vec<bool> {
    let (members, up) = shown_family(parents, shown);
    let groups: Vec<SizedGroup> = members
        .iter()
        .zip(&up)
        .map(|(&i, &parent)| SizedGroup {
            id: keys[i].clone(),
            parent,
            size: size(i),
        })
        .collect();
    let kept = release_sized(&groups, k).expect("a family of shown groups is a tree");
    let mut out = vec![false; shown.len()];
    for (p, &i) in members.iter().enumerate() {
        out[i] = kept[p];
    }
    out
}

pub fn compute(input: &Input) -> Result<Snapshot, ComputeError> {
    let k = input.k;
    let units = &input.units;
    let depth = depths(units)?;
    // The snapshot's flat lists of factors and items.
    let mut factors = Vec::new();
    let mut factor_items: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut items = Vec::new();
    for (si, s) in input.surveys.iter().enumerate() {
        for f in &s.factors {
            factors.push(FactorRef {
                survey: s.id.clone(),
                key: f.key.clone(),
            });
            let idx = s
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.factor == f.key)
                .map(|(n, _)| n)
                .collect();
            factor_items.push((si, idx));
        }
        for i in &s.items {
            items.push(ItemRef {
                survey: s.id.clone(),
                key: i.key.clone(),
                factor: i.factor.clone(),
            });
        }
    }
    let parsed: Vec<Parsed> = input
        .responses
        .iter()
        .map(|r| parse_response(r, input.surveys, &factor_items))
        .collect::<Result<_, _>>()?;

    // Each unit's own sums, then added up the tree, deepest first.
    let mut sums = vec![Sums::new(factors.len(), items.len()); units.len()];
    let mut direct = vec![0u32; units.len()];
    for p in &parsed {
        sums[p.unit].add(p);
        direct[p.unit] += 1;
    }
    let mut invited: Vec<u32> = units.iter().map(|u| u.invited).collect();
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(depth[*i]));
    for &i in &order {
        if let Some(p) = units[i].parent {
            let child = sums[i].clone();
            sums[p].merge(&child);
            invited[p] += invited[i];
        }
    }

    // 1. Groups.
    let keys: Vec<String> = units.iter().map(|u| u.code.clone()).collect();
    let parents: Vec<Option<usize>> = units.iter().map(|u| u.parent).collect();
    let nodes: Vec<Node> = units
        .iter()
        .enumerate()
        .map(|(i, u)| Node {
            id: u.code.clone(),
            parent: u.parent,
            direct: direct[i],
        })
        .collect();
    let shown = release(&nodes, k).map_err(ComputeError::Tree)?.shown;
    // 2. Factor figures and item distributions within the shown groups.
    let factor_shown: Vec<Vec<bool>> = (0..factors.len())
        .map(|f| narrow(&keys, &parents, &shown, |i| sums[i].factors[f].n, k))
        .collect();
    let item_shown: Vec<Vec<bool>> = (0..items.len())
        .map(|t| {
            narrow(
                &keys,
                &parents,
                &shown,
                |i| sums[i].items[t].iter().sum(),
                k,
            )
        })
        .collect();

    let previous_groups: HashMap<&str, &Group> = input
        .previous
        .map(|p| p.groups.iter().map(|g| (g.code.as_str(), g)).collect())
        .unwrap_or_default();
    let groups: Vec<Group> = units
        .iter()
        .enumerate()
        .map(|(i, u)| Group {
            key: u.key.clone(),
            code: u.code.clone(),
            name: u.name.clone(),
            parent: u.parent.map(|p| units[p].key.clone()),
            depth: depth[i] as u32,
            invited: invited[i],
            figures: shown[i].then(|| Figures {
                n: sums[i].n,
                factors: (0..factors.len())
                    .map(|f| {
                        let mut s = factor_shown[f][i].then(|| stat(&sums[i].factors[f]))??;
                        s.change = previous_groups
                            .get(u.code.as_str())
                            .and_then(|g| input.previous?.factor(g, &factors[f]))
                            .and_then(|before| {
                                let c = welch(
                                    (s.n as usize, s.mean, s.sd),
                                    (before.n as usize, before.mean, before.sd),
                                )?;
                                Some(ChangeFig {
                                    previous_mean: before.mean,
                                    diff: c.diff,
                                    low: c.low,
                                    high: c.high,
                                })
                            });
                        Some(s)
                    })
                    .collect(),
                items: (0..items.len())
                    .map(|t| item_shown[t][i].then_some(sums[i].items[t]))
                    .collect(),
            }),
        })
        .collect();

    // 3. Background breakdowns and reliability: the organisation only.
    let mut background = Vec::new();
    let mut alpha = vec![None; factors.len()];
    if shown[0] {
        let total = sums[0].n;
        for s in input.surveys {
            for q in &s.background {
                let mut cells: BTreeMap<String, Sums> = BTreeMap::new();
                for p in &parsed {
                    if let Some(o) = p.background.get(&q.key) {
                        if q.options.iter().any(|x| &x.key == o) {
                            cells
                                .entry(o.clone())
                                .or_insert_with(|| Sums::new(factors.len(), 0))
                                .add(&Parsed {
                                    unit: 0,
                                    scores: p.scores.clone(),
                                    items: Vec::new(),
                                    background: BTreeMap::new(),
                                });
                        }
                    }
                }
                let counts: BTreeMap<String, u32> =
                    cells.iter().map(|(o, s)| (o.clone(), s.n)).collect();
                let cell_shown = release_cells(&counts, total, k);
                let per_factor: Vec<BTreeMap<String, bool>> = (0..factors.len())
                    .map(|f| {
                        let sizes: BTreeMap<String, u32> = cells
                            .iter()
                            .filter(|(o, _)| cell_shown[*o])
                            .map(|(o, s)| (o.clone(), s.factors[f].n))
                            .collect();
                        release_cells(&sizes, sums[0].factors[f].n, k)
                    })
                    .collect();
                background.push(BackgroundQuestion {
                    survey: s.id.clone(),
                    key: q.key.clone(),
                    cells: q
                        .options
                        .iter()
                        .map(|o| Cell {
                            option: o.key.clone(),
                            figures: cells.get(&o.key).filter(|_| cell_shown[&o.key]).map(|c| {
                                CellFigures {
                                    n: c.n,
                                    factors: (0..factors.len())
                                        .map(|f| {
                                            if per_factor[f].get(&o.key) == Some(&true) {
                                                stat(&c.factors[f])
                                            } else {
                                                None
                                            }
                                        })
                                        .collect(),
                                }
                            }),
                        })
                        .collect(),
                });
            }
        }
        for (f, (si, idx)) in factor_items.iter().enumerate() {
            let offset: usize = input.surveys[..*si].iter().map(|s| s.items.len()).sum();
            let rows: Vec<Vec<f64>> = parsed
                .iter()
                .filter_map(|p| {
                    idx.iter()
                        .map(|i| match p.items[offset + i] {
                            Some(Answer::Value(v)) => {
                                Some(if input.surveys[*si].items[*i].reverse {
                                    6.0 - f64::from(v)
                                } else {
                                    f64::from(v)
                                })
                            }
                            _ => None,
                        })
                        .collect::<Option<Vec<f64>>>()
                })
                .collect();
            if rows.len() as u32 >= k {
                alpha[f] = cronbach_alpha(&rows).map(|a| AlphaFig {
                    n: rows.len() as u32,
                    alpha: a,
                });
            }
        }
    }
    Ok(Snapshot {
        round_id: input.round_id.to_string(),
        k,
        computed_at: input.computed_at,
        previous_round: input.previous.map(|p| p.round_id.clone()),
        factors,
        items,
        groups,
        background,
        alpha,
    })
}

/// Re-applies suppression with a larger k: whatever was hidden stays
/// hidden, and the engine runs again over what was shown, using the sizes
/// stored with the released figures.
pub fn raise_k(snapshot: &Snapshot, k: u32) -> Snapshot {
    assert!(k >= snapshot.k, "raising k never lowers it");
    let mut out = snapshot.clone();
    out.k = k;
    let parents = snapshot.parent_indexes();
    let keys: Vec<String> = snapshot.groups.iter().map(|g| g.code.clone()).collect();
    let was: Vec<bool> = snapshot
        .groups
        .iter()
        .map(|g| g.figures.is_some())
        .collect();
    let n_of = |i: usize| snapshot.groups[i].figures.as_ref().map_or(0, |f| f.n);
    let shown = narrow(&keys, &parents, &was, n_of, k);
    for (g, keep) in out.groups.iter_mut().zip(&shown) {
        if !keep {
            g.figures = None;
        }
    }
    for f in 0..snapshot.factors.len() {
        let had: Vec<bool> = (0..shown.len())
            .map(|i| shown[i] && factor_at(&out.groups[i], f).is_some())
            .collect();
        let size = |i: usize| factor_at(&out.groups[i], f).map_or(0, |s| s.n);
        let keep = narrow(&keys, &parents, &had, size, k);
        for (g, keep) in out.groups.iter_mut().zip(&keep) {
            if let (Some(fig), false) = (g.figures.as_mut(), keep) {
                fig.factors[f] = None;
            }
        }
    }
    for t in 0..snapshot.items.len() {
        let item = |i: usize| out.groups[i].figures.as_ref().and_then(|x| x.items[t]);
        let had: Vec<bool> = (0..shown.len()).map(|i| item(i).is_some()).collect();
        let size = |i: usize| item(i).map_or(0, |c| c.iter().sum());
        let keep = narrow(&keys, &parents, &had, size, k);
        for (g, keep) in out.groups.iter_mut().zip(&keep) {
            if let (Some(fig), false) = (g.figures.as_mut(), keep) {
                fig.items[t] = None;
            }
        }
    }
    let org = out.groups.first().and_then(|g| g.figures.clone());
    for q in &mut out.background {
        let Some(org) = &org else {
            q.cells.iter_mut().for_each(|c| c.figures = None);
            continue;
        };
        let counts: BTreeMap<String, u32> = q
            .cells
            .iter()
            .filter_map(|c| c.figures.as_ref().map(|f| (c.option.clone(), f.n)))
            .collect();
        let keep = release_cells(&counts, org.n, k);
        for c in &mut q.cells {
            if keep.get(&c.option) != Some(&true) {
                c.figures = None;
            }
        }
        for f in 0..out.factors.len() {
            let sizes: BTreeMap<String, u32> = q
                .cells
                .iter()
                .filter_map(|c| {
                    let s = c.figures.as_ref()?.factors[f].as_ref()?;
                    Some((c.option.clone(), s.n))
                })
                .collect();
            let total = org.factors[f].as_ref().map_or(0, |s| s.n);
            let keep = release_cells(&sizes, total, k);
            for c in &mut q.cells {
                if let Some(fig) = c.figures.as_mut() {
                    if total == 0 || keep.get(&c.option) != Some(&true) {
                        fig.factors[f] = None;
                    }
                }
            }
        }
    }
    for a in &mut out.alpha {
        if org.is_none() || a.as_ref().is_some_and(|a| a.n < k) {
            *a = None;
        }
    }
    out
}

fn factor_at(g: &Group, f: usize) -> Option<&FactorStat> {
    g.figures.as_ref()?.factors[f].as_ref()
}
