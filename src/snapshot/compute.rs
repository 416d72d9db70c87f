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
    pub round_id: &'a crate::ids::RoundId,
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

/// The snapshot's flat lists: every factor and item of the round's
/// questionnaires in order, and for each factor its survey and item
/// positions.
struct Catalogue {
    factors: Vec<FactorRef>,
    factor_items: Vec<(usize, Vec<usize>)>,
    items: Vec<ItemRef>,
}

fn catalogue(surveys: &[Survey]) -> Catalogue {
    let mut c = Catalogue {
        factors: Vec::new(),
        factor_items: Vec::new(),
        items: Vec::new(),
    };
    for (si, s) in surveys.iter().enumerate() {
        for f in &s.factors {
            c.factors.push(FactorRef {
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
            c.factor_items.push((si, idx));
        }
        for i in &s.items {
            c.items.push(ItemRef {
                survey: s.id.clone(),
                key: i.key.clone(),
                factor: i.factor.clone(),
            });
        }
    }
    c
}

/// Every unit's sums over its whole subtree, its own respondents, and the
/// people invited in its subtree.
struct TreeSums {
    sums: Vec<Sums>,
    direct: Vec<u32>,
    invited: Vec<u32>,
}

fn tree_sums(units: &[TreeUnit], depth: &[usize], parsed: &[Parsed], c: &Catalogue) -> TreeSums {
    let mut sums = vec![Sums::new(c.factors.len(), c.items.len()); units.len()];
    let mut direct = vec![0u32; units.len()];
    for p in parsed {
        sums[p.unit].add(p);
        direct[p.unit] += 1;
    }
    let mut invited: Vec<u32> = units.iter().map(|u| u.invited).collect();
    // Deepest first, so each child is complete before its parent takes it.
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(depth[*i]));
    for &i in &order {
        if let Some(p) = units[i].parent {
            let child = sums[i].clone();
            sums[p].merge(&child);
            invited[p] += invited[i];
        }
    }
    TreeSums {
        sums,
        direct,
        invited,
    }
}

/// Which groups, and within them which factor figures and item
/// distributions, the engine releases.
struct Released {
    groups: Vec<bool>,
    factors: Vec<Vec<bool>>,
    items: Vec<Vec<bool>>,
}

fn released(
    units: &[TreeUnit],
    t: &TreeSums,
    c: &Catalogue,
    k: u32,
) -> Result<Released, ComputeError> {
    let keys: Vec<String> = units.iter().map(|u| u.code.clone()).collect();
    let parents: Vec<Option<usize>> = units.iter().map(|u| u.parent).collect();
    let nodes: Vec<Node> = units
        .iter()
        .enumerate()
        .map(|(i, u)| Node {
            id: u.code.clone(),
            parent: u.parent,
            direct: t.direct[i],
        })
        .collect();
    let shown = release(&nodes, k).map_err(ComputeError::Tree)?.shown;
    let factors = (0..c.factors.len())
        .map(|f| narrow(&keys, &parents, &shown, |i| t.sums[i].factors[f].n, k))
        .collect();
    let items = (0..c.items.len())
        .map(|it| {
            narrow(
                &keys,
                &parents,
                &shown,
                |i| t.sums[i].items[it].iter().sum(),
                k,
            )
        })
        .collect();
    Ok(Released {
        groups: shown,
        factors,
        items,
    })
}

/// A released factor figure with its change since the previous round.
fn factor_figure(
    input: &Input,
    unit: &TreeUnit,
    m: &Moments,
    factor: &FactorRef,
    previous: &HashMap<&str, &Group>,
) -> Option<FactorStat> {
    let mut s = stat(m)?;
    s.change = previous
        .get(unit.code.as_str())
        .and_then(|g| input.previous?.factor(g, factor))
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
}

/// Every group of the tree, with figures only where released.
fn groups(input: &Input, depth: &[usize], t: &TreeSums, c: &Catalogue, r: &Released) -> Vec<Group> {
    let units = &input.units;
    let previous: HashMap<&str, &Group> = input
        .previous
        .map(|p| p.groups.iter().map(|g| (g.code.as_str(), g)).collect())
        .unwrap_or_default();
    units
        .iter()
        .enumerate()
        .map(|(i, u)| Group {
            key: u.key.clone(),
            code: u.code.clone(),
            name: u.name.clone(),
            parent: u.parent.map(|p| units[p].key.clone()),
            depth: depth[i] as u32,
            invited: t.invited[i],
            figures: r.groups[i].then(|| Figures {
                n: t.sums[i].n,
                factors: (0..c.factors.len())
                    .map(|f| {
                        r.factors[f][i]
                            .then(|| {
                                factor_figure(
                                    input,
                                    u,
                                    &t.sums[i].factors[f],
                                    &c.factors[f],
                                    &previous,
                                )
                            })
                            .flatten()
                    })
                    .collect(),
                items: (0..c.items.len())
                    .map(|it| r.items[it][i].then_some(t.sums[i].items[it]))
                    .collect(),
            }),
        })
        .collect()
}

/// The background breakdowns of the whole organisation: each question's
/// cells by the engine's cell rule, and within the shown cells each
/// factor's figure by it again.
fn background(
    input: &Input,
    parsed: &[Parsed],
    org: &Sums,
    c: &Catalogue,
) -> Vec<BackgroundQuestion> {
    let k = input.k;
    let mut out = Vec::new();
    for s in input.surveys {
        for q in &s.background {
            let mut cells: BTreeMap<String, Sums> = BTreeMap::new();
            for p in parsed {
                if let Some(o) = p.background.get(&q.key) {
                    if q.options.iter().any(|x| &x.key == o) {
                        cells
                            .entry(o.clone())
                            .or_insert_with(|| Sums::new(c.factors.len(), 0))
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
            let cell_shown = release_cells(&counts, org.n, k);
            let per_factor: Vec<BTreeMap<String, bool>> = (0..c.factors.len())
                .map(|f| {
                    let sizes: BTreeMap<String, u32> = cells
                        .iter()
                        .filter(|(o, _)| cell_shown[*o])
                        .map(|(o, s)| (o.clone(), s.factors[f].n))
                        .collect();
                    release_cells(&sizes, org.factors[f].n, k)
                })
                .collect();
            out.push(BackgroundQuestion {
                survey: s.id.clone(),
                key: q.key.clone(),
                cells: q
                    .options
                    .iter()
                    .map(|o| Cell {
                        option: o.key.clone(),
                        figures: cells
                            .get(&o.key)
                            .filter(|_| cell_shown[&o.key])
                            .map(|cell| CellFigures {
                                n: cell.n,
                                factors: (0..c.factors.len())
                                    .map(|f| {
                                        if per_factor[f].get(&o.key) == Some(&true) {
                                            stat(&cell.factors[f])
                                        } else {
                                            None
                                        }
                                    })
                                    .collect(),
                            }),
                    })
                    .collect(),
            });
        }
    }
    out
}

/// Cronbach's alpha of each factor for the organisation, over the
/// respondents who answered all its items, when at least k did.
fn reliability(input: &Input, parsed: &[Parsed], c: &Catalogue) -> Vec<Option<AlphaFig>> {
    c.factor_items
        .iter()
        .map(|(si, idx)| {
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
            (rows.len() as u32 >= input.k)
                .then(|| cronbach_alpha(&rows))
                .flatten()
                .map(|a| AlphaFig {
                    n: rows.len() as u32,
                    alpha: a,
                })
        })
        .collect()
}

/// The snapshot of a round: its responses parsed once, summed up the unit
/// tree, released by the engine (groups, then factor figures and items
/// within them), and for the whole organisation its background cells and
/// reliability.
pub fn compute(input: &Input) -> Result<Snapshot, ComputeError> {
    let depth = depths(&input.units)?;
    let c = catalogue(input.surveys);
    let parsed: Vec<Parsed> = input
        .responses
        .iter()
        .map(|r| parse_response(r, input.surveys, &c.factor_items))
        .collect::<Result<_, _>>()?;
    let t = tree_sums(&input.units, &depth, &parsed, &c);
    let r = released(&input.units, &t, &c, input.k)?;
    let groups = groups(input, &depth, &t, &c, &r);
    let (background, alpha) = if r.groups[0] {
        (
            background(input, &parsed, &t.sums[0], &c),
            reliability(input, &parsed, &c),
        )
    } else {
        (Vec::new(), vec![None; c.factors.len()])
    };
    Ok(Snapshot {
        round_id: input.round_id.clone(),
        k: input.k,
        computed_at: input.computed_at,
        previous_round: input.previous.map(|p| p.round_id.clone()),
        factors: c.factors,
        items: c.items,
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
