//! The one way Burnrate writes CSV (daily reports, ledger exports, incident dossiers), so that a
//! file opened in a spreadsheet shows what the ledger holds and runs nothing.
//!
//! Quoting is the `csv` crate's: a cell with a comma, quote, line feed or carriage return is
//! quoted and its quotes doubled. Spreadsheets also read a cell that begins with `=`, `+`, `-`,
//! `@`, a tab or a carriage return as a formula (`=HYPERLINK(…)`, DDE commands), and key,
//! model and project names come from providers and CSV files: every text cell that begins so
//! gets a leading `'`, which spreadsheets read as "this is text". Number cells are written as
//! they are, so a negative amount stays a number; whether a cell is text or a number is said
//! by the caller ([`Cell::text`], [`Cell::integer`], [`Cell::decimal`]), never guessed from its
//! content.

use std::borrow::Cow;

/// One cell of a row.
pub struct Cell<'a>(Cow<'a, str>);

/// The characters a spreadsheet acts on at the start of a cell (OWASP's list for CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

impl<'a> Cell<'a> {
    /// Text, such as a name: neutralised when a spreadsheet would read it as a formula.
    pub fn text(text: &'a str) -> Self {
        if text.starts_with(FORMULA_STARTS) {
            Cell(Cow::Owned(format!("'{text}")))
        } else {
            Cell(Cow::Borrowed(text))
        }
    }

    /// A whole number, such as a token count.
    pub fn integer(n: i64) -> Self {
        Cell(Cow::Owned(n.to_string()))
    }

    /// A whole number when there is one, an empty cell when it is unknown.
    pub fn opt_integer(n: Option<i64>) -> Self {
        n.map_or(Cell(Cow::Borrowed("")), Cell::integer)
    }

    /// A decimal as the ledger formats amounts (`-5.000000`). Anything that is not such a
    /// number is written as [`Cell::text`], so a mislabelled cell cannot carry a formula.
    pub fn decimal(number: &'a str) -> Self {
        if is_plain_decimal(number) {
            Cell(Cow::Borrowed(number))
        } else {
            Cell::text(number)
        }
    }
}

/// `-?digits(.digits)?`: what [`crate::money::format_micros`] writes.
fn is_plain_decimal(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    [whole, fraction].iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// A CSV document of `N` columns, built in memory: a header, then rows of exactly `N` cells
/// (the type checks the count).
pub struct CsvTable<const N: usize> {
    writer: csv::Writer<Vec<u8>>,
}

impl<const N: usize> CsvTable<N> {
    pub fn new(header: [&str; N]) -> Self {
        let mut table = CsvTable { writer: csv::WriterBuilder::new().from_writer(Vec::new()) };
        table.write(header);
        table
    }

    pub fn row(&mut self, cells: [Cell<'_>; N]) {
        self.write(cells.iter().map(|c| c.0.as_ref()));
    }

    fn write<'s>(&mut self, record: impl IntoIterator<Item = &'s str>) {
        self.writer.write_record(record).expect("writing CSV to memory cannot fail: every row has N cells");
    }

    pub fn finish(self) -> String {
        let bytes = self.writer.into_inner().expect("flushing CSV into memory cannot fail");
        String::from_utf8(bytes).expect("CSV made of &str cells is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: [&str; 7] = ["=HYPERLINK(\"http://x\")", "+cmd", "@SUM(A1)", "-2+3", "\tx", "a\rb", "a\"b,c"];

    fn read_back(text: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn hostile_text_cells_read_back_as_one_row_of_inert_text() {
        let mut table = CsvTable::new(["name", "amount"]);
        for name in HOSTILE {
            table.row([Cell::text(name), Cell::decimal("-5.000000")]);
        }
        let rows = read_back(&table.finish());
        assert_eq!(rows.len(), 1 + HOSTILE.len(), "{rows:?}");
        let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["'=HYPERLINK(\"http://x\")", "'+cmd", "'@SUM(A1)", "'-2+3", "'\tx", "a\rb", "a\"b,c"]);
        assert!(rows[1..].iter().all(|r| r.len() == 2 && r[1] == "-5.000000"));
    }

    #[test]
    fn a_lone_carriage_return_is_quoted_and_a_leading_one_neutralised() {
        let mut table = CsvTable::new(["a", "b"]);
        table.row([Cell::text("a\rb"), Cell::text("\rx")]);
        assert_eq!(table.finish(), "a,b\n\"a\rb\",\"'\rx\"\n");
    }

    #[test]
    fn numbers_are_written_as_numbers() {
        let mut table = CsvTable::new(["amount", "tokens", "unknown"]);
        table.row([Cell::decimal("-5.000000"), Cell::integer(-3), Cell::opt_integer(None)]);
        table.row([Cell::decimal("12"), Cell::opt_integer(Some(180_000)), Cell::text("")]);
        assert_eq!(table.finish(), "amount,tokens,unknown\n-5.000000,-3,\n12,180000,\n");
    }

    #[test]
    fn a_decimal_that_is_not_a_number_is_neutralised_text() {
        for (given, written) in [("-1+1", "'-1+1"), ("=1", "'=1"), ("-", "'-"), ("1.", "1."), ("-.5", "'-.5")] {
            assert_eq!(Cell::decimal(given).0, written, "{given}");
        }
    }
}
