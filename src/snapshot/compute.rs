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

use super::anonymity::{release, release_cells, Node, Tree};
use super::model::*;
use crate::stats::scores::{respondent_score_exact, AlphaSums, Answer, Moments, Score};
use crate::survey::stored::{decode_background, decode_items, Layout};
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

/// One stored response, as the database holds it
/// ([`crate::survey::stored`]).
#[derive(Debug, Clone, Copy)]
pub struct RawResponse<'a> {
    /// Index into [`Input::units`].
    pub unit: usize,
    pub answers: &'a str,
    pub background: &'a str,
}

pub struct Input<'a> {
    pub round_id: &'a crate::ids::RoundId,
    pub k: u32,
    pub computed_at: i64,
    pub surveys: &'a [Survey],
    pub units: Vec<TreeUnit>,
    pub responses: Vec<RawResponse<'a>>,
    /// The released scores of the previous round of the same
    /// questionnaire: the changes are measured against them.
    pub previous: Option<&'a Scores>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error("the unit tree is broken: {0:?}")]
    Tree(super::anonymity::TreeError),
    #[error(transparent)]
    Response(#[from] crate::survey::stored::Unreadable),
}

/// What one pass over some of the responses gathers: each unit's own
/// respondents' sums (None for a unit none of them belongs to), each
/// background question's cells by option, and each factor's reliability
/// sums. Whole numbers throughout, so shares gathered apart and merged
/// give exactly the sums of a single pass, in any order.
struct Gathered {
    own: Vec<Option<Sums>>,
    cells: Vec<Vec<Option<Sums>>>,
    alpha: Vec<AlphaSums>,
}

impl Gathered {
    fn merge(&mut self, other: Gathered) {
        fn into(a: &mut Option<Sums>, b: Option<Sums>) {
            match (a.as_mut(), b) {
                (Some(a), Some(b)) => a.merge(&b),
                (None, b) => *a = b,
                (_, None) => {}
            }
        }
        for (a, b) in self.own.iter_mut().zip(other.own) {
            into(a, b);
        }
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            for (a, b) in a.iter_mut().zip(b) {
                into(a, b);
            }
        }
        for (a, b) in self.alpha.iter_mut().zip(&other.alpha) {
            a.merge(b);
        }
    }
}

/// Reads the responses at `which` (indexes into [`Input::responses`]) once
/// each: decodes them, scores every factor, and adds them to their unit's
/// sums, their background cells and the reliability sums.
fn gather(
    input: &Input,
    c: &Catalogue,
    layout: &Layout,
    which: &[usize],
) -> Result<Gathered, ComputeError> {
    let (n_factors, n_items) = (c.factors.len(), c.items.len());
    let mut g = Gathered {
        own: vec![None; input.units.len()],
        cells: layout
            .background
            .iter()
            .map(|&(s, q)| vec![None; input.surveys[s].background[q].options.len()])
            .collect(),
        alpha: c
            .factor_items
            .iter()
            .map(|(flat, _)| AlphaSums::new(flat.len()))
            .collect(),
    };
    let (mut items, mut background) = (Vec::new(), Vec::new());
    let mut answers: Vec<Option<Answer>> = Vec::new();
    let mut scores: Vec<Option<Score>> = Vec::with_capacity(n_factors);
    let mut row: Vec<u64> = Vec::new();
    for &r in which {
        let response = &input.responses[r];
        decode_items(input.surveys, layout, response.answers, &mut items)?;
        decode_background(input.surveys, layout, response.background, &mut background)?;
        scores.clear();
        for (flat, reverse) in &c.factor_items {
            answers.clear();
            answers.extend(flat.iter().map(|i| items[*i]));
            scores.push(respondent_score_exact(&answers, reverse));
        }
        let own = g.own[response.unit].get_or_insert_with(|| Sums::new(n_factors, n_items));
        own.add_scores(&scores);
        own.add_items(&items);
        for (cells, option) in g.cells.iter_mut().zip(&background) {
            if let Some(o) = option {
                cells[usize::from(*o)]
                    .get_or_insert_with(|| Sums::new(n_factors, 0))
                    .add_scores(&scores);
            }
        }
        // Reliability: over respondents who answered all of a factor's
        // items, reverse-coded.
        for ((flat, reverse), sums) in c.factor_items.iter().zip(&mut g.alpha) {
            row.clear();
            for (i, rev) in flat.iter().zip(reverse) {
                match items[*i] {
                    Some(Answer::Value(v)) => row.push(u64::from(if *rev { 6 - v } else { v })),
                    _ => break,
                }
            }
            if row.len() == flat.len() {
                sums.add(row.iter().copied());
            }
        }
    }
    Ok(g)
}

/// [`gather`] over every response, on every core: the responses are taken
/// in the order of their units (each unit's sums stay in cache while its
/// respondents are added) and split into one share per core.
fn gather_all(input: &Input, c: &Catalogue) -> Result<Gathered, ComputeError> {
    let layout = Layout::of(input.surveys);
    let mut order: Vec<usize> = (0..input.responses.len()).collect();
    order.sort_by_key(|&r| input.responses[r].unit);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let shares = if order.len() < 2_000 { 1 } else { cores };
    gather_shares(input, c, &layout, &order, shares)
}

/// [`gather`] over `order` in `shares` parts at once, merged.
fn gather_shares(
    input: &Input,
    c: &Catalogue,
    layout: &Layout,
    order: &[usize],
    shares: usize,
) -> Result<Gathered, ComputeError> {
    if shares <= 1 || order.is_empty() {
        return gather(input, c, layout, order);
    }
    let per = order.len().div_ceil(shares).max(1);
    let shares: Vec<Result<Gathered, ComputeError>> = std::thread::scope(|s| {
        let running: Vec<_> = order
            .chunks(per)
            .map(|share| s.spawn(move || gather(input, c, layout, share)))
            .collect();
        running
            .into_iter()
            .map(|t| t.join().expect("a snapshot worker panicked"))
            .collect()
    });
    let mut shares = shares.into_iter();
    let mut all = shares.next().expect("at least one share")?;
    for share in shares {
        all.merge(share?);
    }
    Ok(all)
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
    fn add_scores(&mut self, scores: &[Option<Score>]) {
        self.n += 1;
        for (m, s) in self.factors.iter_mut().zip(scores) {
            if let Some(s) = s {
                m.add(*s);
            }
        }
    }
    fn add_items(&mut self, items: &[Option<Answer>]) {
        for (c, a) in self.items.iter_mut().zip(items) {
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
        since: None,
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

/// The shown groups as a tree of their own (each under the nearest shown
/// group above it), prepared once for the engine's passes over narrower
/// figures.
struct Family {
    members: Vec<usize>,
    tree: Tree,
}

impl Family {
    fn new(codes: &[&str], parents: &[Option<usize>], shown: &[bool]) -> Family {
        let members: Vec<usize> = (0..shown.len()).filter(|i| shown[*i]).collect();
        let pos: HashMap<usize, usize> = members.iter().enumerate().map(|(p, i)| (*i, p)).collect();
        let up: Vec<Option<usize>> = members
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
        let ids: Vec<&str> = members.iter().map(|&i| codes[i]).collect();
        let tree = Tree::new(&ids, &up).expect("a family of shown groups is a tree");
        Family { members, tree }
    }

    /// Runs the engine over the shown groups with another size per group
    /// (by unit index); true where that figure may be shown.
    fn narrow(&self, size: impl Fn(usize) -> u32, k: u32, units: usize) -> Vec<bool> {
        let sizes: Vec<u32> = self.members.iter().map(|&i| size(i)).collect();
        let kept = self.tree.release_shown(&sizes, k);
        let mut out = vec![false; units];
        for (p, &i) in self.members.iter().enumerate() {
            out[i] = kept[p];
        }
        out
    }
}

/// [`Family::narrow`] for one figure over groups shown before.
fn narrow(
    codes: &[&str],
    parents: &[Option<usize>],
    shown: &[bool],
    size: impl Fn(usize) -> u32,
    k: u32,
) -> Vec<bool> {
    Family::new(codes, parents, shown).narrow(size, k, shown.len())
}

/// The snapshot's flat lists: every factor and item of the round's
/// questionnaires in order, and for each factor its items' positions in
/// the flat item list with whether each is reverse-coded.
struct Catalogue {
    factors: Vec<FactorRef>,
    factor_items: Vec<(Vec<usize>, Vec<bool>)>,
    items: Vec<ItemRef>,
}

fn catalogue(surveys: &[Survey]) -> Catalogue {
    let mut c = Catalogue {
        factors: Vec::new(),
        factor_items: Vec::new(),
        items: Vec::new(),
    };
    for s in surveys {
        let offset = c.items.len();
        for f in &s.factors {
            c.factors.push(FactorRef {
                survey: s.id.clone(),
                key: f.key.clone(),
            });
            let (flat, reverse) = s
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.factor == f.key)
                .map(|(n, i)| (offset + n, i.reverse))
                .unzip();
            c.factor_items.push((flat, reverse));
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

fn tree_sums(
    units: &[TreeUnit],
    depth: &[usize],
    own: Vec<Option<Sums>>,
    c: &Catalogue,
) -> TreeSums {
    let sums: Vec<Sums> = own
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Sums::new(c.factors.len(), c.items.len())))
        .collect();
    let direct: Vec<u32> = sums.iter().map(|s| s.n).collect();
    let mut sums = sums;
    let mut invited: Vec<u32> = units.iter().map(|u| u.invited).collect();
    // Deepest first, so each child is complete before its parent takes it.
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(depth[*i]));
    for &i in &order {
        if let Some(p) = units[i].parent {
            let child = std::mem::replace(&mut sums[i], Sums::new(0, 0));
            sums[p].merge(&child);
            sums[i] = child;
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
    let codes: Vec<&str> = units.iter().map(|u| u.code.as_str()).collect();
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
    let family = Family::new(&codes, &parents, &shown);
    let n = units.len();
    let factors = (0..c.factors.len())
        .map(|f| family.narrow(|i| t.sums[i].factors[f].n, k, n))
        .collect();
    let items = (0..c.items.len())
        .map(|it| family.narrow(|i| t.sums[i].items[it].iter().sum(), k, n))
        .collect();
    Ok(Released {
        groups: shown,
        factors,
        items,
    })
}

/// The previous round's released scores by group code, with each of this
/// round's factors' position among its factors.
struct Previous<'a> {
    groups: HashMap<&'a str, &'a ScoreGroup>,
    factor: Vec<Option<usize>>,
}

impl<'a> Previous<'a> {
    /// For a round with `factors`.
    fn new(scores: Option<&'a Scores>, factors: &[FactorRef]) -> Previous<'a> {
        let groups = scores
            .map(|p| p.groups.iter().map(|g| (g.code.as_str(), g)).collect())
            .unwrap_or_default();
        let factor = factors
            .iter()
            .map(|f| scores.and_then(|p| p.factors.iter().position(|x| x == f)))
            .collect();
        Previous { groups, factor }
    }

    fn score(&self, code: &str, f: usize) -> Option<&super::model::Score> {
        let g = self.groups.get(code)?;
        g.figures.as_ref()?.factors[self.factor[f]?].as_ref()
    }
}

/// A released factor figure with its change since the previous round.
fn factor_figure(
    unit: &TreeUnit,
    m: &Moments,
    f: usize,
    previous: &Previous,
) -> Option<FactorStat> {
    let mut s = stat(m)?;
    s.since = previous
        .score(&unit.code, f)
        .and_then(|before| Since::previous((s.n, s.mean, s.sd), *before));
    Some(s)
}

/// Every group of the tree, with figures only where released. The groups
/// are independent of each other and each change's interval costs an
/// iterative quantile, so they are made on every core.
fn groups(input: &Input, depth: &[usize], t: &TreeSums, c: &Catalogue, r: &Released) -> Vec<Group> {
    let units = &input.units;
    let previous = Previous::new(input.previous, &c.factors);
    let one = |i: usize| {
        let u = &units[i];
        Group {
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
                            .then(|| factor_figure(u, &t.sums[i].factors[f], f, &previous))
                            .flatten()
                    })
                    .collect(),
                items: (0..c.items.len())
                    .map(|it| r.items[it][i].then_some(t.sums[i].items[it]))
                    .collect(),
            }),
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if cores == 1 || units.len() < 64 {
        return (0..units.len()).map(one).collect();
    }
    // The groups differ in cost (hidden ones cost nothing, the shown ones
    // a quantile per factor): each core takes the next run of them until
    // none is left, and the runs are put back in order.
    const RUN: usize = 32;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut runs: Vec<(usize, Vec<Group>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                let (one, next) = (&one, &next);
                s.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let from = next.fetch_add(RUN, std::sync::atomic::Ordering::Relaxed);
                        if from >= units.len() {
                            return done;
                        }
                        let to = (from + RUN).min(units.len());
                        done.push((from, (from..to).map(one).collect::<Vec<_>>()));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a snapshot worker panicked"))
            .collect()
    });
    runs.sort_unstable_by_key(|(from, _)| *from);
    runs.into_iter().flat_map(|(_, groups)| groups).collect()
}

/// The background breakdowns of the whole organisation: each question's
/// cells by the engine's cell rule, and within the shown cells each
/// factor's figure by it again.
fn background(
    input: &Input,
    cells: Vec<Vec<Option<Sums>>>,
    org: &Sums,
    c: &Catalogue,
) -> Vec<BackgroundQuestion> {
    let k = input.k;
    let mut out = Vec::new();
    let questions = input
        .surveys
        .iter()
        .flat_map(|s| s.background.iter().map(move |q| (s, q)));
    for ((s, q), cells) in questions.zip(cells) {
        let key = |o: usize| q.options[o].key.clone();
        let counts: BTreeMap<String, u32> = cells
            .iter()
            .enumerate()
            .filter_map(|(o, cell)| Some((key(o), cell.as_ref()?.n)))
            .collect();
        let cell_shown = release_cells(&counts, org.n, k);
        let per_factor: Vec<BTreeMap<String, bool>> = (0..c.factors.len())
            .map(|f| {
                let sizes: BTreeMap<String, u32> = cells
                    .iter()
                    .enumerate()
                    .filter_map(|(o, cell)| Some((key(o), cell.as_ref()?)))
                    .filter(|(o, _)| cell_shown[o])
                    .map(|(o, cell)| (o, cell.factors[f].n))
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
                .zip(&cells)
                .map(|(o, cell)| Cell {
                    option: o.key.clone(),
                    figures: cell
                        .as_ref()
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
    out
}

/// Cronbach's alpha of each factor for the organisation, over the
/// respondents who answered all its items, when at least k did.
fn reliability(input: &Input, alpha: &[AlphaSums]) -> Vec<Option<AlphaFig>> {
    alpha
        .iter()
        .map(|sums| {
            (sums.rows() >= u64::from(input.k))
                .then(|| sums.alpha())
                .flatten()
                .map(|a| AlphaFig {
                    n: sums.rows() as u32,
                    alpha: a,
                })
        })
        .collect()
}

/// The snapshot of a round: its responses read once (on every core), summed up the unit
/// tree, released by the engine (groups, then factor figures and items
/// within them), and for the whole organisation its background cells and
/// reliability.
pub fn compute(input: &Input) -> Result<Snapshot, ComputeError> {
    let depth = depths(&input.units)?;
    let c = catalogue(input.surveys);
    let gathered = gather_all(input, &c)?;
    let t = tree_sums(&input.units, &depth, gathered.own, &c);
    let r = released(&input.units, &t, &c, input.k)?;
    let groups = groups(input, &depth, &t, &c, &r);
    let (background, alpha) = if r.groups[0] {
        (
            background(input, gathered.cells, &t.sums[0], &c),
            reliability(input, &gathered.alpha),
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

/// `snapshot` without the changes measured against figures `previous` (the
/// round they were measured against) no longer shows, None when it keeps
/// them all. A change shows the previous round's figure (its mean, and in
/// the stored form its n and SD), so when raising that round's k hides the
/// figure, the change goes too; nothing else moves.
pub fn withdraw_changes(snapshot: &Snapshot, previous: &Scores) -> Option<Snapshot> {
    let against = Previous::new(Some(previous), &snapshot.factors);
    let mut out = snapshot.clone();
    let mut withdrawn = false;
    for g in &mut out.groups {
        let Some(figures) = g.figures.as_mut() else {
            continue;
        };
        for (f, stat) in figures.factors.iter_mut().enumerate() {
            if let Some(stat) = stat.as_mut().filter(|s| s.since.is_some()) {
                if against.score(&g.code, f).is_none() {
                    stat.since = None;
                    withdrawn = true;
                }
            }
        }
    }
    withdrawn.then_some(out)
}

/// Re-applies suppression with a larger k: whatever was hidden stays
/// hidden, and the engine runs again over what was shown, using the sizes
/// stored with the released figures.
pub fn raise_k(snapshot: &Snapshot, k: u32) -> Snapshot {
    assert!(k >= snapshot.k, "raising k never lowers it");
    let mut out = snapshot.clone();
    out.k = k;
    let parents = snapshot.parent_indexes();
    let keys: Vec<&str> = snapshot.groups.iter().map(|g| g.code.as_str()).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::stored::{encode_background, encode_items};
    use rand::{Rng, SeedableRng};

    /// Sums gathered in several shares on several threads and merged are
    /// exactly those of one pass: the snapshots are byte-identical.
    #[test]
    fn gathering_in_shares_gives_the_figures_of_one_pass() {
        let surveys = vec![
            crate::survey::parse(crate::survey::builtin::TEN_FACTOR).unwrap(),
            crate::survey::parse(crate::survey::builtin::PRESENCE_MODULE).unwrap(),
        ];
        let layout = Layout::of(&surveys);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut units = vec![TreeUnit {
            key: "root".into(),
            code: "0".into(),
            name: "Kommunen".into(),
            parent: None,
            invited: 0,
        }];
        for i in 1..40 {
            units.push(TreeUnit {
                key: format!("u{i}"),
                code: format!("{i:03}"),
                name: format!("Enhet {i}"),
                parent: Some(if i < 5 { 0 } else { rng.gen_range(1..5) }),
                invited: 30,
            });
        }
        let texts: Vec<(usize, String, String)> = (0..1_500)
            .map(|_| {
                let items: Vec<Option<Answer>> = layout
                    .items
                    .iter()
                    .map(|_| match rng.gen_range(0..8) {
                        0 => None,
                        1 => Some(Answer::DontKnow),
                        _ => Some(Answer::Value(rng.gen_range(1..=5))),
                    })
                    .collect();
                let background: Vec<Option<u8>> = layout
                    .background
                    .iter()
                    .map(|&(s, q)| {
                        let options = surveys[s].background[q].options.len() as u8;
                        rng.gen_bool(0.8).then(|| rng.gen_range(0..options))
                    })
                    .collect();
                (
                    rng.gen_range(1..40),
                    encode_items(&items),
                    encode_background(&background),
                )
            })
            .collect();
        let round_id = crate::ids::RoundId::new("round");
        let input = Input {
            round_id: &round_id,
            k: 5,
            computed_at: 0,
            surveys: &surveys,
            units,
            responses: texts
                .iter()
                .map(|(unit, answers, background)| RawResponse {
                    unit: *unit,
                    answers,
                    background,
                })
                .collect(),
            previous: None,
        };
        let c = catalogue(&surveys);
        // In the order of their units, as `gather_all` takes them: most
        // units' respondents fall in one share only.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&r| input.responses[r].unit);
        let snapshot = |shares: usize| {
            let g = gather_shares(&input, &c, &layout, &order, shares).unwrap();
            let depth = depths(&input.units).unwrap();
            let t = tree_sums(&input.units, &depth, g.own, &c);
            let r = released(&input.units, &t, &c, input.k).unwrap();
            assert!(r.groups[0], "the organisation is shown");
            let alpha = reliability(&input, &g.alpha);
            assert!(
                alpha.iter().all(Option::is_some),
                "every factor has an alpha"
            );
            (
                groups(&input, &depth, &t, &c, &r),
                background(&input, g.cells, &t.sums[0], &c),
                alpha,
            )
        };
        let json = |s: &(Vec<Group>, Vec<BackgroundQuestion>, Vec<Option<AlphaFig>>)| {
            serde_json::to_string(s).unwrap()
        };
        // No responses in several shares: empty sums, as in one pass.
        let none = gather_shares(&input, &c, &layout, &[], 3).unwrap();
        assert!(none.own.iter().all(Option::is_none));
        assert!(none.alpha.iter().all(|a| a.rows() == 0));
        let computed = snapshot(1);
        let one = json(&computed);
        assert!(one.len() > 50_000);
        for shares in [2, 3, 7] {
            assert!(
                json(&snapshot(shares)) == one,
                "{shares} shares differ from one pass"
            );
        }
        // Every figure computed is stored in format version 2's derived
        // form: its interval and shares follow from n, mean, SD and the
        // counts to the last bit.
        let (groups, background, _) = computed;
        let cells = background.into_iter().flat_map(|q| q.cells);
        let stats: Vec<FactorStat> = groups
            .into_iter()
            .filter_map(|g| g.figures.map(|f| f.factors))
            .chain(cells.filter_map(|c| c.figures.map(|f| f.factors)))
            .flatten()
            .flatten()
            .collect();
        assert!(stats.len() > 300, "{} figures", stats.len());
        assert!(stats.iter().all(|s| s.derivable().is_some()));
    }
}
