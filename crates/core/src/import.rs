//! Daily spend imported from CSV files into an existing source: Burnrate's generic format, the
//! OpenAI dashboard's cost export and the Claude Console's cost export. See docs/import-csv.md.
//!
//! The whole file is parsed before the ledger is touched; any problem (bad quoting, a wrong
//! column count, a bad amount, day or currency, an empty file) names its line and column and
//! nothing is written. Like a sync, a file *replaces* that source's rows of each kind it
//! contains on the days it has lines of that kind (earlier imports or synced rows alike), so
//! importing the same file twice never adds. Only those days: a file with lines in 2020 and
//! 2030 leaves the years between alone. What would be replaced is counted before anything is
//! (see [`write`] and its dry run), including billed rows a sync wrote, which the user is told.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::days::{day_start, ts_to_day};
use crate::error::{Error, ErrorCode, Result};
use crate::ledger::{self};
use crate::money::{parse_micros, Currency};
use crate::poll::SpendKind;
use crate::poll::{BucketWidth, KeyRecord, SpendRow, SpendWindow};

/// The CSV layouts Burnrate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum CsvFormat {
    /// `day, amount, currency[, key_id, key_name, model, kind]`.
    Generic,
    /// platform.openai.com → Usage → Cost → Export: one row per UTC day (and project, key, line
    /// item when grouped), `amount_value` in `amount_currency`.
    Openai,
    /// Claude Console → Cost → Export: one row per UTC day, model, key and token type, `cost_usd`
    /// in US dollars.
    Anthropic,
}

impl CsvFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            CsvFormat::Generic => "generic",
            CsvFormat::Openai => "openai",
            CsvFormat::Anthropic => "anthropic",
        }
    }
}

impl fmt::Display for CsvFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CsvFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "generic" => Ok(CsvFormat::Generic),
            "openai" => Ok(CsvFormat::Openai),
            "anthropic" => Ok(CsvFormat::Anthropic),
            other => {
                Err(Error::invalid_input(format!("{other:?} is not a CSV format; use generic, openai or anthropic")))
            }
        }
    }
}

/// The largest file an import reads (a year of per-key, per-model rows is a few megabytes).
pub const MAX_FILE_BYTES: usize = 100 * 1024 * 1024;

/// Reads `reader` to its end but never more than `limit + 1` bytes: stdin, a FIFO or a device
/// such as `/dev/zero` has no size to check beforehand, and an endless input must be refused
/// with the same "too large" error as a big file, not read until memory runs out.
pub fn read_capped(reader: impl std::io::Read, limit: usize) -> Result<Vec<u8>> {
    read_capped_named(reader, limit, "the input")
}

/// [`read_capped`], with the file's name (`what`) in the errors.
pub fn read_capped_named(reader: impl std::io::Read, limit: usize, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::invalid_input(format!("cannot read {what}: {e}")))?;
    if data.len() > limit {
        return Err(too_large(what, limit));
    }
    Ok(data)
}

/// The error for an import over `limit` bytes, naming the limit and what to do instead.
pub fn too_large(what: &str, limit: usize) -> Error {
    let limit = if limit >= 1024 * 1024 { format!("{} MB", limit / (1024 * 1024)) } else { format!("{limit} bytes") };
    Error::invalid_input(format!(
        "{what} is larger than {limit}; Burnrate imports files up to {limit}. Export a shorter date range and import each part"
    ))
}

/// What an import wrote, or in a dry run would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ImportSummary {
    pub source: String,
    pub format: CsvFormat,
    /// Data lines read from the file.
    #[ts(type = "number")]
    pub lines: usize,
    /// Ledger rows written (lines of the same day, key, model, project and currency are summed).
    #[ts(type = "number")]
    pub rows_written: i64,
    /// The file's first and last UTC day, `YYYY-MM-DD`. Only the days in `replaced` are
    /// replaced: days between them without a line are left alone.
    pub from: String,
    pub to: String,
    /// The kinds replaced on those days: `billed` and/or `estimated`.
    pub kinds: Vec<SpendKind>,
    /// True: nothing was written; the counts say what the import would do.
    pub dry_run: bool,
    /// UTC days the file has lines on, whose rows of those kinds it replaces (a day with both
    /// kinds counts once).
    pub days: u32,
    /// Ledger rows replaced by the file's, whoever wrote them.
    #[ts(type = "number")]
    pub rows_replaced: i64,
    /// Of those, billed rows a sync wrote: a provider's bill that gives way to the file.
    #[ts(type = "number")]
    pub synced_billed_rows_replaced: i64,
    /// Per run of consecutive days and kind, oldest first.
    pub replaced: Vec<ReplacedDays>,
}

/// One run of consecutive UTC days of one kind that an import replaces, and what it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ReplacedDays {
    pub kind: SpendKind,
    /// Inclusive UTC days, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub days: u32,
    /// Ledger rows the file has on these days, after summing lines of one bucket.
    #[ts(type = "number")]
    pub rows_imported: i64,
    /// Ledger rows of this source and kind on these days before the import; all are replaced.
    #[ts(type = "number")]
    pub rows_replaced: i64,
    /// Of those, rows a sync wrote (the rest came from earlier imports).
    #[ts(type = "number")]
    pub synced_rows_replaced: i64,
}

/// A parsed file, ready to write.
#[derive(Debug, Clone)]
pub struct ParsedCsv {
    pub lines: usize,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub keys: Vec<KeyRecord>,
    /// One window per run of consecutive days of one kind the file has lines on.
    pub windows: Vec<SpendWindow>,
}

/// Column names of one format: required ones, and optional ones (looked up when present).
struct Layout {
    required: &'static [&'static str],
}

fn layout(format: CsvFormat) -> Layout {
    match format {
        CsvFormat::Generic => Layout { required: &["day", "amount", "currency"] },
        // `start_time` (Unix seconds) or `start_time_iso`; checked separately.
        CsvFormat::Openai => Layout { required: &["amount_value", "amount_currency"] },
        CsvFormat::Anthropic => Layout { required: &["usage_date_utc", "cost_usd"] },
    }
}

/// Parses the whole file. Nothing is written: errors name the line and column.
pub fn parse(format: CsvFormat, data: &[u8]) -> Result<ParsedCsv> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data); // spreadsheet BOM
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("the file is empty; nothing was imported"));
    }
    check_quotes(data)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(data);
    let header: Vec<String> =
        reader.headers().map_err(csv_error)?.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let missing: Vec<&str> = layout(format).required.iter().copied().filter(|c| col(c).is_none()).collect();
    let no_start = format == CsvFormat::Openai && col("start_time").is_none() && col("start_time_iso").is_none();
    if !missing.is_empty() || no_start {
        let mut need: Vec<&str> = missing;
        if no_start {
            need.insert(0, "start_time");
        }
        return Err(bad(format!(
            "line 1: the {format} format needs the column{} {}; this file has: {}",
            if need.len() == 1 { "" } else { "s" },
            need.join(", "),
            header.join(", ")
        )));
    }

    // Per kind, every day the file has a line of that kind on (a line without an amount too:
    // it says the day had no cost) and that day's rows.
    let mut days: BTreeMap<SpendKind, BTreeMap<NaiveDate, Vec<SpendRow>>> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let (mut first, mut last): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    let mut lines = 0;
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cell = |name: &str| col(name).and_then(|i| record.get(i)).unwrap_or("");
        let at = |name: &str, what: String| bad(format!("line {line}, column {name}: {what}"));
        lines += 1;

        let parsed = match format {
            CsvFormat::Generic => {
                let day = parse_day_cell(cell("day")).ok_or_else(|| at("day", not_a_day(cell("day"))))?;
                let amount = amount_cell(cell("amount")).ok_or_else(|| at("amount", not_an_amount(cell("amount"))))?;
                let currency =
                    currency_cell(cell("currency")).ok_or_else(|| at("currency", not_a_currency(cell("currency"))))?;
                let kind = match cell("kind").to_ascii_lowercase().as_str() {
                    "" | "billed" => SpendKind::Billed,
                    "estimated" => SpendKind::Estimated,
                    other => return Err(at("kind", format!("{other:?} is not billed or estimated"))),
                };
                let (id, name) = (cell("key_id"), cell("key_name"));
                let key_id = if id.is_empty() { name } else { id };
                Line {
                    day,
                    kind,
                    amount: Some((amount, currency)),
                    key_id,
                    key_name: name,
                    model: cell("model"),
                    project: "",
                }
            }
            CsvFormat::Openai => {
                let day = match (cell("start_time"), cell("start_time_iso")) {
                    ("", iso) => {
                        iso.get(..10).and_then(parse_day_cell).ok_or_else(|| at("start_time_iso", not_a_day(iso)))?
                    }
                    (secs, _) => secs
                        .parse::<i64>()
                        .ok()
                        .and_then(|s| DateTime::from_timestamp(s, 0))
                        .map(|t| t.date_naive())
                        .ok_or_else(|| at("start_time", format!("{secs:?} is not a time in Unix seconds")))?,
                };
                // Days without cost come as rows with every other field empty.
                let amount = match cell("amount_value") {
                    "" => None,
                    text => {
                        let amount = amount_cell(text).ok_or_else(|| at("amount_value", not_an_amount(text)))?;
                        let c = cell("amount_currency");
                        let currency = currency_cell(c).ok_or_else(|| at("amount_currency", not_a_currency(c)))?;
                        Some((amount, currency))
                    }
                };
                let key = cell("api_key_id");
                Line {
                    day,
                    kind: SpendKind::Billed,
                    amount,
                    key_id: key,
                    key_name: "",
                    model: "",
                    project: cell("project_id"),
                }
            }
            CsvFormat::Anthropic => {
                let d = cell("usage_date_utc");
                let day = parse_day_cell(d).ok_or_else(|| at("usage_date_utc", not_a_day(d)))?;
                let amount =
                    amount_cell(cell("cost_usd")).ok_or_else(|| at("cost_usd", not_an_amount(cell("cost_usd"))))?;
                let (id, name) = (cell("api_key_id"), cell("api_key"));
                let key_id = if id.is_empty() { name } else { id };
                Line {
                    day,
                    kind: SpendKind::Billed,
                    amount: Some((amount, Currency::usd())),
                    key_id,
                    key_name: name,
                    model: cell("model"),
                    project: cell("workspace"),
                }
            }
        };

        first = Some(first.map_or(parsed.day, |f| f.min(parsed.day)));
        last = Some(last.map_or(parsed.day, |l| l.max(parsed.day)));
        let rows = days.entry(parsed.kind).or_default().entry(parsed.day).or_default();
        if !parsed.key_id.is_empty() && !parsed.key_name.is_empty() {
            names.insert(parsed.key_id.to_owned(), parsed.key_name.to_owned());
        }
        if let Some((amount_micros, currency)) = parsed.amount {
            rows.push(SpendRow {
                key_id: parsed.key_id.to_owned(),
                model: parsed.model.to_owned(),
                project: parsed.project.to_owned(),
                bucket_start: day_start(parsed.day),
                currency,
                amount_micros,
                input_tokens: None,
                output_tokens: None,
                requests: None,
            });
        }
    }
    let (Some(from), Some(to)) = (first, last) else {
        return Err(bad("the file has a header but no rows; nothing was imported"));
    };
    let windows = days.into_iter().flat_map(|(kind, days)| windows_of_runs(kind, days)).collect();
    let keys = names
        .into_iter()
        .map(|(id, name)| KeyRecord { provider_key_id: id, display_name: Some(name), ..Default::default() })
        .collect();
    Ok(ParsedCsv { lines, from, to, keys, windows })
}

/// One window per run of consecutive days, so a day the file has no line on is never replaced.
fn windows_of_runs(kind: SpendKind, days: BTreeMap<NaiveDate, Vec<SpendRow>>) -> Vec<SpendWindow> {
    let mut windows: Vec<SpendWindow> = Vec::new();
    for (day, rows) in days {
        let start = day_start(day);
        match windows.last_mut() {
            Some(w) if w.to == start => {
                w.to = start + 86_400;
                w.rows.extend(rows);
            }
            _ => windows.push(SpendWindow { width: BucketWidth::Day, kind, from: start, to: start + 86_400, rows }),
        }
    }
    windows
}

/// One data line, before it becomes a ledger row.
struct Line<'a> {
    day: NaiveDate,
    kind: SpendKind,
    /// None: a line that only says the day had no cost.
    amount: Option<(i64, Currency)>,
    key_id: &'a str,
    key_name: &'a str,
    model: &'a str,
    project: &'a str,
}

/// What [`write`] did, or in a dry run would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportEffect {
    /// Ledger rows written (none in a dry run, where it is the rows that would be).
    pub rows_written: i64,
    /// Distinct UTC days replaced, of any kind.
    pub days: u32,
    pub replaced: Vec<ReplacedDays>,
}

impl ImportEffect {
    pub fn rows_replaced(&self) -> i64 {
        self.replaced.iter().map(|r| r.rows_replaced).sum()
    }
    pub fn synced_billed_rows_replaced(&self) -> i64 {
        self.replaced.iter().filter(|r| r.kind == SpendKind::Billed).map(|r| r.synced_rows_replaced).sum()
    }
}

/// Writes a parsed file into `source_id` in one transaction: all of it or nothing. A dry run
/// does the same work and rolls it back, so its counts are exactly what the import would do
/// (including a refusal) and the ledger is left as it was.
pub fn write(
    conn: &mut Connection,
    source_id: i64,
    fetched_at: i64,
    parsed: &ParsedCsv,
    dry_run: bool,
) -> Result<ImportEffect> {
    let tx = conn.transaction()?;
    let mut replaced = Vec::with_capacity(parsed.windows.len());
    for w in &parsed.windows {
        let (from, to) = (ts_to_day(w.from), ts_to_day(w.to - 86_400));
        // Day rows next to the same kind's hourly rows would count those days twice.
        let hourly: i64 = tx.query_row(
            "SELECT count(*) FROM spend WHERE source_id = ?1 AND kind = ?2 AND bucket_width = 'hour'
             AND bucket_start >= ?3 AND bucket_start < ?4",
            params![source_id, w.kind.as_str(), w.from, w.to],
            |r| r.get(0),
        )?;
        if hourly > 0 {
            return Err(Error::invalid_input(format!(
                "this source already has hourly {} spend on {from}..{to}; importing daily rows there would count it twice. \
                 Import into a source of its own instead",
                w.kind.as_str(),
            )));
        }
        // A row came from a sync when a successful sync of this source finished at the moment
        // it was fetched: a poll stamps its rows with its run's end, an import has no run.
        let (rows_replaced, synced_rows_replaced): (i64, i64) = tx.query_row(
            "SELECT count(*), coalesce(sum(EXISTS (SELECT 1 FROM sync_runs r WHERE r.source_id = s.source_id
                                                   AND r.ok = 1 AND r.finished_at = s.fetched_at)), 0)
             FROM spend s WHERE s.source_id = ?1 AND s.kind = ?2 AND s.bucket_width = 'day'
             AND s.bucket_start >= ?3 AND s.bucket_start < ?4",
            params![source_id, w.kind.as_str(), w.from, w.to],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        replaced.push(ReplacedDays {
            kind: w.kind,
            from: from.to_string(),
            to: to.to_string(),
            days: ((w.to - w.from) / 86_400) as u32,
            rows_imported: 0,
            rows_replaced,
            synced_rows_replaced,
        });
    }
    let rows_written = ledger::write_windows(&tx, source_id, fetched_at, &parsed.keys, &parsed.windows)?;
    for (w, r) in parsed.windows.iter().zip(&mut replaced) {
        r.rows_imported = tx.query_row(
            "SELECT count(*) FROM spend WHERE source_id = ?1 AND kind = ?2 AND bucket_width = 'day'
             AND bucket_start >= ?3 AND bucket_start < ?4",
            params![source_id, w.kind.as_str(), w.from, w.to],
            |row| row.get(0),
        )?;
    }
    replaced.sort_by(|a, b| (&a.from, a.kind).cmp(&(&b.from, b.kind)));
    let days: BTreeSet<i64> = parsed.windows.iter().flat_map(|w| (w.from..w.to).step_by(86_400)).collect();
    if dry_run {
        tx.rollback()?;
    } else {
        tx.commit()?;
    }
    Ok(ImportEffect { rows_written, days: days.len() as u32, replaced })
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidInput, message)
}

fn csv_error(e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} columns where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "the text is not UTF-8; save the file as UTF-8 CSV".to_owned(),
        _ => format!("unreadable CSV ({e})"),
    };
    match line {
        Some(line) => bad(format!("line {line}: {message}; nothing was imported")),
        None => bad(format!("{message}; nothing was imported")),
    }
}

/// A quote that is never closed makes the rest of the file one field, which the CSV reader
/// accepts; an odd number of quotes from some line on is that mistake.
fn check_quotes(data: &[u8]) -> Result<()> {
    let (mut line, mut open_at, mut open) = (1usize, 0usize, false);
    for &b in data {
        match b {
            b'"' => {
                open = !open;
                if open {
                    open_at = line;
                }
            }
            b'\n' => line += 1,
            _ => {}
        }
    }
    if open {
        return Err(bad(format!(
            "line {open_at}: a quote (\") is never closed, so the rest of the file would be one field; nothing was imported"
        )));
    }
    Ok(())
}

/// Exactly `YYYY-MM-DD`.
fn parse_day_cell(text: &str) -> Option<NaiveDate> {
    let ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    ok.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
}

/// A plain decimal (`12.5`, `-0.25`, `3`, `1e-3`): never a thousands separator or a decimal comma.
fn amount_cell(text: &str) -> Option<i64> {
    if text.is_empty() || text.contains(',') {
        return None;
    }
    parse_micros(text).ok()
}

fn currency_cell(text: &str) -> Option<Currency> {
    text.parse().ok()
}

fn not_a_day(text: &str) -> String {
    format!("{text:?} is not a day (YYYY-MM-DD)")
}

fn not_an_amount(text: &str) -> String {
    format!("{text:?} is not a decimal amount")
}

fn not_a_currency(text: &str) -> String {
    format!("{text:?} is not an ISO-4217 currency code such as USD")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days::{parse_day, DayRange};
    use crate::db;
    use crate::dto::Dimension;

    fn fixture(rel: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/csv").join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    fn err(format: CsvFormat, text: &str) -> String {
        let e = parse(format, text.as_bytes()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        e.message().to_owned()
    }

    fn rows(p: &ParsedCsv, kind: SpendKind) -> Vec<(String, &str, &str, &str, i64, &str)> {
        p.windows
            .iter()
            .filter(|w| w.kind == kind)
            .flat_map(|w| &w.rows)
            .map(|r| {
                let day = crate::days::ts_to_day(r.bucket_start).to_string();
                (day, r.key_id.as_str(), r.model.as_str(), r.project.as_str(), r.amount_micros, r.currency.as_str())
            })
            .collect()
    }

    #[test]
    fn read_capped_stops_one_byte_past_the_limit_of_an_endless_input() {
        // `repeat` never ends: reading it to exhaustion would hang and eat memory.
        let e = read_capped(std::io::repeat(b'x'), 1000).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(e.message().contains("up to 1000 bytes"), "{}", e.message());
        assert_eq!(read_capped(&[b'a'; 1000][..], 1000).unwrap().len(), 1000);
        assert!(read_capped(&[b'a'; 1001][..], 1000).is_err());
        assert!(too_large("x", MAX_FILE_BYTES).message().contains("up to 100 MB"));
    }

    #[test]
    fn generic_rows_with_quotes_kinds_and_key_names() {
        let text = "\u{feff}Day,Amount,Currency,key_id,key_name,model,kind\n\
                    2026-03-01,12.5,usd,key_1,\"Build, CI\",gpt-5,\n\
                    \n\
                    2026-03-03, -0.000001 ,CNY,,,,billed\n\
                    2026-03-02,1e-3,USD,,solo-name,claude-x,estimated\n";
        let p = parse(CsvFormat::Generic, text.as_bytes()).unwrap();
        assert_eq!((p.lines, p.from.to_string(), p.to.to_string()), (3, "2026-03-01".into(), "2026-03-03".into()));
        assert_eq!(
            rows(&p, SpendKind::Billed),
            vec![
                ("2026-03-01".into(), "key_1", "gpt-5", "", 12_500_000, "USD"),
                ("2026-03-03".into(), "", "", "", -1, "CNY"),
            ]
        );
        assert_eq!(
            rows(&p, SpendKind::Estimated),
            vec![("2026-03-02".into(), "solo-name", "claude-x", "", 1_000, "USD")]
        );
        let windows: Vec<(SpendKind, String, String)> = p
            .windows
            .iter()
            .map(|w| (w.kind, crate::days::ts_to_day(w.from).to_string(), crate::days::ts_to_day(w.to).to_string()))
            .collect();
        assert_eq!(
            windows,
            vec![
                (SpendKind::Billed, "2026-03-01".into(), "2026-03-02".into()),
                (SpendKind::Billed, "2026-03-03".into(), "2026-03-04".into()),
                (SpendKind::Estimated, "2026-03-02".into(), "2026-03-03".into()),
            ],
            "each kind's windows cover the days it has lines on, nothing between"
        );
        let names: Vec<(&str, &str)> =
            p.keys.iter().map(|k| (k.provider_key_id.as_str(), k.display_name.as_deref().unwrap())).collect();
        assert_eq!(names, vec![("key_1", "Build, CI"), ("solo-name", "solo-name")]);
    }

    #[test]
    fn every_corruption_names_its_line_and_column() {
        let h = "day,amount,currency\n";
        for (text, expected) in [
            ("", "the file is empty"),
            ("  \n\n", "the file is empty"),
            (h, "has a header but no rows"),
            (
                "day,amount\n2026-03-01,1\n",
                "line 1: the generic format needs the column currency; this file has: day, amount",
            ),
            (&format!("{h}2026-03-01,1,USD\n2026-03-02,1,USD,extra\n"), "line 3: 4 columns where the header has 3"),
            (&format!("{h}2026-03-01,1,USD\n2026-03-02,1\n"), "line 3: 2 columns where the header has 3"),
            (&format!("{h}2026-03-01,\"1,USD\n2026-03-02,1,USD\n"), "line 2: a quote (\") is never closed"),
            (
                &format!("{h}2026-03-01,1,USD\n2026-03-02,\"12,5\",USD\n"),
                "line 3, column amount: \"12,5\" is not a decimal amount",
            ),
            (&format!("{h}2026-03-01,1,USD\n2026-03-02,,USD\n"), "line 3, column amount: \"\" is not a decimal amount"),
            (&format!("{h}2026-03-01,1e999,USD\n"), "line 2, column amount: \"1e999\" is not a decimal amount"),
            (&format!("{h}2026-03-01,99999999999999999999,USD\n"), "line 2, column amount"),
            (&format!("{h}03/01/2026,1,USD\n"), "line 2, column day: \"03/01/2026\" is not a day (YYYY-MM-DD)"),
            (&format!("{h}2026-3-1,1,USD\n"), "line 2, column day: \"2026-3-1\" is not a day"),
            (&format!("{h}2026-02-30,1,USD\n"), "line 2, column day: \"2026-02-30\""),
            (&format!("{h}2026-03-01,1,dollars\n"), "line 2, column currency: \"dollars\" is not an ISO-4217"),
            (
                "day,amount,currency,kind\n2026-03-01,1,USD,guess\n",
                "line 2, column kind: \"guess\" is not billed or estimated",
            ),
        ] {
            let message = err(CsvFormat::Generic, text);
            assert!(message.contains(expected), "{text:?}: {message}");
        }
        let bytes = b"day,amount,currency\n2026-03-01,1,\xff\xfe\n";
        let e = parse(CsvFormat::Generic, bytes).unwrap_err();
        assert!(e.message().contains("line 2: the text is not UTF-8"), "{}", e.message());
    }

    #[test]
    fn openai_cost_export() {
        let p = parse(CsvFormat::Openai, &fixture("openai_costs.csv")).unwrap();
        assert_eq!((p.from.to_string(), p.to.to_string()), ("2026-03-01".into(), "2026-03-04".into()));
        // 2026-03-03 had no cost: its line only widens the window, so the day is cleared.
        assert_eq!(
            rows(&p, SpendKind::Billed),
            vec![
                ("2026-03-01".into(), "", "", "", 895_874, "USD"),
                ("2026-03-02".into(), "key_FAKEa1", "", "proj_FAKE1", 500_000, "USD"),
                ("2026-03-02".into(), "key_FAKEa1", "", "proj_FAKE1", 3_836, "USD"),
                ("2026-03-02".into(), "", "", "proj_FAKE2", 61_780, "USD"),
                ("2026-03-04".into(), "key_FAKEb2", "", "proj_FAKE2", 1_234_568, "USD"),
            ]
        );
        let e = err(CsvFormat::Openai, "amount_value,amount_currency\n1,usd\n");
        assert!(e.contains("needs the column start_time"), "{e}");
        let e = err(CsvFormat::Openai, "start_time,amount_value,amount_currency\n17x,1,usd\n");
        assert!(e.contains("line 2, column start_time: \"17x\" is not a time in Unix seconds"), "{e}");
    }

    #[test]
    fn anthropic_cost_export() {
        let p = parse(CsvFormat::Anthropic, &fixture("anthropic_cost.csv")).unwrap();
        assert_eq!((p.from.to_string(), p.to.to_string()), ("2026-03-01".into(), "2026-03-02".into()));
        assert_eq!(
            rows(&p, SpendKind::Billed),
            vec![
                ("2026-03-01".into(), "apikey_01FAKEAAA", "Claude Haiku 4.5", "Default", 50_000, "USD"),
                ("2026-03-01".into(), "apikey_01FAKEAAA", "Claude Haiku 4.5", "Default", 20_000, "USD"),
                ("2026-03-02".into(), "apikey_01FAKEAAA", "Claude Sonnet 4.5", "Default", 100_000, "USD"),
                ("2026-03-02".into(), "apikey_01FAKEBBB", "Claude Opus 4.5", "Research", 300_000, "USD"),
                ("2026-03-02".into(), "", "Claude Sonnet 4.5", "Default", 12_345, "USD"),
            ]
        );
        let names: Vec<&str> = p.keys.iter().map(|k| k.display_name.as_deref().unwrap()).collect();
        assert_eq!(names, vec!["fake-build", "fake-research"]);
        let e = err(CsvFormat::Anthropic, "usage_date_utc,model\n2026-03-01,x\n");
        assert!(e.contains("needs the column cost_usd"), "{e}");
    }

    fn source(conn: &Connection) -> i64 {
        conn.execute(
            "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, created_at) VALUES ('s', 'openai', 'http://x', 'env', 'K', 0)",
            [],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    fn report(conn: &Connection) -> Vec<(String, Option<String>, String)> {
        let range = DayRange::new(parse_day("2026-02-01").unwrap(), parse_day("2026-04-01").unwrap()).unwrap();
        ledger::daily_report(conn, &[Dimension::Key], range)
            .unwrap()
            .into_iter()
            .map(|r| (r.day, r.key_name, r.amount))
            .collect()
    }

    #[test]
    fn reimporting_replaces_the_files_days_only() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        let first = "day,amount,currency,key_id,key_name\n\
                     2026-03-01,1,USD,k1,first\n2026-03-01,2,USD,k1,first\n2026-03-02,3,USD,k2,\n2026-03-03,4,USD,k1,\n";
        let p = parse(CsvFormat::Generic, first.as_bytes()).unwrap();
        assert_eq!(write(&mut conn, id, 10, &p, false).unwrap().rows_written, 3, "two lines of one bucket are summed");
        write(&mut conn, id, 11, &p, false).unwrap();
        let expected = vec![
            ("2026-03-01".to_string(), Some("first".to_string()), "3.000000".to_string()),
            ("2026-03-02".into(), Some("k2".into()), "3.000000".into()),
            ("2026-03-03".into(), Some("first".into()), "4.000000".into()),
        ];
        assert_eq!(report(&conn), expected, "importing twice never adds");
        // A correction for 03-02 only: 03-01 and 03-03 keep their rows.
        let fix = parse(CsvFormat::Generic, b"day,amount,currency,key_id\n2026-03-02,0.5,USD,k1\n").unwrap();
        write(&mut conn, id, 12, &fix, false).unwrap();
        assert_eq!(
            report(&conn),
            vec![
                ("2026-03-01".to_string(), Some("first".to_string()), "3.000000".to_string()),
                ("2026-03-02".into(), Some("first".into()), "0.500000".into()),
                ("2026-03-03".into(), Some("first".into()), "4.000000".into()),
            ]
        );
        let runs: i64 = conn.query_row("SELECT count(*) FROM sync_runs", [], |r| r.get(0)).unwrap();
        assert_eq!(runs, 0, "an import is not a sync: incremental sync windows are unaffected");
    }

    #[test]
    fn daily_rows_are_refused_next_to_hourly_rows_of_the_same_kind() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn);
        conn.execute(
            "INSERT INTO spend (source_id, bucket_start, bucket_width, currency, kind, amount_micros, fetched_at)
             VALUES (?1, ?2, 'hour', 'USD', 'billed', 5, 0)",
            params![id, 1772323200 + 3600],
        )
        .unwrap();
        let p = parse(CsvFormat::Generic, b"day,amount,currency\n2026-03-01,1,USD\n").unwrap();
        let e = write(&mut conn, id, 1, &p, true).unwrap_err();
        assert!(e.message().contains("hourly billed spend on 2026-03-01..2026-03-01"), "a dry run refuses too");
        let e = write(&mut conn, id, 1, &p, false).unwrap_err();
        assert!(e.message().contains("hourly billed spend on 2026-03-01..2026-03-01"), "{}", e.message());
        let total: i64 = conn.query_row("SELECT sum(amount_micros) FROM spend", [], |r| r.get(0)).unwrap();
        assert_eq!(total, 5);
        // Estimated rows do not collide with billed hourly ones.
        let p = parse(CsvFormat::Generic, b"day,amount,currency,kind\n2026-03-01,1,USD,estimated\n").unwrap();
        write(&mut conn, id, 1, &p, false).unwrap();
    }

    /// A synced month of billed spend, then files reaching far around it: 2020 and 2030.
    fn synced_month(conn: &mut Connection) -> i64 {
        let id = source(conn);
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-31").unwrap()).unwrap();
        let rows = range
            .from
            .iter_days()
            .take(31)
            .enumerate()
            .map(|(i, day)| crate::poll::SpendRow {
                key_id: "k1".into(),
                model: String::new(),
                project: String::new(),
                bucket_start: crate::days::day_start(day),
                currency: Currency::usd(),
                amount_micros: 1_000_000 + i as i64,
                input_tokens: None,
                output_tokens: None,
                requests: None,
            })
            .collect();
        let poll = crate::poll::PollResult {
            windows: vec![SpendWindow {
                width: BucketWidth::Day,
                kind: SpendKind::Billed,
                from: range.start_ts(),
                to: range.end_ts(),
                rows,
            }],
            ..Default::default()
        };
        ledger::write_poll(conn, id, 100, 200, range, &poll).unwrap();
        id
    }

    fn ledger_dump(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        for table in ["spend", "spend_daily", "spend_daily_key", "api_keys", "sync_runs"] {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let cells: Vec<String> = (0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>();
                    Ok(format!("{table}: {}", cells.join(", ")))
                })
                .unwrap();
            out.extend(rows.map(Result::unwrap));
        }
        out.sort();
        out
    }

    #[test]
    fn a_file_dated_2020_and_2030_replaces_those_days_and_not_the_synced_years_between() {
        let mut conn = db::open_in_memory().unwrap();
        let id = synced_month(&mut conn);
        let synced_total = 31 * 1_000_000 + (0..31).sum::<i64>();
        let file = "day,amount,currency
2020-01-01,5,USD
2030-12-31,7,USD
";
        let p = parse(CsvFormat::Generic, file.as_bytes()).unwrap();
        let effect = write(&mut conn, id, 300, &p, false).unwrap();
        assert_eq!((effect.rows_written, effect.days, effect.rows_replaced()), (2, 2, 0));
        assert_eq!(effect.synced_billed_rows_replaced(), 0);
        let in_march: i64 = conn
            .query_row(
                "SELECT sum(amount_micros) FROM spend WHERE bucket_start >= ?1 AND bucket_start < ?2",
                params![1_772_323_200, 1_772_323_200 + 31 * 86_400],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(in_march, synced_total, "every synced day between the file's days is kept");
        let total: i64 = conn.query_row("SELECT sum(amount_micros) FROM spend", [], |r| r.get(0)).unwrap();
        assert_eq!(total, synced_total + 12_000_000);
    }

    #[test]
    fn replacing_synced_billed_days_is_counted_and_a_dry_run_writes_nothing() {
        let mut conn = db::open_in_memory().unwrap();
        let id = synced_month(&mut conn);
        // An earlier import on 03-10 (not a sync's rows), then a file over 03-09..03-11 and 03-20.
        let earlier = parse(
            CsvFormat::Generic,
            b"day,amount,currency,key_id
2026-03-10,1,USD,k9
",
        )
        .unwrap();
        write(&mut conn, id, 250, &earlier, false).unwrap();
        let file = "day,amount,currency,key_id,kind
                    2026-03-09,1,USD,k1,
2026-03-10,2,USD,k1,
2026-03-11,3,USD,k1,
2026-03-11,3,USD,k2,
                    2026-03-20,4,USD,k1,
2026-03-20,4,USD,k1,estimated
";
        let p = parse(CsvFormat::Generic, file.as_bytes()).unwrap();
        let before = ledger_dump(&conn);
        let preview = write(&mut conn, id, 300, &p, true).unwrap();
        assert_eq!(ledger_dump(&conn), before, "a dry run leaves the ledger as it was");
        let done = write(&mut conn, id, 300, &p, false).unwrap();
        assert_eq!(preview, done, "the dry run says exactly what the import does");
        assert_eq!((done.rows_written, done.days, done.rows_replaced()), (6, 4, 4));
        assert_eq!(
            done.synced_billed_rows_replaced(),
            3,
            "03-09, 03-11 and 03-20 came from the sync; 03-10 from a file"
        );
        let ranges: Vec<(SpendKind, &str, &str, u32, i64, i64, i64)> = done
            .replaced
            .iter()
            .map(|r| {
                (
                    r.kind,
                    r.from.as_str(),
                    r.to.as_str(),
                    r.days,
                    r.rows_imported,
                    r.rows_replaced,
                    r.synced_rows_replaced,
                )
            })
            .collect();
        assert_eq!(
            ranges,
            vec![
                (SpendKind::Billed, "2026-03-09", "2026-03-11", 3, 4, 3, 2),
                (SpendKind::Billed, "2026-03-20", "2026-03-20", 1, 1, 1, 1),
                (SpendKind::Estimated, "2026-03-20", "2026-03-20", 1, 1, 0, 0),
            ]
        );
    }
}
