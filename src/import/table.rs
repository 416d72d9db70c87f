//! Reading an HR export into rows of text cells, each remembering where it
//! came from (file line, column), from CSV (`,` or `;`, BOM or not, quoted
//! fields) or XLSX (the first sheet).

use super::{Issue, IssueKind, Location};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    Xlsx,
}

#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based line (CSV) or row number (XLSX) as the user's editor shows it.
    pub line: usize,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub kind: FileKind,
    pub header_line: usize,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// Reads `bytes`; `name` is only used to recognise `.xlsx` files whose
/// content is not a ZIP archive (which then gives a clear error).
pub fn read(name: &str, bytes: &[u8]) -> Result<Table, Vec<Issue>> {
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    if is_zip || name.to_ascii_lowercase().ends_with(".xlsx") {
        read_xlsx(bytes)
    } else {
        read_csv(bytes)
    }
}

fn read_csv(bytes: &[u8]) -> Result<Table, Vec<Issue>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        return Err(vec![Issue::at(Location::line(line), IssueKind::NotUtf8)]);
    }
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(detect_delimiter(first_line))
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            vec![Issue::at(
                Location::line(line),
                IssueKind::Malformed(e.to_string()),
            )]
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        rows.push(Row {
            line,
            cells: record.iter().map(|c| c.trim().to_string()).collect(),
        });
    }
    assemble(FileKind::Csv, rows)
}

/// The first non-empty row is the header; empty rows are dropped.
fn assemble(kind: FileKind, rows: Vec<Row>) -> Result<Table, Vec<Issue>> {
    let mut rows = rows
        .into_iter()
        .filter(|r| r.cells.iter().any(|c| !c.is_empty()));
    let header = rows
        .next()
        .ok_or_else(|| vec![Issue::general(IssueKind::Empty)])?;
    let rows: Vec<Row> = rows.collect();
    // No value the importers store may hold a control character other than
    // line breaks and tabs (a quoted CSV cell may span lines): PostgreSQL
    // refuses NUL outright, and the rest only hide what a cell says.
    let mut issues = Vec::new();
    for row in std::iter::once(&header).chain(&rows) {
        for (i, cell) in row.cells.iter().enumerate() {
            if let Some(c) = cell
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                let name = header.cells.get(i).map(String::as_str).unwrap_or("");
                issues.push(Issue::at(
                    Location::cell(kind, row.line, i, name),
                    IssueKind::ControlCharacter(c as u32),
                ));
            }
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Table {
        kind,
        header_line: header.line,
        headers: header.cells,
        rows,
    })
}

/// The delimiter is whichever of `;` and `,` occurs more often, outside
/// quotes, in the header line: Norwegian Excel writes `;`.
fn detect_delimiter(line: &[u8]) -> u8 {
    let (mut semi, mut comma, mut quoted) = (0, 0, false);
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b';' if !quoted => semi += 1,
            b',' if !quoted => comma += 1,
            _ => {}
        }
    }
    if semi > comma {
        b';'
    } else {
        b','
    }
}

/// calamine is a parser of untrusted input that has panicked on damaged
/// files (an integer overflow in a cell reference, found by our fuzz test);
/// such a file is reported as unreadable like any other.
fn read_xlsx(bytes: &[u8]) -> Result<Table, Vec<Issue>> {
    std::panic::catch_unwind(|| read_xlsx_unguarded(bytes)).unwrap_or_else(|_| {
        Err(vec![Issue::general(IssueKind::Unreadable(
            "not a readable XLSX file: it is damaged".into(),
        ))])
    })
}

fn read_xlsx_unguarded(bytes: &[u8]) -> Result<Table, Vec<Issue>> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| {
        vec![Issue::general(IssueKind::Unreadable(format!(
            "not a readable XLSX file: {e}"
        )))]
    })?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            return Err(vec![Issue::general(IssueKind::Unreadable(format!(
                "first sheet: {e}"
            )))])
        }
        None => return Err(vec![Issue::general(IssueKind::Empty)]),
    };
    let (row0, col0) = range
        .start()
        .map(|(r, c)| (r as usize, c as usize))
        .unwrap_or((0, 0));
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, r)| {
            // Cells left of the used range are empty: pad so that column
            // indexes match the sheet's letters.
            let mut cells = vec![String::new(); col0];
            cells.extend(r.iter().map(|c| {
                match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.trim().to_string(),
                    // Excel stores codes like 1000 as numbers.
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                        format!("{}", *f as i64)
                    }
                    // Dates as ISO dates, whatever the cell's display format.
                    // (Excel counts days from 1899-12-30 in its 1900 system.)
                    Data::DateTime(d) if d.is_datetime() => {
                        chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                            .and_then(|e| {
                                e.checked_add_signed(chrono::Duration::days(
                                    d.as_f64().floor() as i64
                                ))
                            })
                            .map(|x| x.format("%Y-%m-%d").to_string())
                            .unwrap_or_else(|| d.to_string())
                    }
                    other => other.to_string().trim().to_string(),
                }
            }));
            Row {
                line: row0 + i + 1,
                cells,
            }
        })
        .collect();
    assemble(FileKind::Xlsx, rows)
}

/// A column the importer knows: its English name and Norwegian aliases.
pub struct ColumnSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

/// Headers compare without case, spaces, `-` and `_`: `E-post`, `epost`
/// and `e_post` are one column.
fn normalise(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '\u{a0}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each known column is; unknown columns become warnings.
pub struct Columns {
    index: HashMap<&'static str, usize>,
    kind: FileKind,
    headers: Vec<String>,
}

impl Columns {
    pub fn map(table: &Table, specs: &[ColumnSpec]) -> Result<(Columns, Vec<Issue>), Vec<Issue>> {
        let mut index = HashMap::new();
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        for (i, h) in table.headers.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            let n = normalise(h);
            let spec = specs
                .iter()
                .find(|s| normalise(s.name) == n || s.aliases.iter().any(|a| normalise(a) == n));
            let loc = Location::cell(table.kind, table.header_line, i, h);
            match spec {
                Some(s) => {
                    if index.insert(s.name, i).is_some() {
                        errors.push(Issue::at(loc, IssueKind::DuplicateColumn(s.name)));
                    }
                }
                None => warnings.push(Issue::at(loc, IssueKind::UnknownColumn(h.clone()))),
            }
        }
        for s in specs.iter().filter(|s| s.required) {
            if !index.contains_key(s.name) {
                errors.push(Issue::at(
                    Location::line(table.header_line),
                    IssueKind::MissingColumn {
                        name: s.name,
                        aliases: s.aliases,
                    },
                ));
            }
        }
        if errors.is_empty() {
            Ok((
                Columns {
                    index,
                    kind: table.kind,
                    headers: table.headers.clone(),
                },
                warnings,
            ))
        } else {
            Err(errors)
        }
    }

    /// The trimmed cell, or "" when the column is absent or the row short.
    pub fn get<'r>(&self, row: &'r Row, name: &str) -> &'r str {
        self.index
            .get(name)
            .and_then(|i| row.cells.get(*i))
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The location of `name`'s cell in `row`.
    pub fn loc(&self, row: &Row, name: &str) -> Location {
        match self.index.get(name) {
            Some(i) => Location::cell(self.kind, row.line, *i, &self.headers[*i]),
            None => Location::line(row.line),
        }
    }
}

/// Excel's column letters: 0 → A, 25 → Z, 26 → AA.
pub fn column_letters(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn delimiter_ignores_commas_inside_quotes() {
        assert_eq!(detect_delimiter(b"a;b;\"c,d,e\""), b';');
        assert_eq!(detect_delimiter(b"a,b;c,d"), b',');
    }

    #[test]
    fn csv_lines_count_multiline_quoted_fields() {
        let t = read("x.csv", b"a,b\n\"one\ntwo\",x\n3,y\n").unwrap();
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(t.rows[1].line, 4);
    }
}
