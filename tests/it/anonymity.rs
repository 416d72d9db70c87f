//! The anonymity engine (ANONYMITY.md §3–§5): the worked example, property
//! tests over random trees, and a brute-force attacker.

use naervaer::snapshot::anonymity::{release, release_cells, remainder, Node, Released};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn node(id: &str, parent: Option<usize>, direct: u32) -> Node {
    Node {
        id: id.into(),
        parent,
        direct,
    }
}

fn shown_ids(nodes: &[Node], r: &Released) -> Vec<String> {
    let mut v: Vec<String> = nodes
        .iter()
        .zip(&r.shown)
        .filter(|(_, s)| **s)
        .map(|(n, _)| n.id.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn worked_example_of_anonymity_md_section_4() {
    // k = 5. X has 13: child A 3, child B 6, and 4 directly in X.
    let tree = vec![
        node("X", None, 4),
        node("A", Some(0), 3),
        node("B", Some(0), 6),
    ];
    let r = release(&tree, 5).unwrap();
    assert_eq!(
        shown_ids(&tree, &r),
        ["B", "X"],
        "A is hidden; X's remainder is A + 4 direct = 7"
    );
    assert_eq!(remainder(0, &r, &tree), 7);

    // Without direct members (9 = 3 + 6) X's remainder would be A alone: B
    // must be hidden too, and only X is shown.
    let tree = vec![
        node("X", None, 0),
        node("A", Some(0), 3),
        node("B", Some(0), 6),
    ];
    let r = release(&tree, 5).unwrap();
    assert_eq!(shown_ids(&tree, &r), ["X"]);
}

#[test]
fn the_smallest_group_below_is_suppressed_first_and_ties_go_by_id() {
    // X has 0 direct; children C 2 (hidden), D 7, E 7: remainder 2 → hide one
    // of D and E, the one with the smaller id.
    let tree = vec![
        node("X", None, 0),
        node("C", Some(0), 2),
        node("E", Some(0), 7),
        node("D", Some(0), 7),
    ];
    let r = release(&tree, 5).unwrap();
    assert_eq!(shown_ids(&tree, &r), ["E", "X"]);
}

#[test]
fn background_cells_leave_no_small_remainder() {
    let cells: BTreeMap<String, u32> = [
        ("kvinne", 30),
        ("mann", 12),
        ("annet", 2),
        ("vil_ikke_svare", 6),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // 50 respondents: "annet" (2) is hidden, leaving 2 unshown: the next
    // smallest shown cell ("vil_ikke_svare", 6) goes too.
    let shown = release_cells(&cells, 50, 5);
    assert!(!shown["annet"]);
    assert!(!shown["vil_ikke_svare"]);
    assert!(shown["mann"]);
    assert!(shown["kvinne"]);
    // Three skipped the question: 3 + "annet" 2 = 5 unshown, which is k:
    // nothing more needs hiding.
    let shown = release_cells(&cells, 53, 5);
    assert!(!shown["annet"] && shown["vil_ikke_svare"]);
    // Two skipped: 4 unshown, so the smallest shown cell goes.
    let shown = release_cells(&cells, 52, 5);
    assert!(!shown["annet"] && !shown["vil_ikke_svare"] && shown["mann"]);
}

/// A random forest-free tree: node i > 0 hangs under a node before it.
fn tree_strategy(max_nodes: usize) -> impl Strategy<Value = Vec<Node>> {
    (1..=max_nodes).prop_flat_map(|n| {
        (
            proptest::collection::vec(0u32..=40, n),
            proptest::collection::vec(any::<prop::sample::Index>(), n),
        )
            .prop_map(move |(sizes, parents)| {
                (0..n)
                    .map(|i| Node {
                        id: format!("u{:04}", (i * 7919) % 10007),
                        parent: if i == 0 {
                            None
                        } else {
                            Some(parents[i].index(i))
                        },
                        // Many units are empty or tiny, as in real trees.
                        direct: if sizes[i] > 30 { 0 } else { sizes[i] },
                    })
                    .collect()
            })
    })
}

fn check_invariants(tree: &[Node], k: u32) -> Result<Released, TestCaseError> {
    let r = release(tree, k).unwrap();
    for i in 0..tree.len() {
        if r.shown[i] {
            prop_assert!(
                r.size[i] >= k,
                "shown group {} has {} < k = {k}",
                tree[i].id,
                r.size[i]
            );
            let rem = remainder(i, &r, tree);
            prop_assert!(
                rem == 0 || rem >= k,
                "group {} has a remainder of {rem} (k = {k})",
                tree[i].id
            );
        }
    }
    Ok(r)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn shown_groups_and_remainders_are_never_below_k_and_the_result_is_deterministic(
        tree in tree_strategy(300), k in 3u32..=10
    ) {
        let r = check_invariants(&tree, k)?;
        prop_assert_eq!(&release(&tree, k).unwrap(), &r, "the same input gave another output");
        // The order nodes arrive in does not matter either: reverse them.
        let n = tree.len();
        let reversed: Vec<Node> = tree.iter().rev().map(|x| Node { parent: x.parent.map(|p| n - 1 - p), ..x.clone() }).collect();
        let r2 = release(&reversed, k).unwrap();
        prop_assert_eq!(shown_ids(&tree, &r), shown_ids(&reversed, &r2));
    }

}

proptest! {
    // Every combination of up to four groups is many: fewer, smaller trees.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The attacker: every combination of up to four shown groups with
    /// coefficients +1/−1. If some combination gives every member a
    /// coefficient of 0 or 1, and 1 to k−1 members get 1, it has isolated a
    /// group smaller than k from published sums.
    #[test]
    fn no_combination_of_up_to_four_shown_groups_isolates_fewer_than_k(
        tree in tree_strategy(40), k in 3u32..=10
    ) {
        let r = check_invariants(&tree, k)?;
        let n = tree.len();
        // in_group[g][u]: node u lies in shown group g's subtree.
        let groups: Vec<usize> = (0..n).filter(|i| r.shown[*i]).collect();
        let inside: Vec<Vec<bool>> = groups
            .iter()
            .map(|&g| (0..n).map(|mut u| loop {
                if u == g { break true; }
                match tree[u].parent { Some(p) => u = p, None => break false }
            }).collect())
            .collect();
        let mut coef = vec![0i32; n];
        let mut attack = |chosen: &[(usize, i32)]| -> Result<(), TestCaseError> {
            coef.iter_mut().for_each(|c| *c = 0);
            for &(g, sign) in chosen {
                for u in 0..n {
                    if inside[g][u] { coef[u] += sign; }
                }
            }
            let mut isolated = 0u32;
            for u in 0..n {
                if tree[u].direct == 0 { continue; }
                match coef[u] {
                    0 => {}
                    1 => isolated += tree[u].direct,
                    _ => return Ok(()),
                }
            }
            prop_assert!(isolated == 0 || isolated >= k,
                "groups {:?} isolate {isolated} member(s) (k = {k})",
                chosen.iter().map(|(g, s)| format!("{}{}", if *s > 0 { "+" } else { "-" }, tree[groups[*g]].id)).collect::<Vec<_>>());
            Ok(())
        };
        let m = groups.len();
        for a in 0..m {
            for sa in [1, -1] {
                attack(&[(a, sa)])?;
                for b in a + 1..m {
                    for sb in [1, -1] {
                        attack(&[(a, sa), (b, sb)])?;
                        for c in b + 1..m {
                            for sc in [1, -1] {
                                attack(&[(a, sa), (b, sb), (c, sc)])?;
                                for d in c + 1..m {
                                    for sd in [1, -1] {
                                        attack(&[(a, sa), (b, sb), (c, sc), (d, sd)])?;
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
