//! What a snapshot holds: only released figures. A hidden group, factor,
//! item or cell is `None` and carries no number at all, so nothing built
//! from a [`Snapshot`] can show one.

use crate::stats::scores::{mean_interval, share, Welch};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub round_id: crate::ids::RoundId,
    /// The minimum group size the figures were released under.
    pub k: u32,
    pub computed_at: i64,
    /// The round the changes are measured against.
    pub previous_round: Option<crate::ids::RoundId>,
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

#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct FactorStat {
    pub n: u32,
    pub mean: f64,
    pub sd: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub favourable: f64,
    pub unfavourable: f64,
    // As stored; shown by [`FactorStat::change`], and as `change` in every
    // JSON form, which the doc line below describes in the API's document.
    /// The change since the previous round with Welch's 95 % interval; null
    /// when there is none.
    #[schema(value_type = Option<ChangeFig>, rename = "change")]
    pub since: Option<Since>,
}

impl FactorStat {
    /// The change since the previous round with Welch's 95 % interval,
    /// None when there is none. Stored in format version 2 as the previous
    /// round's figure, so the interval (an iterative quantile at a
    /// fractional degree of freedom) is computed here, once per figure and
    /// only for the figures someone looks at, exactly as the close
    /// computed it before.
    pub fn change(&self) -> Option<ChangeFig> {
        let s = self.since.as_ref()?;
        *s.shown.get_or_init(|| match s.form {
            SinceForm::Shown(c) => Some(c),
            SinceForm::Previous(p) => {
                let c = Welch::new(
                    (self.n as usize, self.mean, self.sd),
                    (p.n as usize, p.mean, p.sd),
                )?
                .interval();
                Some(ChangeFig {
                    previous_mean: p.mean,
                    diff: c.diff,
                    low: c.low,
                    high: c.high,
                })
            }
        })
    }

    /// The counts of favourable and unfavourable scores when the interval
    /// and the shares follow from n, mean, SD and them to the last bit,
    /// as they do for every figure a close computes.
    pub(crate) fn derivable(&self) -> Option<(u32, u32)> {
        if self.n < 2 {
            return None;
        }
        let count = |share: f64| {
            let c = (share * f64::from(self.n)).round();
            (0.0..=f64::from(self.n)).contains(&c).then_some(c as u32)
        };
        let (favourable, unfavourable) = (count(self.favourable)?, count(self.unfavourable)?);
        let (low, high) = mean_interval(self.n, self.mean, self.sd);
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
        (same(low, self.ci_low)
            && same(high, self.ci_high)
            && same(share(favourable, self.n), self.favourable)
            && same(share(unfavourable, self.n), self.unfavourable))
        .then_some((favourable, unfavourable))
    }
}

/// A factor figure as shown: every JSON form (the pages' API, exports,
/// snapshots stored as text before the compact format), format version 1,
/// and the variant of version 2 for figures that [`Derived`] cannot
/// reproduce.
#[derive(Serialize, Deserialize)]
struct AsShown {
    n: u32,
    mean: f64,
    sd: f64,
    ci_low: f64,
    ci_high: f64,
    favourable: f64,
    unfavourable: f64,
    change: Option<Since>,
}

/// A factor figure in format version 2: the interval and the shares are
/// computed when read, from n, mean, SD and the counts, as the close
/// computes them ([`mean_interval`], [`share`]).
#[derive(Serialize, Deserialize)]
struct Derived {
    n: u32,
    mean: f64,
    sd: f64,
    favourable: u32,
    unfavourable: u32,
    change: Option<Since>,
}

/// Format version 2's factor figure: variant 0 [`AsShown`], 1 [`Derived`].
#[derive(Serialize, Deserialize)]
enum StoredStat {
    AsShown(AsShown),
    Derived(Derived),
}

impl From<AsShown> for FactorStat {
    fn from(s: AsShown) -> FactorStat {
        FactorStat {
            n: s.n,
            mean: s.mean,
            sd: s.sd,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            favourable: s.favourable,
            unfavourable: s.unfavourable,
            since: s.change,
        }
    }
}

impl TryFrom<Derived> for FactorStat {
    type Error = &'static str;

    /// Damaged bytes are an error, never a figure or a panic: variant 1 is
    /// written only for n ≥ 2 and counts within n.
    fn try_from(d: Derived) -> Result<FactorStat, &'static str> {
        if d.n < 2 || d.favourable > d.n || d.unfavourable > d.n {
            return Err("a factor figure with n below 2 or counts above n");
        }
        let (ci_low, ci_high) = mean_interval(d.n, d.mean, d.sd);
        Ok(FactorStat {
            n: d.n,
            mean: d.mean,
            sd: d.sd,
            ci_low,
            ci_high,
            favourable: share(d.favourable, d.n),
            unfavourable: share(d.unfavourable, d.n),
            since: d.change,
        })
    }
}

/// The JSON forms show the change with its interval; the stored bytes
/// ([`super::stored`]) keep what it and the figure's interval and shares
/// are made from.
impl Serialize for FactorStat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        if !s.is_human_readable() {
            let since = self.since.clone();
            let stored = match self.derivable() {
                Some((favourable, unfavourable)) => StoredStat::Derived(Derived {
                    n: self.n,
                    mean: self.mean,
                    sd: self.sd,
                    favourable,
                    unfavourable,
                    change: since,
                }),
                None => StoredStat::AsShown(AsShown {
                    n: self.n,
                    mean: self.mean,
                    sd: self.sd,
                    ci_low: self.ci_low,
                    ci_high: self.ci_high,
                    favourable: self.favourable,
                    unfavourable: self.unfavourable,
                    change: since,
                }),
            };
            return stored.serialize(s);
        }
        let mut st = s.serialize_struct("FactorStat", 8)?;
        st.serialize_field("n", &self.n)?;
        st.serialize_field("mean", &self.mean)?;
        st.serialize_field("sd", &self.sd)?;
        st.serialize_field("ci_low", &self.ci_low)?;
        st.serialize_field("ci_high", &self.ci_high)?;
        st.serialize_field("favourable", &self.favourable)?;
        st.serialize_field("unfavourable", &self.unfavourable)?;
        st.serialize_field("change", &self.change())?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for FactorStat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FactorStat, D::Error> {
        if d.is_human_readable() || reading() == 1 {
            return Ok(AsShown::deserialize(d)?.into());
        }
        match StoredStat::deserialize(d)? {
            StoredStat::AsShown(s) => Ok(s.into()),
            StoredStat::Derived(s) => s.try_into().map_err(serde::de::Error::custom),
        }
    }
}

thread_local! {
    /// The stored format version being decoded on this thread, for the
    /// structs whose stored form differs between versions ([`FactorStat`],
    /// [`Since`]); [`super::stored`] sets it while it decodes.
    static READING: std::cell::Cell<u8> = const { std::cell::Cell::new(2) };
}

/// The stored format version being decoded on this thread.
fn reading() -> u8 {
    READING.with(|r| r.get())
}

/// While it lives, this thread decodes the stored format `version`; the
/// version before is put back when it is dropped, whatever happened.
pub struct Reading(u8);

impl Reading {
    pub fn version(version: u8) -> Reading {
        Reading(READING.with(|r| r.replace(version)))
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        READING.with(|r| r.set(self.0));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// A factor figure's change since the previous round, as stored. Equal
/// when stored alike; the interval computed from it is kept once asked for.
#[derive(Debug, Clone)]
pub struct Since {
    form: SinceForm,
    shown: OnceLock<Option<ChangeFig>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum SinceForm {
    /// Format version 1 and the JSON form: the change as shown.
    Shown(ChangeFig),
    /// Format version 2: the previous round's released figure of the same
    /// group and factor (a figure that round showed); the change is Welch's
    /// comparison of this round's figure with it.
    Previous(Score),
}

impl Since {
    /// The change from `previous`, the previous round's released figure of
    /// the group and factor; None when Welch's comparison with `now` has no
    /// interval (too few scores, or neither varies), as then nothing is
    /// shown.
    pub fn previous(now: (u32, f64, f64), previous: Score) -> Option<Since> {
        Welch::new(
            (now.0 as usize, now.1, now.2),
            (previous.n as usize, previous.mean, previous.sd),
        )?;
        Some(Since {
            form: SinceForm::Previous(previous),
            shown: OnceLock::new(),
        })
    }
}

impl PartialEq for Since {
    fn eq(&self, other: &Since) -> bool {
        self.form == other.form
    }
}

impl Serialize for Since {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.form.serialize(s)
    }
}

/// Format version 1 and the JSON form hold the change as shown; version 2
/// holds either form, tagged.
impl<'de> Deserialize<'de> for Since {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Since, D::Error> {
        let form = if d.is_human_readable() || reading() == 1 {
            SinceForm::Shown(ChangeFig::deserialize(d)?)
        } else {
            SinceForm::deserialize(d)?
        };
        Ok(Since {
            form,
            shown: OnceLock::new(),
        })
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
        parent_indexes(self.groups.iter().map(|g| (&g.key, &g.parent)))
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

/// What the AMU analysis reads of a snapshot: the tree and, for each shown
/// group, its respondents and each released factor's n, mean and SD. It is
/// stored beside the snapshot whenever the snapshot is (`snapshots.scores`),
/// so the analysis reads a sixth of the text (50 000 employees: 1.9 of
/// 12 MB). Derived only from released figures: it hides what they hide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub round_id: crate::ids::RoundId,
    pub k: u32,
    pub previous_round: Option<crate::ids::RoundId>,
    pub factors: Vec<FactorRef>,
    /// As the snapshot's groups: the root first, parents before children.
    pub groups: Vec<ScoreGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreGroup {
    pub key: String,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub depth: u32,
    /// None when the group is hidden.
    pub figures: Option<GroupScores>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupScores {
    /// Respondents.
    pub n: u32,
    /// By factor index; None where the factor's figure is hidden.
    pub factors: Vec<Option<Score>>,
}

/// A released factor figure as the analysis needs it; stored as
/// `[n, mean, sd]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "(u32, f64, f64)", into = "(u32, f64, f64)")]
pub struct Score {
    pub n: u32,
    pub mean: f64,
    pub sd: f64,
}

impl From<(u32, f64, f64)> for Score {
    fn from((n, mean, sd): (u32, f64, f64)) -> Score {
        Score { n, mean, sd }
    }
}

impl From<Score> for (u32, f64, f64) {
    fn from(s: Score) -> (u32, f64, f64) {
        (s.n, s.mean, s.sd)
    }
}

impl From<&Snapshot> for Scores {
    fn from(s: &Snapshot) -> Scores {
        Scores {
            round_id: s.round_id.clone(),
            k: s.k,
            previous_round: s.previous_round.clone(),
            factors: s.factors.clone(),
            groups: s
                .groups
                .iter()
                .map(|g| ScoreGroup {
                    key: g.key.clone(),
                    code: g.code.clone(),
                    name: g.name.clone(),
                    parent: g.parent.clone(),
                    depth: g.depth,
                    figures: g.figures.as_ref().map(|f| GroupScores {
                        n: f.n,
                        factors: f
                            .factors
                            .iter()
                            .map(|x| {
                                x.as_ref().map(|x| Score {
                                    n: x.n,
                                    mean: x.mean,
                                    sd: x.sd,
                                })
                            })
                            .collect(),
                    }),
                })
                .collect(),
        }
    }
}

impl Scores {
    /// Each group's parent as an index into `groups` (parents come first).
    pub fn parent_indexes(&self) -> Vec<Option<usize>> {
        parent_indexes(self.groups.iter().map(|g| (&g.key, &g.parent)))
    }
}

/// Parent indexes of a list of (key, parent key) in which parents come
/// first.
fn parent_indexes<'a>(
    groups: impl Iterator<Item = (&'a String, &'a Option<String>)> + Clone,
) -> Vec<Option<usize>> {
    let pos: foldhash::HashMap<&str, usize> = groups
        .clone()
        .enumerate()
        .map(|(i, (key, _))| (key.as_str(), i))
        .collect();
    groups
        .map(|(_, parent)| parent.as_deref().map(|p| pos[p]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::stored::{decode, encode};

    fn derived(n: u32, favourable: u32, unfavourable: u32) -> Vec<u8> {
        encode(&StoredStat::Derived(Derived {
            n,
            mean: 3.5,
            sd: 0.5,
            favourable,
            unfavourable,
            change: None,
        }))
    }

    #[test]
    fn damaged_derived_figures_are_errors_never_figures_or_panics() {
        let good: FactorStat = decode(&derived(7, 3, 1)).unwrap();
        assert_eq!(good.derivable(), Some((3, 1)));
        for (n, fav, unfav) in [(0, 0, 0), (1, 0, 0), (7, 8, 1), (7, 3, 9)] {
            assert!(
                decode::<FactorStat>(&derived(n, fav, unfav)).is_err(),
                "n {n}, counts {fav} and {unfav}"
            );
        }
    }

    #[test]
    fn a_damaged_previous_figure_shows_no_change_and_does_not_panic() {
        let now: FactorStat = decode(&derived(7, 3, 1)).unwrap();
        for previous in [
            Score {
                n: 4,
                mean: 3.0,
                sd: f64::NAN,
            },
            Score {
                n: 4,
                mean: f64::NAN,
                sd: 0.5,
            },
            Score {
                n: 4,
                mean: 3.0,
                sd: f64::INFINITY,
            },
            Score {
                n: 1,
                mean: 3.0,
                sd: 0.5,
            },
        ] {
            let stat = FactorStat {
                since: Some(Since {
                    form: SinceForm::Previous(previous),
                    shown: OnceLock::new(),
                }),
                ..now.clone()
            };
            let back: FactorStat = decode(&encode(&stat)).unwrap();
            // Shown or not, never a panic; with no interval, nothing.
            if let Some(c) = back.change() {
                assert!(c.low.is_nan() || c.low <= c.high, "{c:?}");
            }
            serde_json::to_string(&back).unwrap();
        }
    }
}
