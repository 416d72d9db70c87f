//! The anonymity engine: which groups of a tree may be shown (ANONYMITY.md
//! §3–§4), and which cells of a breakdown (§5). Pure: no database, no HTTP.
//! It works on counts only, so the same engine protects survey respondents
//! and the employees behind absence figures ([`crate::analysis`]).
//!
//! The rules, for a minimum group size k:
//!
//! 1. **Threshold.** A group (a unit's whole subtree) is shown only when it
//!    has at least k members.
//! 2. **Remainder.** The shown groups form a tree. A shown group's
//!    *remainder* is its members who are in no shown group below it; the
//!    remainder is what subtracting the shown groups below it reveals. Every
//!    non-empty remainder must have at least k members. Where one has 1 to
//!    k−1, the smallest shown group directly below it is suppressed (its
//!    members join the remainder), and so on until the rule holds.
//!
//! **Order** (so the same input always gives the same output): violations
//! are repaired deepest node first, ties broken by node id; the group
//! suppressed is the smallest by member count, ties broken by node id. Each
//! step suppresses one group and only changes the remainder of the node it
//! repairs, so the process ends.

use std::collections::BTreeMap;

/// One node of the tree: a unit, with the members directly in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// A stable id (the unit code): breaks ties.
    pub id: String,
    /// Index of the parent in the same slice; None for a root.
    pub parent: Option<usize>,
    /// Members placed directly in this unit, not below it.
    pub direct: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeError {
    ParentOutOfRange(usize),
    Cycle(String),
}

/// What the engine released: for every node, whether its group is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub shown: Vec<bool>,
    /// Members of each node's whole subtree.
    pub size: Vec<u32>,
}

/// A tree prepared once for any number of releases: each node's children,
/// and the order repairs run in (deepest first, ties by id). These depend
/// only on the tree and its ids, not on the counts, so releasing figure
/// after figure over the same groups (a snapshot releases ~90) does the
/// sorting once.
pub struct Tree {
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    /// Nodes children first: each after everything below it.
    up: Vec<usize>,
    /// The repair order.
    order: Vec<usize>,
    /// Each node's id as a dense rank (equal ids, equal ranks): ties are
    /// broken by it exactly as by the ids.
    rank: Vec<usize>,
}

impl Tree {
    pub fn new(ids: &[&str], parents: &[Option<usize>]) -> Result<Tree, TreeError> {
        let n = parents.len();
        let mut children = vec![Vec::new(); n];
        for (i, parent) in parents.iter().enumerate() {
            if let Some(p) = *parent {
                if p >= n {
                    return Err(TreeError::ParentOutOfRange(i));
                }
                children[p].push(i);
            }
        }
        let mut depth = vec![usize::MAX; n];
        let mut down = Vec::with_capacity(n);
        let mut stack: Vec<usize> = (0..n).filter(|i| parents[*i].is_none()).collect();
        for r in &stack {
            depth[*r] = 0;
        }
        while let Some(i) = stack.pop() {
            down.push(i);
            for &c in &children[i] {
                depth[c] = depth[i] + 1;
                stack.push(c);
            }
        }
        if let Some(i) = (0..n).find(|i| depth[*i] == usize::MAX) {
            return Err(TreeError::Cycle(ids[i].to_string()));
        }
        let mut by_id: Vec<usize> = (0..n).collect();
        by_id.sort_by(|a, b| ids[*a].cmp(ids[*b]));
        let mut rank = vec![0; n];
        for w in 1..n {
            let (prev, this) = (by_id[w - 1], by_id[w]);
            rank[this] = rank[prev] + usize::from(ids[prev] != ids[this]);
        }
        // Deepest first, then by id (a stable sort keeps equal ids in
        // node order).
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|a, b| depth[*b].cmp(&depth[*a]).then(rank[*a].cmp(&rank[*b])));
        down.reverse();
        Ok(Tree {
            parents: parents.to_vec(),
            children,
            up: down,
            order,
            rank,
        })
    }

    /// Members of each node's whole subtree, from the members directly in it.
    pub fn sizes(&self, direct: &[u32]) -> Vec<u32> {
        let mut size = direct.to_vec();
        for &i in &self.up {
            if let Some(p) = self.parents[i] {
                size[p] += size[i];
            }
        }
        size
    }

    /// The shown groups nearest below `i` (shown descendants with no shown
    /// group between them and `i`).
    fn nearest_shown(&self, i: usize, shown: &[bool], out: &mut Vec<usize>) {
        for &c in &self.children[i] {
            if shown[c] {
                out.push(c);
            } else {
                self.nearest_shown(c, shown, out);
            }
        }
    }

    /// Which groups may be shown, given each node's whole-subtree `size`:
    /// the threshold, then the remainder rule repaired in [`Tree`]'s order.
    pub fn release_sizes(&self, size: &[u32], k: u32) -> Vec<bool> {
        let mut shown: Vec<bool> = size.iter().map(|s| *s >= k).collect();
        let mut below = Vec::new();
        for &i in &self.order {
            if !shown[i] {
                continue;
            }
            loop {
                below.clear();
                self.nearest_shown(i, &shown, &mut below);
                let rem = size[i] - below.iter().map(|c| size[*c]).sum::<u32>();
                if rem == 0 || rem >= k {
                    break;
                }
                // Suppress the smallest shown group directly below the
                // remainder.
                let victim = below
                    .iter()
                    .copied()
                    .min_by(|a, b| {
                        size[*a]
                            .cmp(&size[*b])
                            .then(self.rank[*a].cmp(&self.rank[*b]))
                    })
                    .expect("a shown group with a remainder below k has a shown group below it");
                shown[victim] = false;
            }
        }
        // Suppressing a group can only grow its ancestors' remainders, and
        // each node was repaired after everything below it: one pass
        // suffices. The check is kept for the record.
        debug_assert!((0..size.len()).filter(|i| shown[*i]).all(|i| {
            let mut below = Vec::new();
            self.nearest_shown(i, &shown, &mut below);
            let rem = size[i] - below.iter().map(|c| size[*c]).sum::<u32>();
            rem == 0 || rem >= k
        }));
        shown
    }

    /// [`release_sized`] over this tree: `sizes` are the sizes of groups
    /// that were shown before (this tree's nodes).
    pub fn release_shown(&self, sizes: &[u32], k: u32) -> Vec<bool> {
        let mut direct = sizes.to_vec();
        for (i, parent) in self.parents.iter().enumerate() {
            if let Some(p) = *parent {
                direct[p] = direct[p].saturating_sub(sizes[i]);
            }
        }
        self.release_sizes(&self.sizes(&direct), k)
    }
}

fn tree_of(nodes: &[Node]) -> Result<Tree, TreeError> {
    let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let parents: Vec<Option<usize>> = nodes.iter().map(|n| n.parent).collect();
    Tree::new(&ids, &parents)
}

/// The members of shown group `i` who are in no shown group below it.
pub fn remainder(i: usize, released: &Released, nodes: &[Node]) -> u32 {
    let tree = tree_of(nodes).expect("a released tree is valid");
    let mut below = Vec::new();
    tree.nearest_shown(i, &released.shown, &mut below);
    released.size[i] - below.iter().map(|c| released.size[*c]).sum::<u32>()
}

/// Decides which groups may be shown with minimum group size `k`.
pub fn release(nodes: &[Node], k: u32) -> Result<Released, TreeError> {
    let tree = tree_of(nodes)?;
    let direct: Vec<u32> = nodes.iter().map(|n| n.direct).collect();
    let size = tree.sizes(&direct);
    Ok(Released {
        shown: tree.release_sizes(&size, k),
        size,
    })
}

/// Which cells of a breakdown of `total` members may be shown (§5): a cell
/// with at least k members, as long as the cells shown do not leave 1 to k−1
/// members unshown; then the smallest shown cell (ties by key) is
/// suppressed too, until they do not.
pub fn release_cells(cells: &BTreeMap<String, u32>, total: u32, k: u32) -> BTreeMap<String, bool> {
    let mut shown: BTreeMap<String, bool> = cells
        .iter()
        .map(|(key, n)| (key.clone(), *n >= k))
        .collect();
    loop {
        let visible: u32 = cells
            .iter()
            .filter(|(key, _)| shown[*key])
            .map(|(_, n)| *n)
            .sum();
        let hidden = total.saturating_sub(visible);
        if hidden == 0 || hidden >= k {
            return shown;
        }
        let victim = cells
            .iter()
            .filter(|(key, _)| shown[*key])
            .min_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)))
            .map(|(key, _)| key.clone());
        match victim {
            Some(v) => {
                shown.insert(v, false);
            }
            None => return shown,
        }
    }
}

/// A group already shown, with the size of its whole group: the input for
/// re-applying suppression to figures that were released before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizedGroup {
    pub id: String,
    /// Index of the nearest shown group above, in the same slice.
    pub parent: Option<usize>,
    pub size: u32,
}

/// Runs the engine over groups that were shown before (a laminar family),
/// knowing only their sizes. Groups not in the slice stay hidden, so the
/// result shows a subset of them: raising k or releasing a narrower figure
/// can only hide more. Because the rules depend only on the shown groups'
/// sizes and repairs run children before parents, this is the same answer
/// as running [`release`] on the whole tree with the other groups hidden.
pub fn release_sized(groups: &[SizedGroup], k: u32) -> Result<Vec<bool>, TreeError> {
    let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    let parents: Vec<Option<usize>> = groups.iter().map(|g| g.parent).collect();
    let sizes: Vec<u32> = groups.iter().map(|g| g.size).collect();
    Ok(Tree::new(&ids, &parents)?.release_shown(&sizes, k))
}
