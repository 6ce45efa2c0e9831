//! The record of every poll (`sync_runs`): when, which window, ok or why not.

use rusqlite::{params, Connection, OptionalExtension};

use crate::days::{ts_to_rfc3339, DayRange};
use crate::error::{ApiError, Error, ErrorCode, Result};

/// Records a failed poll. The ledger's data is untouched.
pub fn record_failure(
    conn: &Connection,
    source_id: i64,
    started_at: i64,
    finished_at: i64,
    range: DayRange,
    error: &Error,
) -> Result<()> {
    conn.execute(
        "INSERT INTO sync_runs (source_id, started_at, finished_at, window_from, window_to, ok, error_code, error_message)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
        params![
            source_id, started_at, finished_at, range.start_ts(), range.end_ts(),
            serde_json::to_value(error.code).ok().and_then(|v| v.as_str().map(str::to_owned)),
            error.message()
        ],
    )?;
    Ok(())
}

/// The latest run of a source, for status displays.
pub fn last_run(conn: &Connection, source_id: i64) -> Result<Option<crate::dto::SyncRunView>> {
    conn.query_row(
        "SELECT finished_at, ok, rows_written, error_code, error_message FROM sync_runs
         WHERE source_id = ?1 ORDER BY finished_at DESC, id DESC LIMIT 1",
        [source_id],
        |r| {
            let ok: bool = r.get(1)?;
            let code: Option<String> = r.get(3)?;
            let message: Option<String> = r.get(4)?;
            Ok(crate::dto::SyncRunView {
                finished_at: ts_to_rfc3339(r.get(0)?),
                ok,
                rows_written: r.get(2)?,
                error: (!ok).then(|| ApiError {
                    code: code
                        .and_then(|c| serde_json::from_value(serde_json::Value::String(c)).ok())
                        .unwrap_or(ErrorCode::Internal),
                    message: message.unwrap_or_default(),
                }),
            })
        },
    )
    .optional()
    .map_err(Into::into)
}

/// The end of the last successful window, to sync incrementally from there.
pub fn last_success_window_end(conn: &Connection, source_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT max(window_to) FROM sync_runs WHERE source_id = ?1 AND ok = 1", [source_id], |r| r.get(0))?)
}
