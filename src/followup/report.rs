//! The reports the council and AMU ask for: the **tertial report**
//! (January–April, May–August, September–December) and the twice-yearly
//! **IA status** (January–June, July–December). Both hold the same parts
//! over their period: absence overall and per service area (short- and
//! long-term, self- and doctor-certified where the data has them) against
//! the previous periods, the same period last year, the targets and the
//! national level; the units above target and whether they have answered;
//! the measures started and completed and the estimated effects by type;
//! the latest survey's risk summary. Every absence figure is released by
//! the engine for that period's window.

use super::absence::{self, Rates};
use super::accounts;
use super::effect::{self, TypeEffect};
use super::measures::{self, Measure, MeasureType, Status};
use super::national::{self, NationalRates};
use super::org::OrgTree;
use super::standing::Standing;
use super::targets::{self, Kind, Targets};
use crate::db::DbConnection;
use crate::lang::Lang;
use crate::AppError;
use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Tertial,
    Ia,
}

impl ReportKind {
    pub fn parse(s: &str) -> Option<ReportKind> {
        match s.trim().to_lowercase().as_str() {
            "tertial" | "tertialrapport" => Some(ReportKind::Tertial),
            "ia" | "ia-status" => Some(ReportKind::Ia),
            _ => None,
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            ReportKind::Tertial => "tertial",
            ReportKind::Ia => "ia",
        }
    }
    fn parts(self) -> u32 {
        match self {
            ReportKind::Tertial => 3,
            ReportKind::Ia => 2,
        }
    }
    fn months(self) -> u32 {
        12 / self.parts()
    }
    pub fn title(self, l: Lang) -> &'static str {
        match self {
            ReportKind::Tertial => l.pick(
                "Tertialrapport: sykefravær og nærværsarbeid",
                "Tertialrapport: sjukefråvær og nærværsarbeid",
                "Tertial report: sickness absence and presence work",
            ),
            ReportKind::Ia => l.pick(
                "IA-status for arbeidsmiljøutvalget",
                "IA-status for arbeidsmiljøutvalet",
                "IA status for the working-environment committee",
            ),
        }
    }
}

/// A tertial (`2026T2`) or half-year (`2026H1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    pub kind: ReportKind,
    pub year: i32,
    /// 1-based part of the year.
    pub part: u32,
}

impl Period {
    pub fn parse(kind: ReportKind, s: &str) -> Option<Period> {
        let s = s.trim().to_uppercase();
        let letter = match kind {
            ReportKind::Tertial => 'T',
            ReportKind::Ia => 'H',
        };
        let (y, p) = s.split_once(letter)?;
        let (year, part) = (y.parse().ok()?, p.parse().ok()?);
        ((1..=kind.parts()).contains(&part) && (2000..=2100).contains(&year)).then_some(Period {
            kind,
            year,
            part,
        })
    }

    /// The period a day falls in.
    pub fn of(kind: ReportKind, d: NaiveDate) -> Period {
        Period {
            kind,
            year: d.year(),
            part: (d.month() - 1) / kind.months() + 1,
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.part - 1) * self.kind.months() + 1, 1)
            .expect("a period's first day")
    }

    pub fn last_day(self) -> NaiveDate {
        let next = self.next().first_day();
        next - chrono::Days::new(1)
    }

    pub fn window(self) -> (NaiveDate, NaiveDate) {
        (self.first_day(), self.last_day())
    }

    pub fn next(self) -> Period {
        if self.part == self.kind.parts() {
            Period {
                year: self.year + 1,
                part: 1,
                ..self
            }
        } else {
            Period {
                part: self.part + 1,
                ..self
            }
        }
    }

    pub fn previous(self) -> Period {
        if self.part == 1 {
            Period {
                year: self.year - 1,
                part: self.kind.parts(),
                ..self
            }
        } else {
            Period {
                part: self.part - 1,
                ..self
            }
        }
    }

    pub fn label(self) -> String {
        let letter = match self.kind {
            ReportKind::Tertial => 'T',
            ReportKind::Ia => 'H',
        };
        format!("{}{letter}{}", self.year, self.part)
    }

    /// «2. tertial 2026», «1. halvår 2026».
    pub fn name(self, l: Lang) -> String {
        let word = match self.kind {
            ReportKind::Tertial => l.pick("tertial", "tertial", "tertial"),
            ReportKind::Ia => l.pick("halvår", "halvår", "half-year"),
        };
        match l {
            Lang::En => format!("{} {word} {}", ordinal_en(self.part), self.year),
            _ => format!("{}. {word} {}", self.part, self.year),
        }
    }
}

fn ordinal_en(n: u32) -> &'static str {
    match n {
        1 => "1st",
        2 => "2nd",
        _ => "3rd",
    }
}

/// One line of the absence table: the organisation or a service area.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    pub name: String,
    /// None when the engine does not release it.
    pub rates: Option<Rates>,
    /// Total rate in the previous periods (oldest first), and in the same
    /// period last year.
    pub previous: Vec<(String, Option<f64>)>,
    pub last_year: Option<f64>,
    pub target_total: Option<f64>,
    pub target_long_term: Option<f64>,
}

/// One unit above target in the period, and whether it has answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AboveLine {
    pub name: String,
    pub standing: Standing,
    pub asked: bool,
    pub answered: bool,
}

pub struct Report {
    pub kind: ReportKind,
    pub period: Period,
    /// Whether any absence lies in the period.
    pub has_data: bool,
    pub organisation: Line,
    pub areas: Vec<Line>,
    pub national_total: Option<f64>,
    pub national_doctor: Option<f64>,
    pub above: Vec<AboveLine>,
    pub started: Vec<Measure>,
    pub completed: Vec<Measure>,
    pub effects: Vec<TypeEffect>,
    pub types: Vec<MeasureType>,
    /// The latest survey round's title and risk summary.
    pub risk: Option<(String, String)>,
    /// The survey side of the measures' effect.
    pub survey: (Option<String>, Vec<effect::SurveySide>),
}

/// The latest period of `kind` that has absence (or the current one).
pub fn latest(conn: &mut DbConnection, kind: ReportKind) -> Result<Period, AppError> {
    let day = absence::latest_period(conn)?
        .map(|p| p.1)
        .unwrap_or_else(crate::db::models::today);
    Ok(Period::of(kind, day))
}

fn total_rate(released: &[crate::analysis::GroupAbsence], i: usize) -> Option<f64> {
    released[i].sums().and_then(|s| s.rate())
}

/// Builds the report of `period` with minimum group size `k`.
pub fn build(
    conn: &mut DbConnection,
    period: Period,
    k: u32,
    lang: Lang,
) -> Result<Report, AppError> {
    let tree = OrgTree::load(conn)?;
    let window = period.window();
    let now = absence::released(conn, &tree, window, k)?;
    let mut back = Vec::new();
    let mut p = period;
    for _ in 0..2 {
        p = p.previous();
        back.push((p, absence::released(conn, &tree, p.window(), k)?));
    }
    back.reverse();
    let last_year = Period {
        year: period.year - 1,
        ..period
    };
    let then = absence::released(conn, &tree, last_year.window(), k)?;
    let targets_all = Targets::load(conn)?;
    let national_rates = NationalRates::load(conn)?;
    let target_of = |i: usize, kind: Kind| {
        targets_all
            .effective(&tree, i, period.year, kind)
            .and_then(|(v, _)| targets::resolve(v, kind, window, &national_rates))
    };
    let line = |i: usize| Line {
        name: crate::lang::display_name(&tree.units[i].name, lang),
        rates: now[i].sums().and_then(Rates::of),
        previous: back
            .iter()
            .map(|(p, r)| (p.label(), total_rate(r, i)))
            .collect(),
        last_year: total_rate(&then, i),
        target_total: target_of(i, Kind::Total),
        target_long_term: target_of(i, Kind::LongTerm),
    };
    let roots = tree.roots();
    let root = roots.first().copied().ok_or(AppError::NotFound)?;
    let areas: Vec<Line> = (0..tree.units.len())
        .filter(|i| tree.units[*i].parent == Some(root) && tree.units[*i].active)
        .map(line)
        .collect();
    let rates = absence::rates(&now);
    let standings =
        super::standing::standings(&tree, &rates, &targets_all, &national_rates, window);
    let accounts_all = accounts::all(conn)?;
    let day = |d: NaiveDate| d.format(crate::db::models::DATE_FORMAT).to_string();
    let above = standings
        .into_iter()
        .filter(|s| s.above)
        .map(|s| {
            let u = &tree.units[s.unit];
            let theirs: Vec<&accounts::Account> = accounts_all
                .iter()
                .filter(|a| {
                    a.unit_id == u.id
                        && a.kind == s.kind.key()
                        && a.period_start >= day(window.0)
                        && a.period_end <= day(window.1)
                })
                .collect();
            AboveLine {
                name: u.name.clone(),
                asked: !theirs.is_empty(),
                answered: theirs.iter().any(|a| a.answered()),
                standing: s,
            }
        })
        .collect();
    let all = measures::all(conn)?;
    let inside = |d: NaiveDate| d >= window.0 && d <= window.1;
    let started = all
        .iter()
        .filter(|m| inside(m.started_on))
        .cloned()
        .collect();
    let completed = all
        .iter()
        .filter(|m| m.status == Status::Done && m.ended_on.is_some_and(inside))
        .cloned()
        .collect();
    let effects = match effect::data(conn, k)? {
        Some(d) => effect::estimate_all(&d, k),
        None => Vec::new(),
    };
    let risk = match crate::analysis::analysable(conn)?.first() {
        Some((id, title)) => {
            let a = crate::analysis::run(
                conn,
                &crate::cache::Cache::none(),
                id,
                crate::analysis::Window::Before,
                None,
                lang,
            )?;
            Some((title.clone(), a.summary.text))
        }
        None => None,
    };
    Ok(Report {
        kind: period.kind,
        period,
        has_data: now[root].sums().is_some(),
        organisation: line(root),
        areas,
        national_total: national::level(&national_rates, national::Measure::Total, window),
        national_doctor: national::level(
            &national_rates,
            national::Measure::DoctorCertified,
            window,
        ),
        above,
        started,
        completed,
        effects,
        types: measures::types(conn)?,
        risk,
        survey: effect::survey_side(conn)?,
    })
}

/// The report's tables, for the XLSX file.
pub fn tables(r: &Report, l: Lang) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let n = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:.4}"));
    let mut absence_rows = Vec::new();
    for line in std::iter::once(&r.organisation).chain(&r.areas) {
        let mut row = vec![line.name.clone()];
        let rt = line.rates.as_ref();
        row.extend([
            n(rt.map(|x| x.total)),
            n(rt.and_then(|x| x.short_term)),
            n(rt.and_then(|x| x.long_term)),
            n(rt.and_then(|x| x.self_certified)),
            n(rt.and_then(|x| x.doctor_certified)),
            n(line.target_total),
            n(line.target_long_term),
        ]);
        row.extend(line.previous.iter().map(|(_, v)| n(*v)));
        row.push(n(line.last_year));
        absence_rows.push(row);
    }
    let mut absence_header: Vec<String> = [
        l.pick("Enhet", "Eining", "Unit"),
        l.pick("Fravær %", "Fråvær %", "Absence %"),
        l.pick("Korttid %", "Korttid %", "Short-term %"),
        l.pick("Langtid %", "Langtid %", "Long-term %"),
        l.pick("Egenmeldt %", "Eigenmeldt %", "Self-certified %"),
        l.pick("Legemeldt %", "Legemeldt %", "Doctor-certified %"),
        l.pick("Mål %", "Mål %", "Target %"),
        l.pick("Mål langtid %", "Mål langtid %", "Long-term target %"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    absence_header.extend(r.organisation.previous.iter().map(|(p, _)| p.clone()));
    absence_header.push(
        l.pick(
            "Samme periode i fjor",
            "Same periode i fjor",
            "Same period last year",
        )
        .into(),
    );
    let above_rows = r
        .above
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.standing.kind.key().into(),
                format!("{:.4}", a.standing.rate),
                format!("{:.4}", a.standing.target),
                if a.answered {
                    "ja"
                } else if a.asked {
                    "venter"
                } else {
                    "nei"
                }
                .into(),
            ]
        })
        .collect();
    let measure_row = |m: &Measure| {
        vec![
            m.title.clone(),
            m.type_key.clone(),
            m.started_on.to_string(),
            m.ended_on.map(|d| d.to_string()).unwrap_or_default(),
            m.status.key().into(),
        ]
    };
    let effect_rows = r
        .effects
        .iter()
        .filter_map(|e| {
            let p = e.pooled.as_ref()?;
            Some(vec![
                e.type_key.clone(),
                p.n.to_string(),
                format!("{:.6}", p.effect),
                p.interval.map_or(String::new(), |i| format!("{:.6}", i.0)),
                p.interval.map_or(String::new(), |i| format!("{:.6}", i.1)),
                e.placebo.map_or(String::new(), |x| format!("{:.4}", x.0)),
            ])
        })
        .collect();
    let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            l.pick("Fravær", "Fråvær", "Absence").into(),
            absence_header,
            absence_rows,
        ),
        (
            l.pick("Over mål", "Over mål", "Above target").into(),
            h(&[
                l.pick("Enhet", "Eining", "Unit"),
                "kind",
                l.pick("Fravær %", "Fråvær %", "Absence %"),
                l.pick("Mål %", "Mål %", "Target %"),
                l.pick("Redegjørelse", "Utgreiing", "Account"),
            ]),
            above_rows,
        ),
        (
            l.pick("Startet", "Starta", "Started").into(),
            h(&["title", "type", "started_on", "ended_on", "status"]),
            r.started.iter().map(measure_row).collect(),
        ),
        (
            l.pick("Fullført", "Fullført", "Completed").into(),
            h(&["title", "type", "started_on", "ended_on", "status"]),
            r.completed.iter().map(measure_row).collect(),
        ),
        (
            l.pick("Effekt", "Effekt", "Effect").into(),
            h(&["type", "n", "effect_pp", "low", "high", "placebo_share"]),
            effect_rows,
        ),
    ]
}

/// The report as an Excel workbook, one sheet per table.
pub fn xlsx(r: &Report, l: Lang) -> Result<Vec<u8>, AppError> {
    let tables = tables(r, l);
    let headers: Vec<Vec<&str>> = tables
        .iter()
        .map(|(_, h, _)| h.iter().map(String::as_str).collect())
        .collect();
    let files: Vec<crate::export::Table> = tables
        .iter()
        .zip(&headers)
        .map(|((sheet, _, rows), header)| crate::export::Table {
            sheet,
            header,
            rows: rows.clone(),
            numeric_from: 1,
            text_columns: &[],
            keep_empty: true,
        })
        .collect();
    crate::export::xlsx(&files)
}
