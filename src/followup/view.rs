//! What the follow-up pages show, read from the database and released by
//! the engine: the viewer's units against their targets, one unit's
//! follow-up, and the overview of units above target. The web layer
//! renders these; it writes no query.

use super::absence::{self, Rates};
use super::accounts::{self, Account};
use super::effect::{self, TypeEffect};
use super::measures::{self, Measure, MeasureType};
use super::national::{self, NationalRates, Quarter};
use super::org::OrgTree;
use super::standing::{self, Standing};
use super::targets::{self, Kind, Targets, Value};
use crate::access::Viewer;
use crate::db::DbConnection;
use crate::ids::UnitId;
use crate::AppError;
use chrono::{Datelike, NaiveDate};

/// One unit in a list: its released rates in the period (None when its
/// absence may not be shown) and where it stands against its targets.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnitRow {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub depth: u32,
    pub rates: Option<Rates>,
    pub standings: Vec<Standing>,
}

/// The units a viewer follows up: every unit for AMU and administrators,
/// else the units they lead and everything below them.
pub fn visible(tree: &OrgTree, viewer: &Viewer) -> Vec<usize> {
    (0..tree.units.len())
        .filter(|i| {
            crate::access::decide(
                Some(viewer),
                crate::access::Resource::UnitFollowUp {
                    path: &tree.path_ids(*i),
                },
            ) == crate::access::Decision::Allowed
        })
        .collect()
}

pub struct Home {
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub units: Vec<UnitRow>,
    pub national: Option<(Quarter, f64)>,
    pub open_accounts: Vec<(String, Account)>,
}

/// `/oppfolging`: the latest period, for the units the viewer may see.
pub fn home(conn: &mut DbConnection, viewer: &Viewer, k: u32) -> Result<Home, AppError> {
    let national = NationalRates::load(conn)?.latest(national::Measure::Total);
    let Some((period, tree, rates, standings)) = super::latest_standings(conn, k)? else {
        return Ok(Home {
            period: None,
            units: Vec::new(),
            national,
            open_accounts: Vec::new(),
        });
    };
    let shown = visible(&tree, viewer);
    let units = shown
        .iter()
        .filter(|i| tree.units[**i].active)
        .map(|&i| UnitRow {
            id: tree.units[i].id.clone(),
            code: tree.units[i].code.clone(),
            name: tree.units[i].name.clone(),
            depth: tree.units[i].depth,
            rates: rates[i],
            standings: standings.iter().filter(|s| s.unit == i).cloned().collect(),
        })
        .collect();
    let open_accounts = accounts::all(conn)?
        .into_iter()
        .filter(|a| !a.answered())
        .filter_map(|a| {
            let i = tree.get(&a.unit_id)?;
            shown.contains(&i).then(|| (tree.units[i].name.clone(), a))
        })
        .collect();
    Ok(Home {
        period: Some(period),
        units,
        national,
        open_accounts,
    })
}

/// One period of a unit's absence: its rates (when released) and, for
/// each kind, the target that holds in it and the national level.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeriodRow {
    pub period: (NaiveDate, NaiveDate),
    pub rates: Option<Rates>,
    /// (kind, target in percent, set on the unit itself, national).
    pub targets: Vec<(Kind, f64, bool, bool)>,
    /// The national total and doctor-certified rates over the period.
    pub national_total: Option<f64>,
    pub national_doctor: Option<f64>,
}

/// A unit's target as it holds this year: own or inherited (from whom).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetLine {
    pub kind: Kind,
    pub year: i32,
    pub value: Option<Value>,
    pub own: bool,
    pub from: Option<String>,
}

pub struct UnitView {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    /// (id, name) from the root down to the unit's parent.
    pub above: Vec<(UnitId, String)>,
    /// (id, name) of the units directly below, active ones.
    pub below: Vec<(UnitId, String)>,
    pub periods: Vec<PeriodRow>,
    pub targets: Vec<TargetLine>,
    pub accounts: Vec<Account>,
    pub measures: Vec<Measure>,
    pub types: Vec<MeasureType>,
    pub factors: Vec<String>,
    /// Each measure at this unit with its estimate (or why there is none).
    pub effects: Vec<(
        String,
        Result<crate::stats::effect::UnitEffect, crate::stats::effect::NoEstimate>,
    )>,
}

/// How many of the latest periods a unit page lists.
pub const PERIODS_SHOWN: usize = 12;

/// `/oppfolging/enheter/{unit}`.
pub fn unit(conn: &mut DbConnection, unit: &UnitId, k: u32) -> Result<UnitView, AppError> {
    let tree = OrgTree::load(conn)?;
    let i = tree.get(unit).ok_or(AppError::NotFound)?;
    let targets_all = Targets::load(conn)?;
    let national_rates = NationalRates::load(conn)?;
    let mut periods = absence::periods(conn)?;
    periods.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    periods.truncate(PERIODS_SHOWN);
    let mut rows = Vec::new();
    for p in periods {
        let released = absence::released(conn, &tree, p, k)?;
        let rates = released[i].sums().and_then(Rates::of);
        let targets = Kind::ALL
            .into_iter()
            .filter_map(|kind| {
                let (value, from) = targets_all.effective(&tree, i, p.1.year(), kind)?;
                let pct = targets::resolve(value, kind, p, &national_rates)?;
                Some((kind, pct, from == i, value == Value::National))
            })
            .collect();
        rows.push(PeriodRow {
            period: p,
            rates,
            targets,
            national_total: national::level(&national_rates, national::Measure::Total, p),
            national_doctor: national::level(
                &national_rates,
                national::Measure::DoctorCertified,
                p,
            ),
        });
    }
    let year = crate::db::models::today().year();
    let mut lines = Vec::new();
    for y in [year, year + 1] {
        for kind in Kind::ALL {
            let own = targets_all.own(unit, y, kind);
            let eff = targets_all.effective(&tree, i, y, kind);
            lines.push(TargetLine {
                kind,
                year: y,
                value: eff.map(|e| e.0),
                own: own.is_some(),
                from: eff
                    .filter(|(_, from)| *from != i)
                    .map(|(_, from)| tree.units[from].name.clone()),
            });
        }
    }
    let accounts = accounts::all(conn)?
        .into_iter()
        .filter(|a| &a.unit_id == unit)
        .collect();
    let measures: Vec<Measure> = measures::all(conn)?
        .into_iter()
        .filter(|m| m.units.contains(unit))
        .collect();
    let effects = match effect::data(conn, k)? {
        Some(data) => {
            let keys: Vec<&str> = measures.iter().map(|m| m.type_key.as_str()).collect();
            effect::estimate_types(&data, &keys, k)
                .into_iter()
                .flat_map(|t: TypeEffect| t.treatments)
                .filter(|tr| tr.unit == i)
                .map(|tr| (tr.measure_id, tr.estimate))
                .collect()
        }
        None => Vec::new(),
    };
    Ok(UnitView {
        id: unit.clone(),
        code: tree.units[i].code.clone(),
        name: tree.units[i].name.clone(),
        above: tree
            .path(i)
            .into_iter()
            .filter(|u| *u != i)
            .map(|u| (tree.units[u].id.clone(), tree.units[u].name.clone()))
            .collect(),
        below: (0..tree.units.len())
            .filter(|c| tree.units[*c].parent == Some(i) && tree.units[*c].active)
            .map(|c| (tree.units[c].id.clone(), tree.units[c].name.clone()))
            .collect(),
        periods: rows,
        targets: lines,
        accounts,
        measures,
        types: measures::types(conn)?,
        factors: measures::known_factors(conn)?,
        effects,
    })
}

/// One unit above a target in the overview for AMU.
#[derive(Debug, Clone)]
pub struct AboveRow {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub area: String,
    pub standing: Standing,
    pub account: Option<Account>,
    pub measures: Vec<Measure>,
}

pub struct Above {
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub rows: Vec<AboveRow>,
    /// Released units compared with a target.
    pub compared: usize,
    pub types: Vec<MeasureType>,
}

/// `/oppfolging/over-mal`: the units above a target in the latest period,
/// whether each has answered, their accounts and measures.
pub fn above(conn: &mut DbConnection, k: u32) -> Result<Above, AppError> {
    let types = measures::types(conn)?;
    let Some((period, tree, _, standings)) = super::latest_standings(conn, k)? else {
        return Ok(Above {
            period: None,
            rows: Vec::new(),
            compared: 0,
            types,
        });
    };
    let all_accounts = accounts::all(conn)?;
    let all_measures = measures::all(conn)?;
    let day = |d: NaiveDate| d.format(crate::db::models::DATE_FORMAT).to_string();
    let rows = standings
        .iter()
        .filter(|s| s.above)
        .map(|s| {
            let u = &tree.units[s.unit];
            AboveRow {
                id: u.id.clone(),
                code: u.code.clone(),
                name: u.name.clone(),
                area: tree.units[tree.area(s.unit)].name.clone(),
                standing: s.clone(),
                account: all_accounts
                    .iter()
                    .find(|a| {
                        a.unit_id == u.id
                            && a.kind == s.kind.key()
                            && a.period_start == day(period.0)
                            && a.period_end == day(period.1)
                    })
                    .cloned(),
                measures: all_measures
                    .iter()
                    .filter(|m| {
                        m.units.iter().any(|x| {
                            tree.get(x).is_some_and(|x| {
                                tree.is_within(x, s.unit) || tree.is_within(s.unit, x)
                            })
                        })
                    })
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    Ok(Above {
        period: Some(period),
        rows,
        compared: standings.len(),
        types,
    })
}

/// The standings of the latest period, kept pure for the report.
pub fn standings_in(
    conn: &mut DbConnection,
    tree: &OrgTree,
    period: (NaiveDate, NaiveDate),
    k: u32,
) -> Result<(Vec<Option<Rates>>, Vec<Standing>), AppError> {
    let released = absence::released(conn, tree, period, k)?;
    let rates = absence::rates(&released);
    let targets = Targets::load(conn)?;
    let national = NationalRates::load(conn)?;
    let s = standing::standings(tree, &rates, &targets, &national, period);
    Ok((rates, s))
}

/// The ids from the root down to a unit, for the access rules; None for
/// an unknown unit.
pub fn path_of(conn: &mut DbConnection, unit: &UnitId) -> Result<Option<Vec<UnitId>>, AppError> {
    let tree = OrgTree::load(conn)?;
    Ok(tree.get(unit).map(|i| tree.path_ids(i)))
}

/// The paths of every unit a measure belongs to.
pub fn measure_paths(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<Vec<Vec<UnitId>>>, AppError> {
    let Some(m) = measures::find(conn, id)? else {
        return Ok(None);
    };
    let tree = OrgTree::load(conn)?;
    Ok(Some(
        m.units
            .iter()
            .filter_map(|u| tree.get(u))
            .map(|i| tree.path_ids(i))
            .collect(),
    ))
}

/// What the register shows a viewer.
pub struct RegisterData {
    pub measures: Vec<Measure>,
    pub types: Vec<MeasureType>,
    /// (id, name) of the service areas.
    pub areas: Vec<(String, String)>,
    pub factors: Vec<String>,
    /// (id, name) of the active units the viewer may enter measures for.
    pub units: Vec<(String, String)>,
    /// Every unit's name, by id.
    pub names: std::collections::HashMap<String, String>,
}

/// `/tiltak`: the measures the viewer may see, filtered.
pub fn register(
    conn: &mut DbConnection,
    viewer: &Viewer,
    type_key: &str,
    area: &str,
    factor: &str,
    status: &str,
) -> Result<RegisterData, AppError> {
    let tree = OrgTree::load(conn)?;
    let visible = visible(&tree, viewer);
    let within = (!viewer.sees_everything()).then(|| {
        viewer
            .leader_of
            .iter()
            .chain(viewer.represented())
            .filter_map(|u| tree.get(u))
            .collect::<Vec<_>>()
    });
    let filter = measures::Filter {
        type_key: (!type_key.is_empty()).then(|| type_key.to_string()),
        area: tree.get(area),
        factor: (!factor.is_empty()).then(|| factor.to_string()),
        status: measures::Status::parse(status),
        within,
    };
    let all = measures::all(conn)?;
    let measures = all.into_iter().filter(|m| filter.keeps(&tree, m)).collect();
    let roots = tree.roots();
    let areas = (0..tree.units.len())
        .filter(|i| tree.units[*i].parent.is_some_and(|p| roots.contains(&p)))
        .map(|i| (tree.units[i].id.to_string(), tree.units[i].name.clone()))
        .collect();
    // Measures may be entered for the units the viewer may edit (none for
    // a representative, who reads).
    let units = visible
        .iter()
        .filter(|i| tree.units[**i].active)
        .filter(|i| {
            crate::access::decide(
                Some(viewer),
                crate::access::Resource::EditFollowUp {
                    path: &tree.path_ids(**i),
                },
            ) == crate::access::Decision::Allowed
        })
        .map(|i| (tree.units[*i].id.to_string(), tree.units[*i].name.clone()))
        .collect();
    let names = tree
        .units
        .iter()
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    Ok(RegisterData {
        measures,
        types: measures::types(conn)?,
        areas,
        factors: measures::known_factors(conn)?,
        units,
        names,
    })
}
