//! What a viewer sees of a closed round: one [`UnitReport`] per unit page,
//! built only from the frozen snapshot's released figures. The page, the
//! print version, the CSV, the XLSX and the JSON API all render this same
//! report, so an export holds exactly what the page shows. Who may open
//! which report is [`crate::access`]'s to decide.

use crate::access::{openable, Viewer};
use crate::db::models::Round;
use crate::lang::{display_name, Lang};
use crate::snapshot::{FactorStat, Group, Snapshot};
use crate::survey::Survey;
use crate::AppError;
use serde::Serialize;

/// A closed round and the groups one viewer may open in it: the list page
/// and `GET /api/v1/rounds` both show this.
#[derive(Debug, Clone, Serialize)]
pub struct RoundListing {
    pub id: String,
    pub title: String,
    pub closes_on: String,
    pub min_group_size: u32,
    pub groups: Vec<GroupLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupLink {
    pub id: String,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub shown: bool,
    /// Depth below the viewer's topmost group, for indenting.
    #[serde(skip)]
    pub depth: u32,
    pub href: String,
}

/// Every closed round with the groups `viewer` may open, newest first.
pub fn listing(
    conn: &mut crate::db::DbConnection,
    cache: &crate::cache::Cache,
    viewer: &Viewer,
    lang: Lang,
) -> Result<Vec<RoundListing>, AppError> {
    let mut out = Vec::new();
    for r in Round::all(conn)? {
        let Some(s) = crate::snapshot::load_cached(conn, cache, &r.id)? else {
            continue;
        };
        let groups = openable(viewer, &s);
        let top = groups.iter().map(|g| g.depth).min().unwrap_or(0);
        out.push(RoundListing {
            id: r.id.clone(),
            title: r.title.clone(),
            closes_on: r.closes_on.clone(),
            min_group_size: s.k,
            groups: groups
                .into_iter()
                .map(|g| GroupLink {
                    id: g.key.clone(),
                    code: g.code.clone(),
                    name: group_name(g, lang),
                    parent: g.parent.clone(),
                    shown: g.figures.is_some(),
                    depth: g.depth - top,
                    href: format!("/api/v1/rounds/{}/groups/{}", r.id, g.key),
                })
                .collect(),
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitReport {
    pub round_id: String,
    pub round_title: String,
    pub closed_on: String,
    /// The minimum group size the figures were released under.
    pub min_group_size: u32,
    pub group: GroupSummary,
    /// The level above, for comparison; None at the top.
    pub above: Option<GroupSummary>,
    /// The whole organisation (or the round's subtree), for comparison;
    /// None when the report is about it.
    pub organisation: Option<GroupSummary>,
    pub factors: Vec<FactorRow>,
    /// The units directly below, and whether their results are shown.
    pub below: Vec<GroupSummary>,
    /// The round the changes compare with.
    pub previous_round: Option<String>,
    /// Background breakdowns: only in the organisation's own report.
    pub background: Vec<BackgroundView>,
    /// Cronbach's alpha per factor: only in the organisation's own report.
    pub reliability: Vec<ReliabilityRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackgroundView {
    pub question: String,
    pub cells: Vec<CellView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellView {
    pub option: String,
    /// None when the cell is hidden.
    pub respondents: Option<u32>,
    /// By factor, in the order of [`UnitReport::factors`]; None where hidden.
    pub factors: Vec<Option<CellFactor>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellFactor {
    pub n: u32,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityRow {
    pub factor: String,
    pub n: u32,
    pub alpha: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    pub id: String,
    pub code: String,
    pub name: String,
    /// False when the anonymity rules hide the group: then no figure at all.
    pub shown: bool,
    pub respondents: Option<u32>,
    pub invited: Option<u32>,
    pub response_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactorRow {
    pub survey: String,
    pub key: String,
    pub name: String,
    /// This group's figure; None when hidden.
    pub figure: Option<FactorStat>,
    /// The level above's mean, when shown.
    pub above_mean: Option<f64>,
    pub organisation_mean: Option<f64>,
    pub items: Vec<ItemRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemRow {
    pub key: String,
    pub text: String,
    /// Answers per option: "vet ikke", then 1..=5; None when hidden.
    pub counts: Option<[u32; 6]>,
}

/// A group's name; the group above several top units has none of its own.
pub fn group_name(g: &Group, lang: Lang) -> String {
    display_name(&g.name, lang)
}

fn summary(g: &Group, lang: Lang) -> GroupSummary {
    let n = g.figures.as_ref().map(|f| f.n);
    GroupSummary {
        id: g.key.clone(),
        code: g.code.clone(),
        name: group_name(g, lang),
        shown: n.is_some(),
        respondents: n,
        // The invited count is organisation data, but beside a hidden
        // group it would frame the hidden count: shown only with it.
        invited: n.map(|_| g.invited),
        response_rate: n
            .filter(|_| g.invited > 0)
            .map(|n| f64::from(n) / f64::from(g.invited)),
    }
}

/// The report of one group. The caller has asked [`crate::access`].
pub fn unit_report(
    round: &Round,
    snapshot: &Snapshot,
    surveys: &[Survey],
    group: &str,
    lang: Lang,
) -> Result<UnitReport, AppError> {
    let g = snapshot.group(group).ok_or(AppError::NotFound)?;
    let above = g.parent.as_deref().and_then(|p| snapshot.group(p));
    let root = snapshot.root();
    // The organisation compares only where it is not already the level
    // above (or the group itself).
    let organisation =
        (root.key != g.key && above.map_or(true, |a| a.key != root.key)).then_some(root);
    let factors: Vec<FactorRow> = snapshot
        .factors
        .iter()
        .map(|f| {
            let s = surveys.iter().find(|s| s.id == f.survey);
            let name = s
                .and_then(|s| s.factors.iter().find(|x| x.key == f.key))
                .map_or(f.key.clone(), |x| x.name.get(lang).to_string());
            let items = snapshot
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.survey == f.survey && i.factor == f.key)
                .map(|(t, i)| ItemRow {
                    key: i.key.clone(),
                    text: s
                        .and_then(|s| s.items.iter().find(|x| x.key == i.key))
                        .map_or(i.key.clone(), |x| x.text.get(lang).to_string()),
                    counts: g.figures.as_ref().and_then(|fig| fig.items[t]),
                })
                .collect();
            FactorRow {
                survey: f.survey.clone(),
                key: f.key.clone(),
                name,
                figure: snapshot.factor(g, f).cloned(),
                above_mean: above.and_then(|a| snapshot.factor(a, f)).map(|x| x.mean),
                organisation_mean: organisation
                    .and_then(|o| snapshot.factor(o, f))
                    .map(|x| x.mean),
                items,
            }
        })
        .collect();
    let is_root = g.key == root.key && g.figures.is_some();
    let factor_names: Vec<String> = factors.iter().map(|f: &FactorRow| f.name.clone()).collect();
    let background = if is_root {
        snapshot
            .background
            .iter()
            .map(|q| {
                let def = surveys
                    .iter()
                    .find(|s| s.id == q.survey)
                    .and_then(|s| s.background.iter().find(|b| b.key == q.key));
                BackgroundView {
                    question: def.map_or(q.key.clone(), |d| d.question.get(lang).to_string()),
                    cells: q
                        .cells
                        .iter()
                        .map(|c| CellView {
                            option: def
                                .and_then(|d| d.options.iter().find(|o| o.key == c.option))
                                .map_or(c.option.clone(), |o| o.label.get(lang).to_string()),
                            respondents: c.figures.as_ref().map(|f| f.n),
                            factors: match &c.figures {
                                Some(f) => f
                                    .factors
                                    .iter()
                                    .map(|x| {
                                        x.as_ref().map(|x| CellFactor {
                                            n: x.n,
                                            mean: x.mean,
                                        })
                                    })
                                    .collect(),
                                None => vec![None; snapshot.factors.len()],
                            },
                        })
                        .collect(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let reliability = if is_root {
        snapshot
            .alpha
            .iter()
            .zip(&factor_names)
            .filter_map(|(a, name)| {
                a.as_ref().map(|a| ReliabilityRow {
                    factor: name.clone(),
                    n: a.n,
                    alpha: a.alpha,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(UnitReport {
        round_id: round.id.clone(),
        round_title: round.title.clone(),
        closed_on: round.closes_on.clone(),
        min_group_size: snapshot.k,
        group: summary(g, lang),
        above: above.map(|a| summary(a, lang)),
        organisation: organisation.map(|o| summary(o, lang)),
        factors,
        below: snapshot
            .children(&g.key)
            .into_iter()
            .map(|c| summary(c, lang))
            .collect(),
        previous_round: snapshot.previous_round.clone(),
        background,
        reliability,
    })
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or_default()
}

const FACTOR_HEADER: [&str; 14] = [
    "level",
    "unit_code",
    "unit",
    "factor",
    "n",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
    "favourable",
    "unfavourable",
    "change",
    "change_low",
    "change_high",
];

/// Rows of the factor table, shared by CSV and XLSX: this group's figures,
/// then the comparison means. Hidden figures are empty cells.
fn factor_rows(r: &UnitReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in &r.factors {
        let s = f.figure.as_ref();
        let c = s.and_then(|s| s.change.as_ref());
        rows.push(vec![
            "unit".into(),
            r.group.code.clone(),
            r.group.name.clone(),
            f.name.clone(),
            s.map(|s| s.n.to_string()).unwrap_or_default(),
            opt(s.map(|s| s.mean)),
            opt(s.map(|s| s.sd)),
            opt(s.map(|s| s.ci_low)),
            opt(s.map(|s| s.ci_high)),
            opt(s.map(|s| s.favourable)),
            opt(s.map(|s| s.unfavourable)),
            opt(c.map(|c| c.diff)),
            opt(c.map(|c| c.low)),
            opt(c.map(|c| c.high)),
        ]);
    }
    for (level, g, pick) in [("above", &r.above, 0), ("organisation", &r.organisation, 1)] {
        let Some(g) = g else { continue };
        for f in &r.factors {
            let m = if pick == 0 {
                f.above_mean
            } else {
                f.organisation_mean
            };
            let mut row = vec![level.into(), g.code.clone(), g.name.clone(), f.name.clone()];
            row.push(String::new());
            row.push(opt(m));
            row.resize(FACTOR_HEADER.len(), String::new());
            rows.push(row);
        }
    }
    rows
}

const ITEM_HEADER: [&str; 10] = [
    "factor",
    "item",
    "text",
    "dont_know",
    "1",
    "2",
    "3",
    "4",
    "5",
    "n",
];

fn item_rows(r: &UnitReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in &r.factors {
        for i in &f.items {
            let mut row = vec![f.name.clone(), i.key.clone(), i.text.clone()];
            match i.counts {
                Some(c) => {
                    row.extend(c.iter().map(|x| x.to_string()));
                    row.push(c.iter().sum::<u32>().to_string());
                }
                None => row.resize(ITEM_HEADER.len(), String::new()),
            }
            rows.push(row);
        }
    }
    rows
}

const BACKGROUND_HEADER: [&str; 5] = ["question", "option", "factor", "n", "mean"];
const RELIABILITY_HEADER: [&str; 3] = ["factor", "n", "cronbach_alpha"];

fn background_rows(r: &UnitReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for q in &r.background {
        for c in &q.cells {
            for (f, x) in r.factors.iter().zip(&c.factors) {
                rows.push(vec![
                    q.question.clone(),
                    c.option.clone(),
                    f.name.clone(),
                    x.as_ref().map(|x| x.n.to_string()).unwrap_or_default(),
                    opt(x.as_ref().map(|x| x.mean)),
                ]);
            }
        }
    }
    rows
}

fn reliability_rows(r: &UnitReport) -> Vec<Vec<String>> {
    r.reliability
        .iter()
        .map(|x| vec![x.factor.clone(), x.n.to_string(), format!("{:.4}", x.alpha)])
        .collect()
}

/// The report as CSV: the factor table, a blank line, the item table; for
/// the organisation also the background and reliability tables.
pub fn to_csv(r: &UnitReport) -> Result<Vec<u8>, AppError> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let err = |e: csv::Error| AppError::damaged(e.to_string());
    w.write_record(FACTOR_HEADER).map_err(err)?;
    for row in factor_rows(r) {
        w.write_record(&row).map_err(err)?;
    }
    w.write_record([""]).map_err(err)?;
    w.write_record(ITEM_HEADER).map_err(err)?;
    for row in item_rows(r) {
        w.write_record(&row).map_err(err)?;
    }
    for (header, rows) in [
        (&BACKGROUND_HEADER[..], background_rows(r)),
        (&RELIABILITY_HEADER[..], reliability_rows(r)),
    ] {
        if rows.is_empty() {
            continue;
        }
        w.write_record([""]).map_err(err)?;
        w.write_record(header).map_err(err)?;
        for row in rows {
            w.write_record(&row).map_err(err)?;
        }
    }
    w.into_inner().map_err(|e| AppError::damaged(e.to_string()))
}

/// The report as an Excel workbook: sheets "Faktorer" and "Spørsmål".
pub fn to_xlsx(r: &UnitReport) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| AppError::damaged(e.to_string());
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    // (sheet, header, rows, first numeric column, written even when empty)
    for (name, header, rows, numeric_from, always) in [
        ("Faktorer", &FACTOR_HEADER[..], factor_rows(r), 4, true),
        ("Spørsmål", &ITEM_HEADER[..], item_rows(r), 3, true),
        (
            "Bakgrunn",
            &BACKGROUND_HEADER[..],
            background_rows(r),
            3,
            false,
        ),
        (
            "Pålitelighet",
            &RELIABILITY_HEADER[..],
            reliability_rows(r),
            1,
            false,
        ),
    ] {
        if rows.is_empty() && !always {
            continue;
        }
        let sheet = book.add_worksheet().set_name(name).map_err(err)?;
        for (c, h) in header.iter().enumerate() {
            sheet
                .write_with_format(0, c as u16, *h, &bold)
                .map_err(err)?;
        }
        for (i, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (rr, cc) = (i as u32 + 1, c as u16);
                // Numbers as numbers, so a spreadsheet can sum them.
                match v.parse::<f64>() {
                    Ok(x) if c >= numeric_from => sheet.write_number(rr, cc, x).map_err(err)?,
                    _ => sheet.write_string(rr, cc, v).map_err(err)?,
                };
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

/// One measure of a unit's action plan.
#[derive(Debug, Clone, Serialize, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::action_items)]
pub struct ActionItem {
    pub id: String,
    pub round_id: String,
    pub unit_id: String,
    pub factor: String,
    pub measure: String,
    pub responsible: String,
    pub due_on: String,
    pub done: bool,
    pub updated_at: i64,
}

/// Distinct factors one unit's plan may name for one round.
pub const MAX_PLAN_FACTORS: usize = 3;
pub const MAX_PLAN_ITEMS: i64 = 12;

/// What a leader submits for a new measure.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewAction {
    #[serde(default)]
    pub factor: String,
    #[serde(default)]
    pub measure: String,
    #[serde(default)]
    pub responsible: String,
    #[serde(default)]
    pub due_on: String,
}

pub mod actions {
    use super::*;
    use crate::db::schema::{action_items, rounds, units};
    use crate::db::DbConnection;
    use diesel::prelude::*;

    pub fn for_unit(
        conn: &mut DbConnection,
        round_id: &str,
        unit_id: &str,
    ) -> QueryResult<Vec<ActionItem>> {
        action_items::table
            .filter(action_items::round_id.eq(round_id))
            .filter(action_items::unit_id.eq(unit_id))
            .order((action_items::due_on, action_items::id))
            .select(ActionItem::as_select())
            .load(conn)
    }

    /// Validates and stores a measure. `factors` are the round's factor
    /// values (`survey/key`). Every problem is named, in the viewer's
    /// language, and nothing is stored unless all is well.
    pub fn add(
        conn: &mut DbConnection,
        round_id: &str,
        unit_id: &str,
        factors: &[String],
        new: &NewAction,
        lang: Lang,
    ) -> Result<ActionItem, AppError> {
        let mut problems = Vec::new();
        if !factors.contains(&new.factor) {
            problems.push(
                lang.pick(
                    "Velg en av faktorene.",
                    "Vel ein av faktorane.",
                    "Choose one of the factors.",
                )
                .to_string(),
            );
        }
        let measure = new.measure.trim();
        if measure.is_empty() || measure.chars().count() > 2000 {
            problems.push(
                lang.pick(
                    "Beskriv tiltaket (høyst 2000 tegn).",
                    "Skildre tiltaket (høgst 2000 teikn).",
                    "Describe the measure (at most 2000 characters).",
                )
                .to_string(),
            );
        }
        let responsible = new.responsible.trim();
        if responsible.is_empty() || responsible.chars().count() > 200 {
            problems.push(
                lang.pick(
                    "Skriv hvem som er ansvarlig (høyst 200 tegn).",
                    "Skriv kven som er ansvarleg (høgst 200 teikn).",
                    "Name who is responsible (at most 200 characters).",
                )
                .to_string(),
            );
        }
        let due = chrono::NaiveDate::parse_from_str(new.due_on.trim(), crate::rounds::DATE_FORMAT);
        if due.is_err() {
            problems.push(
                lang.pick(
                    "Fristen må være en dato (åååå-mm-dd).",
                    "Fristen må vere ein dato (åååå-mm-dd).",
                    "The due date must be a date (yyyy-mm-dd).",
                )
                .to_string(),
            );
        }
        crate::db::write_transaction(conn, |conn| {
            let existing = for_unit(conn, round_id, unit_id)?;
            let mut named: Vec<&str> = existing.iter().map(|i| i.factor.as_str()).collect();
            named.sort();
            named.dedup();
            if !named.contains(&new.factor.as_str()) && named.len() >= MAX_PLAN_FACTORS {
                problems.push(match lang {
                    Lang::Nb => format!("En plan samler seg om høyst {MAX_PLAN_FACTORS} faktorer; legg tiltaket under en av dem."),
                    Lang::Nn => format!("Ein plan samlar seg om høgst {MAX_PLAN_FACTORS} faktorar; legg tiltaket under ein av dei."),
                    Lang::En => format!("A plan focuses on at most {MAX_PLAN_FACTORS} factors; put the measure under one of them."),
                });
            }
            if existing.len() as i64 >= MAX_PLAN_ITEMS {
                problems.push(match lang {
                    Lang::En => format!("A plan holds at most {MAX_PLAN_ITEMS} measures."),
                    _ => format!("En plan har høyst {MAX_PLAN_ITEMS} tiltak."),
                });
            }
            if !problems.is_empty() {
                return Err(crate::error::UserError::ActionPlan(problems).into());
            }
            let item = ActionItem {
                id: crate::crypto::new_id(),
                round_id: round_id.into(),
                unit_id: unit_id.into(),
                factor: new.factor.clone(),
                measure: measure.into(),
                responsible: responsible.into(),
                due_on: new.due_on.trim().into(),
                done: false,
                updated_at: crate::db::now_unix(),
            };
            diesel::insert_into(action_items::table)
                .values((
                    action_items::id.eq(&item.id),
                    action_items::round_id.eq(&item.round_id),
                    action_items::unit_id.eq(&item.unit_id),
                    action_items::factor.eq(&item.factor),
                    action_items::measure.eq(&item.measure),
                    action_items::responsible.eq(&item.responsible),
                    action_items::due_on.eq(&item.due_on),
                    action_items::done.eq(false),
                    action_items::updated_at.eq(item.updated_at),
                ))
                .execute(conn)?;
            Ok(item)
        })
    }

    pub fn find(conn: &mut DbConnection, id: &str) -> Result<ActionItem, AppError> {
        action_items::table
            .find(id)
            .select(ActionItem::as_select())
            .get_result(conn)
            .optional()?
            .ok_or(AppError::NotFound)
    }

    pub fn set_done(conn: &mut DbConnection, id: &str, done: bool) -> Result<(), AppError> {
        diesel::update(action_items::table.find(id))
            .set((
                action_items::done.eq(done),
                action_items::updated_at.eq(crate::db::now_unix()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// One unit's plan for one round, counted.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PlanStatus {
        pub round_title: String,
        pub unit_name: String,
        pub round_id: String,
        pub unit_id: String,
        pub measures: usize,
        pub done: usize,
    }

    pub fn overview(conn: &mut DbConnection) -> QueryResult<Vec<PlanStatus>> {
        let rows: Vec<(String, String, String, String, bool)> = action_items::table
            .inner_join(rounds::table)
            .inner_join(units::table)
            .order((rounds::created_at.desc(), units::code))
            .select((
                rounds::title,
                units::name,
                action_items::round_id,
                action_items::unit_id,
                action_items::done,
            ))
            .load(conn)?;
        let mut out: Vec<PlanStatus> = Vec::new();
        for (round_title, unit_name, round_id, unit_id, done) in rows {
            match out.last_mut() {
                Some(last) if last.round_id == round_id && last.unit_id == unit_id => {
                    last.measures += 1;
                    last.done += usize::from(done);
                }
                _ => out.push(PlanStatus {
                    round_title,
                    unit_name,
                    round_id,
                    unit_id,
                    measures: 1,
                    done: usize::from(done),
                }),
            }
        }
        Ok(out)
    }
}
