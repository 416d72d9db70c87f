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

/// Every non-blank row of the file as read; which row holds the headers is
/// for [`Columns::map`] to find, since only the importer knows its columns.
#[derive(Debug, Clone)]
pub struct Table {
    pub kind: FileKind,
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
        return Err(vec![Issue::at(
            Location::line(physical_line(bytes, e.valid_up_to())),
            IssueKind::NotUtf8,
        )]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(detect_delimiter(bytes))
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    let mut lines = LineCounter::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e
                .position()
                .map(|p| lines.record_line(bytes, p.byte() as usize))
                .unwrap_or(0);
            vec![Issue::at(
                Location::line(line),
                IssueKind::Malformed(e.to_string()),
            )]
        })?;
        let line = record
            .position()
            .map(|p| lines.record_line(bytes, p.byte() as usize))
            .unwrap_or(0);
        rows.push(Row {
            line,
            cells: record.iter().map(|c| c.trim().to_string()).collect(),
        });
    }
    table(FileKind::Csv, rows)
}

/// The editor's line (1-based) of the byte at `offset`: one more than the
/// line feeds before it. CR LF, LF and line breaks inside quoted cells all
/// count as an editor counts them.
fn physical_line(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// Counts line feeds as the records go by, so that each record's line
/// costs only the bytes since the last one (counting from the start of the
/// file for each record made a 50 000-row import take 20 s).
#[derive(Default)]
struct LineCounter {
    offset: usize,
    feeds: usize,
}

impl LineCounter {
    /// The line on which a record starts. The csv crate reports a record's
    /// position where the previous record's terminator ended; after a CR LF
    /// that is at the LF (the crate's own line count is one low there), so
    /// line-break bytes at the position still belong to the line before.
    fn record_line(&mut self, bytes: &[u8], offset: usize) -> usize {
        let offset = offset.min(bytes.len());
        let start = bytes[offset..]
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(bytes.len(), |n| offset + n);
        if start < self.offset {
            return physical_line(bytes, start);
        }
        self.feeds += bytes[self.offset..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = start;
        self.feeds + 1
    }
}

/// Drops blank rows; a file of nothing else is empty.
fn table(kind: FileKind, rows: Vec<Row>) -> Result<Table, Vec<Issue>> {
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| r.cells.iter().any(|c| !c.is_empty()))
        .collect();
    if rows.is_empty() {
        return Err(vec![Issue::general(IssueKind::Empty)]);
    }
    Ok(Table { kind, rows })
}

/// The delimiter is whichever of `;` and `,` occurs more often, outside
/// quotes, on the line among the first ten that has most of either: that
/// is the header or a data row, not a report title above them (which may
/// hold a comma), and a decimal comma never outnumbers the semicolons of
/// its own row. Norwegian Excel writes `;`.
fn detect_delimiter(bytes: &[u8]) -> u8 {
    let mut best = (0, b',');
    for line in bytes.split(|b| *b == b'\n').take(HEADER_SEARCH_ROWS) {
        let (mut semi, mut comma, mut quoted) = (0, 0, false);
        for b in line {
            match b {
                b'"' => quoted = !quoted,
                b';' if !quoted => semi += 1,
                b',' if !quoted => comma += 1,
                _ => {}
            }
        }
        let here = if semi > comma {
            (semi, b';')
        } else {
            (comma, b',')
        };
        if here.0 > best.0 {
            best = here;
        }
    }
    best.1
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
    table(FileKind::Xlsx, rows)
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
    /// Index in [`Table::rows`] of the first row after the headers.
    first_data: usize,
}

/// Payroll and HR reports often put a title and a blank line above the
/// column headers: the header row is the first of this many rows that holds
/// every required column.
pub const HEADER_SEARCH_ROWS: usize = 10;

/// The spec each header cell names, if any.
fn match_headers<'s>(cells: &[String], specs: &'s [ColumnSpec]) -> Vec<Option<&'s ColumnSpec>> {
    cells
        .iter()
        .map(|h| {
            let n = normalise(h);
            (!n.is_empty())
                .then(|| {
                    specs.iter().find(|s| {
                        normalise(s.name) == n || s.aliases.iter().any(|a| normalise(a) == n)
                    })
                })
                .flatten()
        })
        .collect()
}

impl Columns {
    /// Finds the header row and maps the columns. The header is the first
    /// row (among the file's first [`HEADER_SEARCH_ROWS`] lines) that holds
    /// every required column; rows above it are skipped, with a notice. When
    /// no row does, the row naming the most known columns is taken as the
    /// header and its missing columns are reported; when no row names any,
    /// the rejection says which columns were looked for and where.
    pub fn map(table: &Table, specs: &[ColumnSpec]) -> Result<(Columns, Vec<Issue>), Vec<Issue>> {
        let searched: Vec<(usize, &Row)> = table
            .rows
            .iter()
            .enumerate()
            .take_while(|(_, r)| r.line <= HEADER_SEARCH_ROWS)
            .collect();
        let searched = if searched.is_empty() {
            // A first row below line 10 (blank lines above it) is still a
            // candidate.
            table.rows.iter().enumerate().take(1).collect()
        } else {
            searched
        };
        let required = specs.iter().filter(|s| s.required).count();
        let scored: Vec<(usize, &Row, usize, usize)> = searched
            .iter()
            .map(|(i, r)| {
                let m = match_headers(&r.cells, specs);
                let known = m.iter().flatten().count();
                let req = m.iter().flatten().filter(|s| s.required).count();
                (*i, *r, known, req)
            })
            .collect();
        let chosen = scored
            .iter()
            .find(|(_, _, _, req)| *req == required)
            .or_else(|| {
                // The first of the rows naming the most known columns.
                let best = scored.iter().map(|s| s.2).max().unwrap_or(0);
                scored.iter().find(|s| s.2 == best && best > 0)
            });
        let Some(&(header_index, header, _, _)) = chosen else {
            let last = searched.last().map_or(1, |(_, r)| r.line);
            return Err(vec![Issue::general(IssueKind::NoHeader {
                columns: specs
                    .iter()
                    .filter(|s| s.required)
                    .map(|s| (s.name, s.aliases))
                    .collect(),
                last_line: last,
            })]);
        };

        let mut index = HashMap::new();
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        if header_index > 0 {
            warnings.push(Issue::general(IssueKind::HeaderBelowTop {
                line: header.line,
            }));
        }
        for (i, (h, spec)) in header
            .cells
            .iter()
            .zip(match_headers(&header.cells, specs))
            .enumerate()
        {
            if h.is_empty() {
                continue;
            }
            let loc = Location::cell(table.kind, header.line, i, h);
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
                    Location::line(header.line),
                    IssueKind::MissingColumn {
                        name: s.name,
                        aliases: s.aliases,
                    },
                ));
            }
        }
        // No stored value may hold a control character other than line
        // breaks and tabs (a quoted CSV cell may span lines): PostgreSQL
        // refuses NUL outright, and the rest only hide what a cell says.
        for row in &table.rows[header_index..] {
            for (i, cell) in row.cells.iter().enumerate() {
                if let Some(c) = cell
                    .chars()
                    .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                {
                    let name = header.cells.get(i).map(String::as_str).unwrap_or("");
                    errors.push(Issue::at(
                        Location::cell(table.kind, row.line, i, name),
                        IssueKind::ControlCharacter(c as u32),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok((
                Columns {
                    index,
                    kind: table.kind,
                    headers: header.cells.clone(),
                    first_data: header_index + 1,
                },
                warnings,
            ))
        } else {
            Err(errors)
        }
    }

    /// The rows below the header.
    pub fn data<'t>(&self, table: &'t Table) -> &'t [Row] {
        &table.rows[self.first_data.min(table.rows.len())..]
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
        assert_eq!(
            detect_delimiter("Fravær, januar\r\nenhet;fra;til\r\n1;1,5;2,5\r\n".as_bytes()),
            b';',
            "a title with a comma and decimal commas"
        );
        assert_eq!(detect_delimiter(b"Rapport; mars\na,b,c\n"), b',');
    }

    #[test]
    fn csv_lines_are_the_editors_lines_whatever_the_line_ends() {
        for (name, text) in [
            ("LF", "a,b\n\"one\ntwo\",x\n3,y\n"),
            ("CRLF", "a,b\r\n\"one\r\ntwo\",x\r\n3,y\r\n"),
            ("BOM CRLF", "\u{feff}a,b\r\n\"one\r\ntwo\",x\r\n3,y\r\n"),
            ("blank line CRLF", "a,b\r\n\r\n\"one\r\ntwo\",x\r\n3,y"),
        ] {
            let t = read("x.csv", text.as_bytes()).unwrap();
            let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
            let expected = if name.starts_with("blank") {
                vec![1, 3, 5]
            } else {
                vec![1, 2, 4]
            };
            assert_eq!(lines, expected, "{name}");
        }
    }

    #[test]
    fn a_file_that_is_not_utf8_names_the_editors_line() {
        let not_utf8 = read("x.csv", b"a;b\r\n1;2\r\n\xff;3\r\n").unwrap_err();
        assert_eq!(not_utf8[0].location, Some(Location::line(3)));
    }

    const SPECS: &[ColumnSpec] = &[
        ColumnSpec {
            name: "unit_code",
            aliases: &["enhetskode"],
            required: true,
        },
        ColumnSpec {
            name: "name",
            aliases: &["navn"],
            required: true,
        },
        ColumnSpec {
            name: "parent_code",
            aliases: &["overordnet"],
            required: false,
        },
    ];

    #[test]
    fn the_header_row_is_found_below_a_title() {
        let text = "Enhetsliste Fjordvik kommune per 01.11.2026;;\r\n;;\r\nenhetskode;overordnet;navn\r\n1000;;Fjordvik\r\n";
        let t = read("x.csv", text.as_bytes()).unwrap();
        let (cols, notes) = Columns::map(&t, SPECS).unwrap();
        assert_eq!(
            notes,
            vec![Issue::general(IssueKind::HeaderBelowTop { line: 3 })]
        );
        let data = cols.data(&t);
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].line, 4);
        assert_eq!(cols.get(&data[0], "name"), "Fjordvik");
    }

    #[test]
    fn a_file_without_a_header_names_what_was_looked_for() {
        let text = "Rapport\n1000;;Fjordvik\n1100;1000;Helse\n";
        let t = read("x.csv", text.as_bytes()).unwrap();
        let e = Columns::map(&t, SPECS).err().unwrap();
        assert_eq!(e.len(), 1);
        let msg = e[0].render(crate::lang::Lang::Nb);
        assert!(msg.contains("linje 1 til 3"), "{msg}");
        assert!(msg.contains("«unit_code» / «enhetskode»"), "{msg}");
        assert!(msg.contains("«name» / «navn»"), "{msg}");
        assert!(!msg.contains("overordnet"), "only required columns: {msg}");
    }

    #[test]
    fn a_misspelt_header_still_reports_the_missing_column_on_its_line() {
        let t = read("x.csv", b"Tittel\nenhetskode;nav\n1000;x\n").unwrap();
        let e = Columns::map(&t, SPECS).err().unwrap();
        assert_eq!(e[0].location, Some(Location::line(2)));
        assert!(matches!(
            e[0].kind,
            IssueKind::MissingColumn { name: "name", .. }
        ));
    }
}
