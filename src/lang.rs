//! The three interface languages. Bokmål is the default everywhere; a text is
//! written as `lang.pick(nb, nn, en)` (or a `match` with all three arms) at
//! the place it is used, so that a missing translation is a compile error
//! rather than a runtime fallback. No text matches a language with `_ =>`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Nb,
    Nn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Nb, Lang::Nn, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nb => "nb",
            Lang::Nn => "nn",
            Lang::En => "en",
        }
    }

    /// The language's own name, for language switchers.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Nb => "Bokmål",
            Lang::Nn => "Nynorsk",
            Lang::En => "English",
        }
    }

    pub fn pick<'a>(self, nb: &'a str, nn: &'a str, en: &'a str) -> &'a str {
        self.pick3(nb, nn, en)
    }

    /// [`Lang::pick`] for anything: all three must be given.
    pub fn pick3<T>(self, nb: T, nn: T, en: T) -> T {
        match self {
            Lang::Nb => nb,
            Lang::Nn => nn,
            Lang::En => en,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nb" | "no" | "bokmål" | "bokmal" => Ok(Lang::Nb),
            "nn" | "nynorsk" => Ok(Lang::Nn),
            "en" | "english" => Ok(Lang::En),
            other => Err(format!("unknown language '{other}' (use nb, nn or en)")),
        }
    }
}

/// A group's name as shown: the unnamed group above several top units is
/// "the whole organisation".
pub fn display_name(name: &str, lang: Lang) -> String {
    if name.is_empty() {
        lang.pick(
            "Hele organisasjonen",
            "Heile organisasjonen",
            "The whole organisation",
        )
        .to_string()
    } else {
        name.to_string()
    }
}

/// A number as Norwegian texts write it: decimal comma and a real minus
/// sign (English keeps the point).
pub fn decimal(x: f64, places: usize, lang: Lang) -> String {
    let s = format!("{x:.places$}");
    if lang == Lang::En {
        s
    } else {
        s.replace('.', ",").replace('-', "−")
    }
}

/// A number as Norwegian spreadsheets write it: `1 210,5`, `1210.5`.
pub fn parse_number(s: &str) -> Option<f64> {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() || cleaned.matches('.').count() > 1 {
        return None;
    }
    if !cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `2025-01-31` or `31.01.2025`.
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%d.%m.%Y"))
        .ok()
}
