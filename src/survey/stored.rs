//! How a response's answers are stored: a compact, fixed-order text per
//! round, readable by both databases and by a person with the round's
//! questionnaires at hand.
//!
//! The round keeps the exact questionnaire files it was opened with (in
//! `round_surveys`, by position), so the order of items and background
//! questions is fixed for the round's lifetime. Format version 1:
//!
//! - `answers` = `1:` followed by one character per item of the round's
//!   questionnaires, in position order and, within one, in file order:
//!   `1`–`5` an answer on the scale, `0` «vet ikke / ikke relevant», `.`
//!   not answered. A round of 66 items stores 68 bytes.
//! - `background` = `1:` followed by one character per background question,
//!   in the same order: `.` no answer (or dropped at rest, see
//!   [`crate::rounds::rest`]), else the position of the chosen option in
//!   the question's option list as a base-36 digit (`0`–`9`, `a`–`z`; a
//!   question has at most [`MAX_OPTIONS`] options).
//!
//! The text holds nothing but the answers: no time, no order, no id.
//! Rows stored before version 1 hold JSON objects (item key → value or
//! `null` for «vet ikke», per questionnaire; question key → option key);
//! they are read as they are, and rewritten as version 1 when their round
//! closes or its k is raised.

use super::Survey;
use crate::stats::scores::Answer;

/// The most options a background question may have (one base-36 digit).
pub const MAX_OPTIONS: usize = 36;

const VERSION: &str = "1:";
const NONE: u8 = b'.';

/// The positions a round's stored texts follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Items of all questionnaires in order: (survey index, item index).
    pub items: Vec<(usize, usize)>,
    /// Background questions in order: (survey index, question index).
    pub background: Vec<(usize, usize)>,
}

impl Layout {
    pub fn of(surveys: &[Survey]) -> Layout {
        let mut items = Vec::new();
        let mut background = Vec::new();
        for (si, s) in surveys.iter().enumerate() {
            items.extend((0..s.items.len()).map(|i| (si, i)));
            background.extend((0..s.background.len()).map(|b| (si, b)));
        }
        Layout { items, background }
    }
}

/// A stored text that does not read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored response does not read back: {0}")]
pub struct Unreadable(pub String);

/// One response's answers in the round's order: per item `None` (not
/// answered) or an [`Answer`]; per background question the chosen option's
/// position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    pub items: Vec<Option<Answer>>,
    pub background: Vec<Option<u8>>,
}

/// The version 1 text of item answers given by position.
pub fn encode_items(items: &[Option<Answer>]) -> String {
    let mut s = String::with_capacity(VERSION.len() + items.len());
    s.push_str(VERSION);
    s.extend(items.iter().map(|a| match a {
        None => NONE as char,
        Some(Answer::DontKnow) => '0',
        Some(Answer::Value(v)) => char::from(b'0' + v),
    }));
    s
}

/// The version 1 text of background answers given by option position.
pub fn encode_background(background: &[Option<u8>]) -> String {
    let mut s = String::with_capacity(VERSION.len() + background.len());
    s.push_str(VERSION);
    s.extend(background.iter().map(|o| match o {
        None => NONE as char,
        Some(i) => char::from_digit(u32::from(*i), 36).expect("at most 36 options"),
    }));
    s
}

/// Reads item answers into `out` (cleared first), by position. Version 1
/// is read byte by byte; older JSON through the questionnaires' keys.
pub fn decode_items(
    surveys: &[Survey],
    layout: &Layout,
    text: &str,
    out: &mut Vec<Option<Answer>>,
) -> Result<(), Unreadable> {
    out.clear();
    if let Some(body) = text.strip_prefix(VERSION) {
        if body.len() != layout.items.len() {
            return Err(Unreadable(format!(
                "{} item answers stored, the round has {} items",
                body.len(),
                layout.items.len()
            )));
        }
        for b in body.bytes() {
            out.push(match b {
                NONE => None,
                b'0' => Some(Answer::DontKnow),
                b'1'..=b'5' => Some(Answer::Value(b - b'0')),
                other => return Err(Unreadable(format!("item answer {:?}", char::from(other)))),
            });
        }
        return Ok(());
    }
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Unreadable(e.to_string()))?;
    for &(si, ii) in &layout.items {
        let s = &surveys[si];
        let key = &s.items[ii].key;
        out.push(match json.get(&s.id).and_then(|g| g.get(key)) {
            None => None,
            Some(serde_json::Value::Null) => Some(Answer::DontKnow),
            Some(v) => match v.as_u64() {
                Some(x @ 1..=5) => Some(Answer::Value(x as u8)),
                _ => return Err(Unreadable(format!("item {key} has the value {v}"))),
            },
        });
    }
    Ok(())
}

/// Reads background answers into `out` (cleared first), by position.
pub fn decode_background(
    surveys: &[Survey],
    layout: &Layout,
    text: &str,
    out: &mut Vec<Option<u8>>,
) -> Result<(), Unreadable> {
    out.clear();
    if let Some(body) = text.strip_prefix(VERSION) {
        if body.len() != layout.background.len() {
            return Err(Unreadable(format!(
                "{} background answers stored, the round has {} questions",
                body.len(),
                layout.background.len()
            )));
        }
        for (b, &(si, qi)) in body.bytes().zip(&layout.background) {
            out.push(match b {
                NONE => None,
                digit => {
                    let i = char::from(digit)
                        .to_digit(36)
                        .filter(|i| (*i as usize) < surveys[si].background[qi].options.len())
                        .ok_or_else(|| {
                            Unreadable(format!("background answer {:?}", char::from(digit)))
                        })?;
                    Some(i as u8)
                }
            });
        }
        return Ok(());
    }
    // Before version 1: question key → option key, for all questionnaires
    // together; an option no longer listed reads as no answer.
    let json: std::collections::BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| Unreadable(e.to_string()))?;
    for &(si, qi) in &layout.background {
        let q = &surveys[si].background[qi];
        out.push(
            json.get(&q.key)
                .and_then(|o| q.options.iter().position(|x| &x.key == o))
                .map(|i| i as u8),
        );
    }
    Ok(())
}

/// Both texts of a response at once.
pub fn decode(
    surveys: &[Survey],
    layout: &Layout,
    answers: &str,
    background: &str,
) -> Result<Decoded, Unreadable> {
    let mut d = Decoded::default();
    decode_items(surveys, layout, answers, &mut d.items)?;
    decode_background(surveys, layout, background, &mut d.background)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surveys() -> Vec<Survey> {
        vec![
            crate::survey::parse(super::super::builtin::TEN_FACTOR).unwrap(),
            crate::survey::parse(super::super::builtin::PRESENCE_MODULE).unwrap(),
        ]
    }

    #[test]
    fn version_1_reads_back_what_was_written_and_says_what_it_holds() {
        let s = surveys();
        let layout = Layout::of(&s);
        let items: Vec<Option<Answer>> = (0..layout.items.len())
            .map(|i| match i % 7 {
                0 => None,
                1 => Some(Answer::DontKnow),
                v => Some(Answer::Value(v as u8 - 1)),
            })
            .collect();
        let background: Vec<Option<u8>> = (0..layout.background.len())
            .map(|i| (i % 2 == 0).then_some(i as u8 % 2 + 1))
            .collect();
        let a = encode_items(&items);
        let b = encode_background(&background);
        assert_eq!(a.len(), 2 + layout.items.len());
        assert!(a.starts_with("1:.012345.0"), "{a}");
        assert_eq!(
            decode(&s, &layout, &a, &b).unwrap(),
            Decoded { items, background }
        );
    }

    #[test]
    fn json_from_before_version_1_reads_the_same() {
        let s = surveys();
        let layout = Layout::of(&s);
        let first = &s[0].items[0].key;
        let second = &s[1].items[1].key;
        let question = &s[0].background[0];
        let answers = format!(
            r#"{{"{}":{{"{first}":4}},"{}":{{"{second}":null}}}}"#,
            s[0].id, s[1].id
        );
        let background = format!(r#"{{"{}":"{}"}}"#, question.key, question.options[1].key);
        let d = decode(&s, &layout, &answers, &background).unwrap();
        assert_eq!(d.items[0], Some(Answer::Value(4)));
        assert_eq!(d.items[s[0].items.len() + 1], Some(Answer::DontKnow));
        assert_eq!(d.items.iter().flatten().count(), 2);
        assert_eq!(d.background[0], Some(1));
        assert_eq!(d.background.iter().flatten().count(), 1);
    }

    #[test]
    fn damaged_texts_are_refused() {
        let s = surveys();
        let layout = Layout::of(&s);
        let n = layout.items.len();
        let mut out = Vec::new();
        assert!(decode_items(&s, &layout, &format!("1:{}", "3".repeat(n - 1)), &mut out).is_err());
        assert!(decode_items(&s, &layout, &format!("1:{}7", "3".repeat(n - 1)), &mut out).is_err());
        assert!(decode_items(&s, &layout, "{", &mut out).is_err());
        let mut bg = Vec::new();
        let q = layout.background.len();
        assert!(
            decode_background(&s, &layout, &format!("1:{}z", ".".repeat(q - 1)), &mut bg).is_err()
        );
    }
}
