//! Questionnaire files (TOML): parse and validate. The platform knows no
//! questionnaire of its own: factors, items, the scale, reverse-coded items
//! and background questions all come from the file.
//!
//! A file is checked as a whole and every problem is reported, with the line
//! of the entry it concerns. A validated [`Survey`] always has: texts in all
//! of [`Lang::ALL`], unique keys, every item in a declared factor, at least
//! three items per factor, a 1..=5 scale with labels, a "don't know" label,
//! and a "vil ikke svare" option on every background question.

use crate::lang::Lang;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use toml::Spanned;

/// The key of the option every background question gets, whether the file
/// lists it or not: answering background questions is always optional.
pub const DECLINE_KEY: &str = "vil_ikke_svare";
/// The questionnaires naervaer ships: the 10-FAKTOR model in naervaer's
/// own wording, and the presence module.
pub mod builtin {
    pub const TEN_FACTOR: &str = include_str!("../../surveys/10-faktor.toml");
    pub const PRESENCE_MODULE: &str = include_str!("../../surveys/naervaer-modul.toml");
}

pub mod stored;

pub const MIN_ITEMS_PER_FACTOR: usize = 3;
/// A respondent's factor score is a mean of at most this many answers, so
/// that scores are exact multiples of 1 / [`crate::stats::scores::SCALE`]
/// and group sums are exact integers, the same in any order.
pub const MAX_ITEMS_PER_FACTOR: usize = 12;

type Texts = BTreeMap<String, String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurvey {
    id: Spanned<String>,
    version: Spanned<String>,
    title: Spanned<Texts>,
    intro: Option<Spanned<Texts>>,
    scale: Spanned<RawScale>,
    #[serde(default)]
    factors: Vec<RawFactor>,
    #[serde(default)]
    items: Vec<RawItem>,
    #[serde(default)]
    background: Vec<RawBackground>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    min: i64,
    max: i64,
    labels: BTreeMap<String, Texts>,
    dont_know: Texts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFactor {
    key: Spanned<String>,
    name: Texts,
    description: Texts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    key: Spanned<String>,
    factor: Spanned<String>,
    #[serde(default)]
    reverse: bool,
    text: Texts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackground {
    key: Spanned<String>,
    question: Texts,
    options: Vec<RawOption>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    key: Spanned<String>,
    label: Texts,
}

/// A text in every interface language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    nb: String,
    nn: String,
    en: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.nb, &self.nn, &self.en)
    }
    fn fixed(nb: &str, nn: &str, en: &str) -> Text {
        Text {
            nb: nb.into(),
            nn: nn.into(),
            en: en.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Factor {
    pub key: String,
    pub name: Text,
    pub description: Text,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub key: String,
    pub factor: String,
    pub reverse: bool,
    pub text: Text,
}

#[derive(Debug, Clone)]
pub struct BackgroundOption {
    pub key: String,
    pub label: Text,
}

#[derive(Debug, Clone)]
pub struct Background {
    pub key: String,
    pub question: Text,
    pub options: Vec<BackgroundOption>,
}

#[derive(Debug, Clone)]
pub struct Survey {
    pub id: String,
    pub version: String,
    pub title: Text,
    pub intro: Option<Text>,
    /// Labels for 1..=5, in order.
    pub scale_labels: Vec<Text>,
    pub dont_know: Text,
    pub factors: Vec<Factor>,
    pub items: Vec<Item>,
    pub background: Vec<Background>,
    /// SHA-256 of the file's bytes, hex: a round records exactly which
    /// version of the questionnaire it ran.
    pub sha256: String,
}

impl Survey {
    pub fn items_of<'a>(&'a self, factor: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
        self.items.iter().filter(move |i| i.factor == factor)
    }
}

/// One problem in a survey file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for SurveyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

struct Checker<'a> {
    src: &'a str,
    errors: Vec<SurveyError>,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        1 + self.src[..offset.min(self.src.len())].matches('\n').count()
    }
    fn err(&mut self, offset: Option<usize>, message: String) {
        let line = offset.map(|o| self.line_of(o));
        self.errors.push(SurveyError { line, message });
    }
    /// Every language present and non-empty; unknown language keys are errors.
    fn text(&mut self, offset: usize, what: &str, texts: &Texts) -> Text {
        for lang in Lang::ALL {
            match texts.get(lang.code()) {
                Some(t) if !t.trim().is_empty() => {}
                Some(_) => self.err(
                    Some(offset),
                    format!(
                        "{what}: the {} text ({}) is empty",
                        lang.native_name(),
                        lang.code()
                    ),
                ),
                None => self.err(
                    Some(offset),
                    format!(
                        "{what}: missing translation {} ({})",
                        lang.code(),
                        lang.native_name()
                    ),
                ),
            }
        }
        for k in texts.keys() {
            if k.parse::<Lang>().map(|l| l.code() != k).unwrap_or(true) {
                self.err(
                    Some(offset),
                    format!("{what}: unknown language key '{k}' (use nb, nn, en)"),
                );
            }
        }
        let get = |l: Lang| {
            texts
                .get(l.code())
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        Text {
            nb: get(Lang::Nb),
            nn: get(Lang::Nn),
            en: get(Lang::En),
        }
    }
    fn key(&mut self, seen: &mut HashMap<String, usize>, kind: &str, key: &Spanned<String>) {
        let k = key.get_ref();
        let line = self.line_of(key.span().start);
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            self.err(
                Some(key.span().start),
                format!("{kind} key '{k}' must be lowercase letters, digits and _"),
            );
        }
        if let Some(first) = seen.get(k) {
            self.err(
                Some(key.span().start),
                format!("duplicate {kind} key '{k}' (first on line {first})"),
            );
        } else {
            seen.insert(k.clone(), line);
        }
    }
}

/// Parses and validates a survey file's text.
/// A TOML syntax error, with its line and a message also where the TOML
/// library gives none.
fn toml_error(src: &str, e: toml::de::Error) -> Vec<SurveyError> {
    let line = e
        .span()
        .map(|s| 1 + src[..s.start.min(src.len())].matches('\n').count());
    // Some TOML errors carry no message of their own (a stray carriage
    // return, say): name the character where it stopped.
    let message = match e.message().trim() {
        "" => match e.span().and_then(|s| src.get(s.start..)?.chars().next()) {
            Some(c) if c.is_control() => {
                format!(
                    "not valid TOML: unexpected control character U+{:04X}",
                    c as u32
                )
            }
            Some(c) => format!("not valid TOML: unexpected «{c}»"),
            None => "not valid TOML: the file ends too early".to_string(),
        },
        m => m.to_string(),
    };
    vec![SurveyError { line, message }]
}

/// The scale's five labels and its "don't know" label.
fn scale(c: &mut Checker, raw: &RawSurvey) -> (Vec<Text>, Text) {
    let scale_at = raw.scale.span().start;
    let scale = raw.scale.get_ref();
    if scale.min != 1 || scale.max != 5 {
        c.err(
            Some(scale_at),
            format!(
                "scale must run from 1 to 5, not {} to {}",
                scale.min, scale.max
            ),
        );
    }
    let mut scale_labels = Vec::new();
    for v in 1..=5 {
        match scale.labels.get(&v.to_string()) {
            Some(t) => scale_labels.push(c.text(scale_at, &format!("scale label {v}"), t)),
            None => c.err(Some(scale_at), format!("scale label for {v} is missing")),
        }
    }
    for k in scale.labels.keys() {
        if !matches!(k.as_str(), "1" | "2" | "3" | "4" | "5") {
            c.err(
                Some(scale_at),
                format!("scale label '{k}' is outside 1..=5"),
            );
        }
    }
    let dont_know = c.text(scale_at, "scale.dont_know", &scale.dont_know);

    (scale_labels, dont_know)
}

fn factors(c: &mut Checker, raw: &RawSurvey) -> Vec<Factor> {
    let mut keys = HashMap::new();
    let mut factors = Vec::new();
    for f in &raw.factors {
        c.key(&mut keys, "factor", &f.key);
        let what = format!("factor '{}'", f.key.get_ref());
        let name = c.text(f.key.span().start, &format!("{what} name"), &f.name);
        let description = c.text(
            f.key.span().start,
            &format!("{what} description"),
            &f.description,
        );
        factors.push(Factor {
            key: f.key.get_ref().clone(),
            name,
            description,
        });
    }
    if factors.is_empty() {
        c.err(None, "the survey has no factors".into());
    }
    factors
}

fn items(c: &mut Checker, raw: &RawSurvey) -> Vec<Item> {
    let factor_keys: HashSet<&str> = raw
        .factors
        .iter()
        .map(|f| f.key.get_ref().as_str())
        .collect();

    let mut items = Vec::new();
    let mut item_keys = HashMap::new();
    for i in &raw.items {
        c.key(&mut item_keys, "item", &i.key);
        if !factor_keys.contains(i.factor.get_ref().as_str()) {
            c.err(
                Some(i.factor.span().start),
                format!(
                    "item '{}' belongs to unknown factor '{}'",
                    i.key.get_ref(),
                    i.factor.get_ref()
                ),
            );
        }
        let text = c.text(
            i.key.span().start,
            &format!("item '{}'", i.key.get_ref()),
            &i.text,
        );
        items.push(Item {
            key: i.key.get_ref().clone(),
            factor: i.factor.get_ref().clone(),
            reverse: i.reverse,
            text,
        });
    }
    items
}

/// Each factor has between [`MIN_ITEMS_PER_FACTOR`] and
/// [`MAX_ITEMS_PER_FACTOR`] items.
fn factor_sizes(c: &mut Checker, raw: &RawSurvey) {
    for f in &raw.factors {
        let n = raw
            .items
            .iter()
            .filter(|i| i.factor.get_ref() == f.key.get_ref())
            .count();
        if n < MIN_ITEMS_PER_FACTOR {
            c.err(
                Some(f.key.span().start),
                format!(
                    "factor '{}' has {n} item(s); a factor needs at least {MIN_ITEMS_PER_FACTOR} to give a reliable score",
                    f.key.get_ref()
                ),
            );
        } else if n > MAX_ITEMS_PER_FACTOR {
            c.err(
                Some(f.key.span().start),
                format!(
                    "factor '{}' has {n} items; a factor may have at most {MAX_ITEMS_PER_FACTOR}: split it",
                    f.key.get_ref()
                ),
            );
        }
    }
}

/// The background questions, each with «Vil ikke svare» whether the file
/// lists it or not.
fn background(c: &mut Checker, raw: &RawSurvey) -> Vec<Background> {
    let mut background = Vec::new();
    let mut bg_keys = HashMap::new();
    for b in &raw.background {
        c.key(&mut bg_keys, "background", &b.key);
        let question = c.text(
            b.key.span().start,
            &format!("background '{}'", b.key.get_ref()),
            &b.question,
        );
        let mut option_keys = HashMap::new();
        let mut options = Vec::new();
        for o in &b.options {
            c.key(
                &mut option_keys,
                &format!("option of background '{}'", b.key.get_ref()),
                &o.key,
            );
            let label = c.text(
                o.key.span().start,
                &format!("option '{}'", o.key.get_ref()),
                &o.label,
            );
            options.push(BackgroundOption {
                key: o.key.get_ref().clone(),
                label,
            });
        }
        if options.iter().filter(|o| o.key != DECLINE_KEY).count() < 2 {
            c.err(
                Some(b.key.span().start),
                format!(
                    "background '{}' needs at least two options",
                    b.key.get_ref()
                ),
            );
        }
        if !options.iter().any(|o| o.key == DECLINE_KEY) {
            options.push(BackgroundOption {
                key: DECLINE_KEY.into(),
                label: Text::fixed("Vil ikke svare", "Vil ikkje svare", "Prefer not to say"),
            });
        }
        if options.len() > stored::MAX_OPTIONS {
            c.err(
                Some(b.key.span().start),
                format!(
                    "background '{}' has {} options with «vil ikke svare»; at most {} are allowed",
                    b.key.get_ref(),
                    options.len(),
                    stored::MAX_OPTIONS
                ),
            );
        }
        background.push(Background {
            key: b.key.get_ref().clone(),
            question,
            options,
        });
    }

    background
}

pub fn parse(src: &str) -> Result<Survey, Vec<SurveyError>> {
    let raw: RawSurvey = toml::from_str(src).map_err(|e| toml_error(src, e))?;
    let mut c = Checker {
        src,
        errors: Vec::new(),
    };
    let title = c.text(raw.title.span().start, "title", raw.title.get_ref());
    let intro = raw
        .intro
        .as_ref()
        .map(|i| c.text(i.span().start, "intro", i.get_ref()));
    if raw.id.get_ref().trim().is_empty() {
        c.err(Some(raw.id.span().start), "id is empty".into());
    }
    if raw.version.get_ref().trim().is_empty() {
        c.err(Some(raw.version.span().start), "version is empty".into());
    }
    let (scale_labels, dont_know) = scale(&mut c, &raw);
    let factors = factors(&mut c, &raw);
    let items = items(&mut c, &raw);
    factor_sizes(&mut c, &raw);
    let background = background(&mut c, &raw);
    if !c.errors.is_empty() {
        c.errors.sort_by_key(|e| e.line.unwrap_or(0));
        return Err(c.errors);
    }
    Ok(Survey {
        id: raw.id.into_inner(),
        version: raw.version.into_inner(),
        title,
        intro,
        scale_labels,
        dont_know,
        factors,
        items,
        background,
        sha256: hex::encode(Sha256::digest(src.as_bytes())),
    })
}

/// Reads and validates a survey file.
pub fn load(path: &std::path::Path) -> Result<Survey, Vec<SurveyError>> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        vec![SurveyError {
            line: None,
            message: format!("cannot read {}: {e}", path.display()),
        }]
    })?;
    parse(&src)
}
