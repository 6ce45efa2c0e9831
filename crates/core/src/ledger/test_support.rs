//! Small builders shared by the ledger's unit tests.

pub(super) use rusqlite::Connection;

pub(super) use super::write_poll;
pub(super) use crate::days::{day_start, parse_day, DayRange};
pub(super) use crate::db;
pub(super) use crate::money::Currency;
pub(super) use crate::poll::{BucketWidth, PollResult, SpendKind, SpendRow, SpendWindow};

pub(super) fn source(conn: &Connection, name: &str) -> i64 {
    conn.execute(
        "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, created_at) VALUES (?1, 'openai', 'http://x', 'env', 'K', 0)",
        [name],
    )
    .unwrap();
    conn.last_insert_rowid()
}

pub(super) fn row(day: &str, key: &str, micros: i64) -> SpendRow {
    SpendRow {
        key_id: key.into(),
        model: String::new(),
        project: String::new(),
        bucket_start: day_start(parse_day(day).unwrap()),
        currency: Currency::usd(),
        amount_micros: micros,
        input_tokens: None,
        output_tokens: None,
        requests: None,
    }
}

pub(super) fn poll(range: DayRange, rows: Vec<SpendRow>) -> PollResult {
    PollResult {
        windows: vec![SpendWindow {
            width: BucketWidth::Day,
            kind: SpendKind::Billed,
            from: range.start_ts(),
            to: range.end_ts(),
            rows,
        }],
        ..Default::default()
    }
}

pub(super) fn total(conn: &Connection) -> i64 {
    conn.query_row("SELECT coalesce(sum(amount_micros), 0) FROM spend", [], |r| r.get(0)).unwrap()
}
