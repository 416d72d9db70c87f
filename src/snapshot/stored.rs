//! How a snapshot and its [`Scores`](super::Scores) are stored: compact
//! bytes in `snapshots.data` and `snapshots.scores_data`, readable by both
//! databases (BLOB / BYTEA).
//!
//! Format version 1: one byte `1`, then the value in the postcard 1 wire
//! format (<https://postcard.jamesmunns.com/wire-format>): the fields of
//! [`Snapshot`](super::Snapshot) (or `Scores`) and of everything in it in
//! the order the structs declare them; whole numbers as varints, floats as
//! their 8 bytes little-endian (every figure exactly as computed), strings
//! and lists with their length first, `None` as a `0` byte. At 50 000
//! employees a snapshot is 3.8 MB instead of 12 MB of JSON, and is read in
//! a sixth of the time.
//!
//! Changing a stored struct (a field added, removed or reordered) changes
//! the format: it needs a new version byte, and this module must go on
//! reading version 1. A test decodes a version-1 snapshot kept as a fixture.
//!
//! Snapshots stored before this format keep their JSON text in `body` and
//! `scores`; they are read as they are, and written in this form when
//! their k is raised. A row holds one form or the other (a check in the
//! table).
//!
//! What is stored is only what was released, exactly as in the JSON form:
//! the encoding changes the bytes, not what they say.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The format this version writes.
pub const VERSION: u8 = 1;

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
    match bytes.split_first() {
        None => Err(Unreadable::Empty),
        Some((&VERSION, rest)) => {
            let (value, left) = postcard::take_from_bytes(rest)?;
            if left.is_empty() {
                Ok(value)
            } else {
                Err(Unreadable::LeftOver(left.len()))
            }
        }
        Some((other, _)) => Err(Unreadable::Version(*other)),
    }
}

/// The first fields of a stored value, the rest left unread: `T` must
/// declare exactly the stored struct's first fields, in its order.
pub fn decode_head<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Unreadable> {
    match bytes.split_first() {
        None => Err(Unreadable::Empty),
        Some((&VERSION, rest)) => Ok(postcard::take_from_bytes(rest)?.0),
        Some((other, _)) => Err(Unreadable::Version(*other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Scores, Snapshot};

    /// A small snapshot in format version 1, as a fixture: what an older
    /// database holds must stay readable, so a change to the stored
    /// structs that would alter the format fails here first.
    const FIXTURE: &str = include_str!("../../tests/fixtures/snapshot-v1.hex");

    fn fixture() -> Vec<u8> {
        hex::decode(FIXTURE.trim()).expect("hex")
    }

    #[test]
    fn a_version_1_snapshot_reads_back_and_writes_the_same_bytes() {
        let bytes = fixture();
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
        assert_eq!(f.change.as_ref().unwrap().previous_mean, 3.25);
        assert!(root.factors[1].is_none(), "a hidden factor stays hidden");
        assert_eq!(root.items[0], Some([1, 0, 1, 2, 2, 1]));
        assert!(
            s.groups[1].figures.is_none(),
            "a hidden group has no figures"
        );
        assert_eq!(s.alpha[0].as_ref().unwrap().alpha, 0.8125);
        assert_eq!(encode(&s), bytes, "the same value writes the same bytes");
        let scores: Scores = decode(&encode(&Scores::from(&s))).unwrap();
        assert_eq!(scores, Scores::from(&s));
    }

    #[test]
    fn damaged_truncated_or_newer_bytes_are_errors_never_figures() {
        let bytes = fixture();
        assert!(matches!(decode::<Snapshot>(&[]), Err(Unreadable::Empty)));
        let mut newer = bytes.clone();
        newer[0] = 2;
        assert!(matches!(
            decode::<Snapshot>(&newer),
            Err(Unreadable::Version(2))
        ));
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
