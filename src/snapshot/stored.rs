//! How a snapshot and its [`Scores`](super::Scores) are stored: compact
//! bytes in `snapshots.data` and `snapshots.scores_data`, readable by both
//! databases (BLOB / BYTEA).
//!
//! Format version 2 (written since issue 17's last step): one byte `2`,
//! then the value in the postcard 1 wire format
//! (<https://postcard.jamesmunns.com/wire-format>): the fields of
//! [`Snapshot`](super::Snapshot) (or `Scores`) and of everything in it in
//! the order the structs declare them; whole numbers as varints, floats as
//! their 8 bytes little-endian (every figure exactly as computed), strings
//! and lists with their length first, `None` as a `0` byte, an enum as its
//! variant's index (a varint) and then its fields. At 50 000 employees a
//! snapshot is 2.4 MB (3.8 MB in version 1, 12 MB as JSON).
//!
//! Version 2 stores what some figures are made from instead of the figures
//! themselves; they are computed when read, with the arithmetic the close
//! uses, so every figure is the same to the last bit (tests compare the
//! JSON of whole snapshots):
//!
//! - A factor figure ([`FactorStat`](super::FactorStat)) is an enum:
//!   variant 1, `n, mean, sd`, the counts of favourable and unfavourable
//!   scores, the change: its 95 % interval and shares follow
//!   ([`mean_interval`](crate::stats::scores::mean_interval),
//!   [`share`](crate::stats::scores::share)); variant 0, every field as
//!   shown (`n, mean, sd, ci_low, ci_high, favourable, unfavourable`, the
//!   change), written for a figure variant 1 does not reproduce bit for bit
//!   (one read from an older form and written again).
//! - Its change since the previous round ([`Since`](super::Since)) is an
//!   enum: variant 1, the previous round's released figure of the same
//!   group and factor as `[n, mean, sd]`, from which the difference and
//!   Welch's interval are computed when shown; variant 0, the change as
//!   shown (previous mean, difference, low, high). The close no longer
//!   computes ~32 000 t quantiles at fractional degrees of freedom that
//!   nobody may look at, and a page computes those of the figures it shows.
//!
//! Format version 1 is version 2 with both always as shown and without the
//! tags. This module goes on reading it; tests decode a snapshot of each
//! version kept as a fixture. Changing a stored struct (a field added,
//! removed or reordered) changes the format: it needs a new version byte.
//!
//! Snapshots stored before this format keep their JSON text in `body` and
//! `scores`; they are read as they are, and written in this form when
//! their k is raised. A row holds one form or the other (a check in the
//! table).
//!
//! What is stored is only what was released. The previous round's figure
//! kept with a change is one that round released (and stores in its own
//! snapshot); it says more than the change shown from it (its n and SD
//! exactly), so when raising that round's k hides it, the change goes from
//! this snapshot too ([`super::raise_k`]).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The format this version writes.
pub const VERSION: u8 = 2;

/// The oldest format this version reads.
const OLDEST: u8 = 1;

/// Stored bytes that do not decode: damaged, or from a newer version.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("no bytes")]
    Empty,
    #[error("stored in format version {0}, which this version cannot read")]
    Version(u8),
    #[error("damaged: {0}")]
    Damaged(#[from] postcard::Error),
    #[error("damaged: {0} bytes left over")]
    LeftOver(usize),
}

/// The stored bytes of `value`.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let out = vec![VERSION];
    // Writing into a Vec cannot fail, and every stored type serialises.
    postcard::to_extend(value, out).expect("a snapshot encodes")
}

/// A value from its stored bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Unreadable> {
    let (value, left) = decode_with_rest(bytes)?;
    if left == 0 {
        Ok(value)
    } else {
        Err(Unreadable::LeftOver(left))
    }
}

/// The first fields of a stored value, the rest left unread: `T` must
/// declare exactly the stored struct's first fields, in its order.
pub fn decode_head<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Unreadable> {
    Ok(decode_with_rest(bytes)?.0)
}

/// A value and how many bytes follow it, read in the format of its
/// version byte.
fn decode_with_rest<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), Unreadable> {
    let (&version, rest) = bytes.split_first().ok_or(Unreadable::Empty)?;
    if !(OLDEST..=VERSION).contains(&version) {
        return Err(Unreadable::Version(version));
    }
    let _reading = super::model::Reading::version(version);
    let (value, left) = postcard::take_from_bytes(rest)?;
    Ok((value, left.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{ChangeFig, Score, Scores, Since, Snapshot};

    /// A small snapshot in format version 1, as a fixture: what an older
    /// database holds must stay readable.
    const FIXTURE_V1: &str = include_str!("../../tests/fixtures/snapshot-v1.hex");

    /// The same snapshot in format version 2, with its first change stored
    /// as the previous round's figure: a change to the stored structs that
    /// would alter the format fails here first.
    const FIXTURE_V2: &str = include_str!("../../tests/fixtures/snapshot-v2.hex");

    fn fixture(hex: &str) -> Vec<u8> {
        hex::decode(hex.trim()).expect("hex")
    }

    /// The previous round's figure the version-2 fixture compares with.
    const PREVIOUS: Score = Score {
        n: 4,
        mean: 3.25,
        sd: 0.5,
    };

    /// The version-1 fixture with its first figure and change as the close
    /// computes them, which version 2 stores as what they are made from.
    fn with_previous(mut s: Snapshot) -> Snapshot {
        use crate::stats::scores::{mean_interval, share};
        let root = s.groups[0].figures.as_mut().unwrap();
        let f = root.factors[0].as_mut().unwrap();
        (f.ci_low, f.ci_high) = mean_interval(f.n, f.mean, f.sd);
        (f.favourable, f.unfavourable) = (share(3, 7), share(1, 7));
        assert!(f.derivable().is_some());
        f.since = Since::previous((f.n, f.mean, f.sd), PREVIOUS);
        assert!(f.since.is_some(), "the comparison has an interval");
        s
    }

    #[test]
    fn a_version_1_snapshot_reads_back_with_its_change_as_stored() {
        let bytes = fixture(FIXTURE_V1);
        assert_eq!(bytes[0], 1);
        let s: Snapshot = decode(&bytes).unwrap();
        assert_eq!(s.round_id.as_str(), "fixture-round");
        assert_eq!(s.k, 5);
        assert_eq!(s.groups.len(), 2);
        let root = s.groups[0].figures.as_ref().expect("the root is shown");
        assert_eq!(root.n, 7);
        let f = root.factors[0].as_ref().unwrap();
        assert_eq!(
            (f.n, f.mean, f.sd),
            (7, 3.5714285714285716, 0.7867957924694432)
        );
        assert_eq!(
            f.change(),
            Some(ChangeFig {
                previous_mean: 3.25,
                diff: 0.3214285714285716,
                low: -0.41,
                high: 1.05,
            })
        );
        assert!(root.factors[1].is_none(), "a hidden factor stays hidden");
        assert_eq!(root.items[0], Some([1, 0, 1, 2, 2, 1]));
        assert!(
            s.groups[1].figures.is_none(),
            "a hidden group has no figures"
        );
        assert_eq!(s.alpha[0].as_ref().unwrap().alpha, 0.8125);
        // Written again (a raised k), it is version 2 and says the same.
        let again = encode(&s);
        assert_eq!(again[0], VERSION);
        let back: Snapshot = decode(&again).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&s).unwrap()
        );
        let scores: Scores = decode(&encode(&Scores::from(&s))).unwrap();
        assert_eq!(scores, Scores::from(&s));
        // Scores kept no change, so their version-1 bytes read as they are.
        let mut old_scores = encode(&Scores::from(&s));
        old_scores[0] = 1;
        assert_eq!(decode::<Scores>(&old_scores).unwrap(), Scores::from(&s));
    }

    #[test]
    fn a_version_2_change_is_the_previous_figure_and_shows_what_the_close_computed() {
        let s = with_previous(decode(&fixture(FIXTURE_V1)).unwrap());
        let bytes = encode(&s);
        assert_eq!(
            hex::encode(&bytes),
            FIXTURE_V2.trim(),
            "format version 2 writes these bytes"
        );
        let back: Snapshot = decode(&bytes).unwrap();
        assert_eq!(back, s);
        let f = back.groups[0].figures.as_ref().unwrap().factors[0]
            .as_ref()
            .unwrap();
        // Exactly Welch's comparison as computed at close before version 2.
        let w = crate::stats::scores::welch((7, f.mean, f.sd), (4, PREVIOUS.mean, PREVIOUS.sd))
            .unwrap();
        let shown = ChangeFig {
            previous_mean: 3.25,
            diff: w.diff,
            low: w.low,
            high: w.high,
        };
        assert_eq!(f.change(), Some(shown));
        assert_eq!(f.change(), Some(shown), "asked again, the same");
        // The bits the close stored in format version 1 for this comparison
        // (`welch` of build a76b40b, before the interval was deferred).
        assert_eq!(
            (shown.diff, shown.low, shown.high),
            (0.3214285714285716, -0.5613754407746295, 1.2042325836317729)
        );
        // Every JSON form shows the change with its interval, as before.
        let json = serde_json::to_value(f).unwrap();
        assert_eq!(json["change"], serde_json::to_value(shown).unwrap());
        assert_eq!(json["change"]["previous_mean"], 3.25);
        // The change: the tag, n and two floats (18 bytes) instead of the
        // tag and four floats (33); the figure: two counts instead of four
        // floats.
        let v1_form = encode(&decode::<Snapshot>(&fixture(FIXTURE_V1)).unwrap());
        assert_eq!(v1_form.len() - bytes.len(), 15 + 30);
    }

    #[test]
    fn a_figure_whose_interval_or_shares_do_not_follow_is_stored_as_shown() {
        use crate::stats::scores::{mean_interval, share};
        let as_fixed: Snapshot = decode(&fixture(FIXTURE_V1)).unwrap();
        // The fixture's figures are made up: stored as shown.
        let fixed = as_fixed.groups[0].figures.as_ref().unwrap().factors[0]
            .as_ref()
            .unwrap();
        assert_eq!(fixed.derivable(), None);
        // As the close computes them, they follow.
        let mut s = as_fixed.clone();
        let f = s.groups[0].figures.as_mut().unwrap().factors[0]
            .as_mut()
            .unwrap();
        (f.ci_low, f.ci_high) = mean_interval(f.n, f.mean, f.sd);
        (f.favourable, f.unfavourable) = (share(3, 7), share(1, 7));
        assert_eq!(f.derivable(), Some((3, 1)));
        let derived = encode(&s);
        assert_eq!(encode(&as_fixed).len() - derived.len(), 32 - 2);
        let back: Snapshot = decode(&derived).unwrap();
        assert_eq!(back, s);
        let nudged = |what: fn(&mut crate::snapshot::FactorStat)| {
            let mut odd = s.clone();
            what(
                odd.groups[0].figures.as_mut().unwrap().factors[0]
                    .as_mut()
                    .unwrap(),
            );
            odd
        };
        for odd in [
            nudged(|f| f.ci_low = f64::from_bits(f.ci_low.to_bits() + 1)),
            nudged(|f| f.ci_high = f64::from_bits(f.ci_high.to_bits() - 1)),
            nudged(|f| f.favourable = 0.3),
            nudged(|f| f.unfavourable = 2.0),
        ] {
            let bytes = encode(&odd);
            assert!(bytes.len() > derived.len(), "stored with all it shows");
            let back: Snapshot = decode(&bytes).unwrap();
            assert_eq!(back, odd);
            assert_eq!(
                serde_json::to_string(&back).unwrap(),
                serde_json::to_string(&odd).unwrap()
            );
        }
    }

    #[test]
    fn a_comparison_without_an_interval_stores_no_change() {
        let one = Score {
            n: 1,
            mean: 3.0,
            sd: 0.0,
        };
        assert!(Since::previous((7, 3.5, 0.8), one).is_none());
        let same = Score {
            n: 5,
            mean: 3.0,
            sd: 0.0,
        };
        assert!(Since::previous((5, 3.0, 0.0), same).is_none());
    }

    #[test]
    fn damaged_truncated_or_newer_bytes_are_errors_never_figures() {
        for bytes in [
            fixture(FIXTURE_V1),
            fixture(FIXTURE_V2),
            encode(&with_previous(decode(&fixture(FIXTURE_V1)).unwrap())),
        ] {
            assert!(matches!(decode::<Snapshot>(&[]), Err(Unreadable::Empty)));
            for version in [0, VERSION + 1] {
                let mut other = bytes.clone();
                other[0] = version;
                assert!(matches!(
                    decode::<Snapshot>(&other),
                    Err(Unreadable::Version(v)) if v == version
                ));
            }
            for cut in 1..bytes.len() {
                assert!(decode::<Snapshot>(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(matches!(
                decode::<Snapshot>(&longer),
                Err(Unreadable::LeftOver(1))
            ));
        }
    }
}
