//! What a snapshot holds: only released figures. A hidden group, factor,
//! item or cell is `None` and carries no number at all, so nothing built
//! from a [`Snapshot`] can show one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub round_id: String,
    /// The minimum group size the figures were released under.
    pub k: u32,
    pub computed_at: i64,
    /// The round the changes are measured against.
    pub previous_round: Option<String>,
    pub factors: Vec<FactorRef>,
    pub items: Vec<ItemRef>,
    /// Index 0 is the round's root: its unit, the organisation's one top
    /// unit, or a group ([`ORGANISATION`]) above several. Every group is a
    /// unit with its whole subtree. Parents come before their children.
    pub groups: Vec<Group>,
    pub background: Vec<BackgroundQuestion>,
    /// Cronbach's alpha per factor, for the organisation; by factor index.
    pub alpha: Vec<Option<AlphaFig>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactorRef {
    pub survey: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRef {
    pub survey: String,
    pub key: String,
    pub factor: String,
}

/// The key of the group above several top units, when a round covers an
/// organisation that has no single top unit.
pub const ORGANISATION: &str = "org";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The unit id, or [`ORGANISATION`].
    pub key: String,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub depth: u32,
    /// People invited in the whole subtree: organisation data, not answers.
    pub invited: u32,
    /// None when the group is hidden.
    pub figures: Option<Figures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Respondents.
    pub n: u32,
    /// By factor index; None where the factor's figure is hidden.
    pub factors: Vec<Option<FactorStat>>,
    /// Answers per option of each item (index 0 "vet ikke", 1..=5 the
    /// scale), by item index; None where hidden.
    pub items: Vec<Option<[u32; 6]>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorStat {
    pub n: u32,
    pub mean: f64,
    pub sd: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub favourable: f64,
    pub unfavourable: f64,
    pub change: Option<ChangeFig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeFig {
    pub previous_mean: f64,
    pub diff: f64,
    pub low: f64,
    pub high: f64,
}

impl ChangeFig {
    /// A change counts only when Welch's interval excludes 0.
    pub fn is_real(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackgroundQuestion {
    pub survey: String,
    pub key: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub option: String,
    pub figures: Option<CellFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellFigures {
    pub n: u32,
    pub factors: Vec<Option<FactorStat>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlphaFig {
    /// Respondents who answered every item of the factor.
    pub n: u32,
    pub alpha: f64,
}

impl Snapshot {
    /// The whole organisation (or the round's subtree).
    pub fn root(&self) -> &Group {
        &self.groups[0]
    }

    pub fn group(&self, key: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.key == key)
    }

    /// A group's released figure for a factor given by survey and key.
    pub fn factor<'a>(&'a self, g: &'a Group, f: &FactorRef) -> Option<&'a FactorStat> {
        let i = self.factors.iter().position(|x| x == f)?;
        g.figures.as_ref()?.factors[i].as_ref()
    }

    /// Each group's parent as an index into `groups` (parents come first).
    pub fn parent_indexes(&self) -> Vec<Option<usize>> {
        let pos: std::collections::HashMap<&str, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.key.as_str(), i))
            .collect();
        self.groups
            .iter()
            .map(|g| g.parent.as_deref().map(|p| pos[p]))
            .collect()
    }

    /// The groups from the organisation down to `key`, both included.
    pub fn path(&self, key: &str) -> Vec<&Group> {
        let mut out = Vec::new();
        let mut at = self.group(key);
        while let Some(g) = at {
            out.push(g);
            at = g.parent.as_deref().and_then(|p| self.group(p));
        }
        out.reverse();
        out
    }

    /// The groups directly below `key`.
    pub fn children(&self, key: &str) -> Vec<&Group> {
        self.groups
            .iter()
            .filter(|g| g.parent.as_deref() == Some(key))
            .collect()
    }

    /// Whether `key` is `ancestor` or lies below it.
    pub fn is_within(&self, key: &str, ancestor: &str) -> bool {
        self.path(key).iter().any(|g| g.key == ancestor)
    }
}

/// What [`crate::snapshot::load_summary`] parses: a snapshot's text read
/// without item distributions and background cells (serde skips the fields
/// these types do not name).
#[derive(Debug, Deserialize)]
pub(crate) struct Summary {
    round_id: String,
    k: u32,
    computed_at: i64,
    previous_round: Option<String>,
    factors: Vec<FactorRef>,
    items: Vec<ItemRef>,
    groups: Vec<SummaryGroup>,
    alpha: Vec<Option<AlphaFig>>,
}

#[derive(Debug, Deserialize)]
struct SummaryGroup {
    key: String,
    code: String,
    name: String,
    parent: Option<String>,
    depth: u32,
    invited: u32,
    figures: Option<SummaryFigures>,
}

#[derive(Debug, Deserialize)]
struct SummaryFigures {
    n: u32,
    factors: Vec<Option<FactorStat>>,
}

impl From<Summary> for Snapshot {
    fn from(s: Summary) -> Snapshot {
        Snapshot {
            round_id: s.round_id,
            k: s.k,
            computed_at: s.computed_at,
            previous_round: s.previous_round,
            factors: s.factors,
            items: s.items,
            groups: s
                .groups
                .into_iter()
                .map(|g| Group {
                    key: g.key,
                    code: g.code,
                    name: g.name,
                    parent: g.parent,
                    depth: g.depth,
                    invited: g.invited,
                    figures: g.figures.map(|f| Figures {
                        n: f.n,
                        factors: f.factors,
                        items: Vec::new(),
                    }),
                })
                .collect(),
            background: Vec::new(),
            alpha: s.alpha,
        }
    }
}
