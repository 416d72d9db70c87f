//! Tables as files: CSV and Excel workbooks. The results and the analysis
//! describe what their tables hold ([`Table`]); this writes them, the same
//! way for both: a header row, numbers as numbers (so a spreadsheet can sum
//! them), one sheet per table, and in CSV the tables one after another with
//! a blank line between.

use crate::AppError;

/// One table of a file.
pub struct Table<'a> {
    /// The sheet's name in a workbook.
    pub sheet: &'a str,
    pub header: &'a [&'a str],
    pub rows: Vec<Vec<String>>,
    /// Columns from this one on are written as numbers where they parse…
    pub numeric_from: usize,
    /// …except these, which are always text.
    pub text_columns: &'a [usize],
    /// Written even without rows (a header alone).
    pub keep_empty: bool,
}

impl Table<'_> {
    fn numeric(&self, column: usize) -> bool {
        column >= self.numeric_from && !self.text_columns.contains(&column)
    }

    fn written(&self) -> bool {
        self.keep_empty || !self.rows.is_empty()
    }
}

/// The tables as CSV, a blank line between them.
pub fn csv(tables: &[Table]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let err = |e: csv::Error| AppError::internal_by("writing CSV", e);
    for (i, t) in tables.iter().filter(|t| t.written()).enumerate() {
        if i > 0 {
            w.write_record([""]).map_err(err)?;
        }
        w.write_record(t.header).map_err(err)?;
        for row in &t.rows {
            w.write_record(row).map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| AppError::internal_by("writing CSV", e.into_error()))
}

/// The tables as an Excel workbook, one sheet each, the header in bold.
pub fn xlsx(tables: &[Table]) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal_by("writing XLSX", e);
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for t in tables.iter().filter(|t| t.written()) {
        let sheet = book.add_worksheet().set_name(t.sheet).map_err(err)?;
        for (c, h) in t.header.iter().enumerate() {
            sheet
                .write_with_format(0, c as u16, *h, &bold)
                .map_err(err)?;
        }
        for (i, row) in t.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (rr, cc) = (i as u32 + 1, c as u16);
                match v.parse::<f64>() {
                    Ok(x) if t.numeric(c) => sheet.write_number(rr, cc, x).map_err(err)?,
                    _ => sheet.write_string(rr, cc, v).map_err(err)?,
                };
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> Vec<Table<'static>> {
        vec![
            Table {
                sheet: "A",
                header: &["name", "n", "code"],
                rows: vec![vec!["x".into(), "3".into(), "0042".into()]],
                numeric_from: 1,
                text_columns: &[2],
                keep_empty: true,
            },
            Table {
                sheet: "B",
                header: &["q"],
                rows: vec![],
                numeric_from: 0,
                text_columns: &[],
                keep_empty: false,
            },
            Table {
                sheet: "C",
                header: &["v"],
                rows: vec![vec!["1,5".into()]],
                numeric_from: 0,
                text_columns: &[],
                keep_empty: false,
            },
        ]
    }

    #[test]
    fn csv_writes_the_tables_with_a_blank_line_between_and_skips_empty_ones() {
        let text = String::from_utf8(csv(&tables()).unwrap()).unwrap();
        assert_eq!(text, "name,n,code\nx,3,0042\n\"\"\nv\n\"1,5\"\n");
    }

    #[test]
    fn xlsx_has_a_sheet_per_written_table_with_numbers_as_numbers() {
        use calamine::{Data, Reader, Xlsx};
        let bytes = xlsx(&tables()).unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), ["A", "C"]);
        let a = book.worksheet_range("A").unwrap();
        assert_eq!(a.get((1, 1)), Some(&Data::Float(3.0)));
        assert_eq!(
            a.get((1, 2)),
            Some(&Data::String("0042".into())),
            "a text column"
        );
    }
}
