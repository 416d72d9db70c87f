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

/// One problem in a survey file, with the line of the entry it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyError {
    pub line: Option<usize>,
    pub problem: Problem,
}

/// What a text of the file belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Title,
    Intro,
    ScaleLabel(i64),
    DontKnow,
    FactorName(String),
    FactorDescription(String),
    Item(String),
    Background(String),
    Option(String),
}

/// The kind of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    Factor,
    Item,
    Background,
    /// An option of the background question named.
    Option(String),
}

/// What is wrong, in words for the person who wrote the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// TOML syntax, in the TOML library's own (English) words.
    Toml(String),
    TomlControlCharacter(u32),
    TomlUnexpected(char),
    TomlEndsEarly,
    EmptyText {
        subject: Subject,
        lang: Lang,
    },
    MissingTranslation {
        subject: Subject,
        lang: Lang,
    },
    UnknownLanguage {
        subject: Subject,
        key: String,
    },
    BadKey {
        kind: KeyKind,
        key: String,
    },
    DuplicateKey {
        kind: KeyKind,
        key: String,
        first_line: usize,
    },
    ScaleRange {
        min: i64,
        max: i64,
    },
    ScaleLabelMissing(i64),
    ScaleLabelOutside(String),
    NoFactors,
    UnknownFactor {
        item: String,
        factor: String,
    },
    TooFewItems {
        factor: String,
        n: usize,
    },
    TooManyItems {
        factor: String,
        n: usize,
    },
    TooFewOptions {
        question: String,
    },
    TooManyOptions {
        question: String,
        n: usize,
    },
    EmptyId,
    EmptyVersion,
    CannotRead {
        path: String,
        reason: String,
    },
}

impl Subject {
    fn render(&self, l: Lang) -> String {
        match self {
            Subject::Title => l.pick("tittel", "tittel", "title").into(),
            Subject::Intro => l.pick("innledning", "innleiing", "intro").into(),
            Subject::ScaleLabel(v) => {
                format!("{} {v}", l.pick("skalatekst", "skalatekst", "scale label"))
            }
            Subject::DontKnow => "scale.dont_know".into(),
            Subject::FactorName(k) => format!(
                "{} '{k}' {}",
                l.pick("faktor", "faktor", "factor"),
                l.pick("navn", "namn", "name")
            ),
            Subject::FactorDescription(k) => format!(
                "{} '{k}' {}",
                l.pick("faktor", "faktor", "factor"),
                l.pick("beskrivelse", "skildring", "description")
            ),
            Subject::Item(k) => format!("{} '{k}'", l.pick("påstand", "påstand", "item")),
            Subject::Background(k) => format!(
                "{} '{k}'",
                l.pick("bakgrunnsspørsmål", "bakgrunnsspørsmål", "background")
            ),
            Subject::Option(k) => format!(
                "{} '{k}'",
                l.pick("svaralternativ", "svaralternativ", "option")
            ),
        }
    }
}

impl KeyKind {
    fn render(&self, l: Lang) -> String {
        match self {
            KeyKind::Factor => l.pick("faktor", "faktor", "factor").into(),
            KeyKind::Item => l.pick("påstand", "påstand", "item").into(),
            KeyKind::Background => l
                .pick("bakgrunnsspørsmål", "bakgrunnsspørsmål", "background")
                .into(),
            KeyKind::Option(q) => match l {
                Lang::Nb => format!("svaralternativ til bakgrunnsspørsmål '{q}'"),
                Lang::Nn => format!("svaralternativ til bakgrunnsspørsmål '{q}'"),
                Lang::En => format!("option of background '{q}'"),
            },
        }
    }
}

impl Problem {
    pub fn render(&self, l: Lang) -> String {
        use Problem::*;
        match self {
            Toml(m) => format!("{}: {m}", l.pick("ikke gyldig TOML", "ikkje gyldig TOML", "not valid TOML")),
            TomlControlCharacter(c) => format!("{}: {} U+{c:04X}", l.pick("ikke gyldig TOML", "ikkje gyldig TOML", "not valid TOML"), l.pick("uventet kontrolltegn", "uventa kontrollteikn", "unexpected control character")),
            TomlUnexpected(c) => format!("{}: {} «{c}»", l.pick("ikke gyldig TOML", "ikkje gyldig TOML", "not valid TOML"), l.pick("uventet", "uventa", "unexpected")),
            TomlEndsEarly => format!("{}: {}", l.pick("ikke gyldig TOML", "ikkje gyldig TOML", "not valid TOML"), l.pick("fila slutter for tidlig", "fila sluttar for tidleg", "the file ends too early")),
            EmptyText { subject, lang } => match l {
                Lang::Nb => format!("{}: teksten på {} ({}) er tom", subject.render(l), lang.native_name(), lang.code()),
                Lang::Nn => format!("{}: teksten på {} ({}) er tom", subject.render(l), lang.native_name(), lang.code()),
                Lang::En => format!("{}: the {} text ({}) is empty", subject.render(l), lang.native_name(), lang.code()),
            },
            MissingTranslation { subject, lang } => match l {
                Lang::Nb => format!("{}: mangler oversettelse {} ({})", subject.render(l), lang.code(), lang.native_name()),
                Lang::Nn => format!("{}: manglar omsetjing {} ({})", subject.render(l), lang.code(), lang.native_name()),
                Lang::En => format!("{}: missing translation {} ({})", subject.render(l), lang.code(), lang.native_name()),
            },
            UnknownLanguage { subject, key } => match l {
                Lang::Nb => format!("{}: ukjent språknøkkel '{key}' (bruk nb, nn, en)", subject.render(l)),
                Lang::Nn => format!("{}: ukjend språknøkkel '{key}' (bruk nb, nn, en)", subject.render(l)),
                Lang::En => format!("{}: unknown language key '{key}' (use nb, nn, en)", subject.render(l)),
            },
            BadKey { kind, key } => match l {
                Lang::Nb => format!("nøkkelen '{key}' ({}) kan bare ha små bokstaver, sifre og _", kind.render(l)),
                Lang::Nn => format!("nøkkelen '{key}' ({}) kan berre ha små bokstavar, siffer og _", kind.render(l)),
                Lang::En => format!("{} key '{key}' must be lowercase letters, digits and _", kind.render(l)),
            },
            DuplicateKey { kind, key, first_line } => match l {
                Lang::Nb => format!("nøkkelen '{key}' ({}) står to ganger (først på linje {first_line})", kind.render(l)),
                Lang::Nn => format!("nøkkelen '{key}' ({}) står to gonger (først på linje {first_line})", kind.render(l)),
                Lang::En => format!("duplicate {} key '{key}' (first on line {first_line})", kind.render(l)),
            },
            ScaleRange { min, max } => match l {
                Lang::Nb => format!("skalaen må gå fra 1 til 5, ikke fra {min} til {max}"),
                Lang::Nn => format!("skalaen må gå frå 1 til 5, ikkje frå {min} til {max}"),
                Lang::En => format!("scale must run from 1 to 5, not {min} to {max}"),
            },
            ScaleLabelMissing(v) => match l {
                Lang::Nb => format!("skalateksten for {v} mangler"),
                Lang::Nn => format!("skalateksten for {v} manglar"),
                Lang::En => format!("scale label for {v} is missing"),
            },
            ScaleLabelOutside(k) => match l {
                Lang::Nb => format!("skalateksten '{k}' ligger utenfor 1–5"),
                Lang::Nn => format!("skalateksten '{k}' ligg utanfor 1–5"),
                Lang::En => format!("scale label '{k}' is outside 1..=5"),
            },
            NoFactors => l.pick("skjemaet har ingen faktorer", "skjemaet har ingen faktorar", "the survey has no factors").into(),
            UnknownFactor { item, factor } => match l {
                Lang::Nb => format!("påstand '{item}' hører til en ukjent faktor '{factor}'"),
                Lang::Nn => format!("påstand '{item}' høyrer til ein ukjend faktor '{factor}'"),
                Lang::En => format!("item '{item}' belongs to unknown factor '{factor}'"),
            },
            TooFewItems { factor, n } => match l {
                Lang::Nb => format!("faktor '{factor}' har {n} påstand(er); en faktor trenger minst {MIN_ITEMS_PER_FACTOR} for å gi en pålitelig skår"),
                Lang::Nn => format!("faktor '{factor}' har {n} påstand(ar); ein faktor treng minst {MIN_ITEMS_PER_FACTOR} for å gi ein påliteleg skår"),
                Lang::En => format!("factor '{factor}' has {n} item(s); a factor needs at least {MIN_ITEMS_PER_FACTOR} to give a reliable score"),
            },
            TooManyItems { factor, n } => match l {
                Lang::Nb => format!("faktor '{factor}' har {n} påstander; en faktor kan ha høyst {MAX_ITEMS_PER_FACTOR}: del den"),
                Lang::Nn => format!("faktor '{factor}' har {n} påstandar; ein faktor kan ha høgst {MAX_ITEMS_PER_FACTOR}: del han"),
                Lang::En => format!("factor '{factor}' has {n} items; a factor may have at most {MAX_ITEMS_PER_FACTOR}: split it"),
            },
            TooFewOptions { question } => match l {
                Lang::Nb => format!("bakgrunnsspørsmål '{question}' trenger minst to svaralternativer"),
                Lang::Nn => format!("bakgrunnsspørsmål '{question}' treng minst to svaralternativ"),
                Lang::En => format!("background '{question}' needs at least two options"),
            },
            TooManyOptions { question, n } => match l {
                Lang::Nb => format!("bakgrunnsspørsmål '{question}' har {n} svaralternativer med «vil ikke svare»; høyst {} er lov", stored::MAX_OPTIONS),
                Lang::Nn => format!("bakgrunnsspørsmål '{question}' har {n} svaralternativ med «vil ikkje svare»; høgst {} er lov", stored::MAX_OPTIONS),
                Lang::En => format!("background '{question}' has {n} options with «vil ikke svare»; at most {} are allowed", stored::MAX_OPTIONS),
            },
            EmptyId => l.pick("id er tom", "id er tom", "id is empty").into(),
            EmptyVersion => l.pick("version er tom", "version er tom", "version is empty").into(),
            CannotRead { path, reason } => match l {
                Lang::Nb => format!("kan ikke lese {path}: {reason}"),
                Lang::Nn => format!("kan ikkje lese {path}: {reason}"),
                Lang::En => format!("cannot read {path}: {reason}"),
            },
        }
    }
}

impl SurveyError {
    /// The problem with its line, in `lang`.
    pub fn render(&self, l: Lang) -> String {
        match self.line {
            Some(n) => format!(
                "{} {n}: {}",
                l.pick("linje", "linje", "line"),
                self.problem.render(l)
            ),
            None => self.problem.render(l),
        }
    }
}

/// In English, for logs and tests; people read [`SurveyError::render`].
impl fmt::Display for SurveyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
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
    fn err(&mut self, offset: Option<usize>, problem: Problem) {
        let line = offset.map(|o| self.line_of(o));
        self.errors.push(SurveyError { line, problem });
    }
    /// Every language present and non-empty; unknown language keys are errors.
    fn text(&mut self, offset: usize, subject: Subject, texts: &Texts) -> Text {
        for lang in Lang::ALL {
            match texts.get(lang.code()) {
                Some(t) if !t.trim().is_empty() => {}
                Some(_) => self.err(
                    Some(offset),
                    Problem::EmptyText {
                        subject: subject.clone(),
                        lang,
                    },
                ),
                None => self.err(
                    Some(offset),
                    Problem::MissingTranslation {
                        subject: subject.clone(),
                        lang,
                    },
                ),
            }
        }
        for k in texts.keys() {
            if k.parse::<Lang>().map(|l| l.code() != k).unwrap_or(true) {
                self.err(
                    Some(offset),
                    Problem::UnknownLanguage {
                        subject: subject.clone(),
                        key: k.clone(),
                    },
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
    fn key(&mut self, seen: &mut HashMap<String, usize>, kind: KeyKind, key: &Spanned<String>) {
        let k = key.get_ref();
        let line = self.line_of(key.span().start);
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            self.err(
                Some(key.span().start),
                Problem::BadKey {
                    kind: kind.clone(),
                    key: k.clone(),
                },
            );
        }
        if let Some(first) = seen.get(k) {
            self.err(
                Some(key.span().start),
                Problem::DuplicateKey {
                    kind,
                    key: k.clone(),
                    first_line: *first,
                },
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
    let problem = match e.message().trim() {
        "" => match e.span().and_then(|s| src.get(s.start..)?.chars().next()) {
            Some(c) if c.is_control() => Problem::TomlControlCharacter(c as u32),
            Some(c) => Problem::TomlUnexpected(c),
            None => Problem::TomlEndsEarly,
        },
        m => Problem::Toml(m.to_string()),
    };
    vec![SurveyError { line, problem }]
}

/// The scale's five labels and its "don't know" label.
fn scale(c: &mut Checker, raw: &RawSurvey) -> (Vec<Text>, Text) {
    let scale_at = raw.scale.span().start;
    let scale = raw.scale.get_ref();
    if scale.min != 1 || scale.max != 5 {
        c.err(
            Some(scale_at),
            Problem::ScaleRange {
                min: scale.min,
                max: scale.max,
            },
        );
    }
    let mut scale_labels = Vec::new();
    for v in 1..=5 {
        match scale.labels.get(&v.to_string()) {
            Some(t) => scale_labels.push(c.text(scale_at, Subject::ScaleLabel(v), t)),
            None => c.err(Some(scale_at), Problem::ScaleLabelMissing(v)),
        }
    }
    for k in scale.labels.keys() {
        if !matches!(k.as_str(), "1" | "2" | "3" | "4" | "5") {
            c.err(Some(scale_at), Problem::ScaleLabelOutside(k.clone()));
        }
    }
    let dont_know = c.text(scale_at, Subject::DontKnow, &scale.dont_know);

    (scale_labels, dont_know)
}

fn factors(c: &mut Checker, raw: &RawSurvey) -> Vec<Factor> {
    let mut keys = HashMap::new();
    let mut factors = Vec::new();
    for f in &raw.factors {
        c.key(&mut keys, KeyKind::Factor, &f.key);
        let key = f.key.get_ref();
        let name = c.text(
            f.key.span().start,
            Subject::FactorName(key.clone()),
            &f.name,
        );
        let description = c.text(
            f.key.span().start,
            Subject::FactorDescription(key.clone()),
            &f.description,
        );
        factors.push(Factor {
            key: f.key.get_ref().clone(),
            name,
            description,
        });
    }
    if factors.is_empty() {
        c.err(None, Problem::NoFactors);
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
        c.key(&mut item_keys, KeyKind::Item, &i.key);
        if !factor_keys.contains(i.factor.get_ref().as_str()) {
            c.err(
                Some(i.factor.span().start),
                Problem::UnknownFactor {
                    item: i.key.get_ref().clone(),
                    factor: i.factor.get_ref().clone(),
                },
            );
        }
        let text = c.text(
            i.key.span().start,
            Subject::Item(i.key.get_ref().clone()),
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
                Problem::TooFewItems {
                    factor: f.key.get_ref().clone(),
                    n,
                },
            );
        } else if n > MAX_ITEMS_PER_FACTOR {
            c.err(
                Some(f.key.span().start),
                Problem::TooManyItems {
                    factor: f.key.get_ref().clone(),
                    n,
                },
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
        c.key(&mut bg_keys, KeyKind::Background, &b.key);
        let question = c.text(
            b.key.span().start,
            Subject::Background(b.key.get_ref().clone()),
            &b.question,
        );
        let mut option_keys = HashMap::new();
        let mut options = Vec::new();
        for o in &b.options {
            c.key(
                &mut option_keys,
                KeyKind::Option(b.key.get_ref().clone()),
                &o.key,
            );
            let label = c.text(
                o.key.span().start,
                Subject::Option(o.key.get_ref().clone()),
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
                Problem::TooFewOptions {
                    question: b.key.get_ref().clone(),
                },
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
                Problem::TooManyOptions {
                    question: b.key.get_ref().clone(),
                    n: options.len(),
                },
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
    let title = c.text(raw.title.span().start, Subject::Title, raw.title.get_ref());
    let intro = raw
        .intro
        .as_ref()
        .map(|i| c.text(i.span().start, Subject::Intro, i.get_ref()));
    if raw.id.get_ref().trim().is_empty() {
        c.err(Some(raw.id.span().start), Problem::EmptyId);
    }
    if raw.version.get_ref().trim().is_empty() {
        c.err(Some(raw.version.span().start), Problem::EmptyVersion);
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
            problem: Problem::CannotRead {
                path: path.display().to_string(),
                reason: e.to_string(),
            },
        }]
    })?;
    parse(&src)
}
