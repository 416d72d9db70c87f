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

struct Shape {
    children: Vec<Vec<usize>>,
    depth: Vec<usize>,
    size: Vec<u32>,
}

fn shape(nodes: &[Node]) -> Result<Shape, TreeError> {
    let n = nodes.len();
    let mut children = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        if let Some(p) = node.parent {
            if p >= n {
                return Err(TreeError::ParentOutOfRange(i));
            }
            children[p].push(i);
        }
    }
    let mut depth = vec![usize::MAX; n];
    let mut order = Vec::with_capacity(n);
    let mut stack: Vec<usize> = (0..n).filter(|i| nodes[*i].parent.is_none()).collect();
    for r in &stack {
        depth[*r] = 0;
    }
    while let Some(i) = stack.pop() {
        order.push(i);
        for &c in &children[i] {
            depth[c] = depth[i] + 1;
            stack.push(c);
        }
    }
    if let Some(i) = (0..n).find(|i| depth[*i] == usize::MAX) {
        return Err(TreeError::Cycle(nodes[i].id.clone()));
    }
    let mut size: Vec<u32> = nodes.iter().map(|n| n.direct).collect();
    for &i in order.iter().rev() {
        if let Some(p) = nodes[i].parent {
            size[p] += size[i];
        }
    }
    Ok(Shape {
        children,
        depth,
        size,
    })
}

/// The shown groups nearest below `i` (shown descendants with no shown
/// group between them and `i`).
fn nearest_shown(i: usize, shape: &Shape, shown: &[bool], out: &mut Vec<usize>) {
    for &c in &shape.children[i] {
        if shown[c] {
            out.push(c);
        } else {
            nearest_shown(c, shape, shown, out);
        }
    }
}

/// The members of shown group `i` who are in no shown group below it.
pub fn remainder(i: usize, released: &Released, nodes: &[Node]) -> u32 {
    let shape = shape(nodes).expect("a released tree is valid");
    let mut below = Vec::new();
    nearest_shown(i, &shape, &released.shown, &mut below);
    released.size[i] - below.iter().map(|c| released.size[*c]).sum::<u32>()
}

/// Decides which groups may be shown with minimum group size `k`.
pub fn release(nodes: &[Node], k: u32) -> Result<Released, TreeError> {
    let shape = shape(nodes)?;
    let n = nodes.len();
    let mut shown: Vec<bool> = (0..n).map(|i| shape.size[i] >= k).collect();
    // Deepest first, then by id: a BTreeMap keyed that way is the worklist.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| {
        shape.depth[*b]
            .cmp(&shape.depth[*a])
            .then_with(|| nodes[*a].id.cmp(&nodes[*b].id))
    });
    for &i in &order {
        if !shown[i] {
            continue;
        }
        loop {
            let mut below = Vec::new();
            nearest_shown(i, &shape, &shown, &mut below);
            let rem = shape.size[i] - below.iter().map(|c| shape.size[*c]).sum::<u32>();
            if rem == 0 || rem >= k {
                break;
            }
            // Suppress the smallest shown group directly below the remainder.
            let victim = below
                .iter()
                .copied()
                .min_by(|a, b| {
                    shape.size[*a]
                        .cmp(&shape.size[*b])
                        .then_with(|| nodes[*a].id.cmp(&nodes[*b].id))
                })
                .expect("a shown group with a remainder below k has a shown group below it");
            shown[victim] = false;
        }
    }
    // Suppressing a group can only grow its ancestors' remainders, and each
    // node was repaired after everything below it: one pass suffices. The
    // check is kept for the record.
    debug_assert!((0..n).filter(|i| shown[*i]).all(|i| {
        let mut below = Vec::new();
        nearest_shown(i, &shape, &shown, &mut below);
        let rem = shape.size[i] - below.iter().map(|c| shape.size[*c]).sum::<u32>();
        rem == 0 || rem >= k
    }));
    Ok(Released {
        shown,
        size: shape.size,
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
    let mut direct: Vec<u32> = groups.iter().map(|g| g.size).collect();
    for g in groups {
        if let Some(p) = g.parent {
            if p >= groups.len() {
                return Err(TreeError::ParentOutOfRange(p));
            }
            direct[p] = direct[p].saturating_sub(g.size);
        }
    }
    let nodes: Vec<Node> = groups
        .iter()
        .zip(direct)
        .map(|(g, direct)| Node {
            id: g.id.clone(),
            parent: g.parent,
            direct,
        })
        .collect();
    Ok(release(&nodes, k)?.shown)
}
