//! Opening the ledger: pragmas, and append-only migrations embedded from `migrations/`.
//!
//! Durability: WAL with `synchronous=NORMAL` keeps every committed transaction across a
//! process kill (a power cut may lose the last one, never consistency). Each poll is written
//! in one transaction, so a kill at any moment leaves either all of a poll or none of it.
//!
//! Several processes share the ledger (the app, `burnrate watch`, a `sync` from a terminal).
//! Writers queue for SQLite's one write lock for [`busy_timeout`]. Every transaction opened
//! with `transaction()` on a connection from here takes that lock when it begins
//! (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later cannot wait
//! for it (SQLite fails it at once with "database is locked" when another process wrote
//! meanwhile, since its reads may be stale). Reads that need one consistent view take a
//! [`read_snapshot`] instead, which never blocks a writer. No transaction waits on the network.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::busy_timeout::busy_timeout;
use crate::error::{Error, ErrorCode, Result};

/// The schema, in order. `user_version` counts how many have been applied.
/// Append only: a shipped migration is never edited or removed.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_ledger", include_str!("../migrations/0001_ledger.sql")),
    ("0002_spend_daily", include_str!("../migrations/0002_spend_daily.sql")),
    ("0003_spend_daily_key", include_str!("../migrations/0003_spend_daily_key.sql")),
    ("0004_alerts", include_str!("../migrations/0004_alerts.sql")),
    ("0005_drop_spend_by_day", include_str!("../migrations/0005_drop_spend_by_day.sql")),
    ("0006_checklist", include_str!("../migrations/0006_checklist.sql")),
    ("0007_drift_and_terms_alerts", include_str!("../migrations/0007_drift_and_terms_alerts.sql")),
    ("0008_alert_channels", include_str!("../migrations/0008_alert_channels.sql")),
    ("0009_auto_disable", include_str!("../migrations/0009_auto_disable.sql")),
    ("0010_source_stale", include_str!("../migrations/0010_source_stale.sql")),
    ("0011_fx_rates", include_str!("../migrations/0011_fx_rates.sql")),
    ("0012_fx_sync_failure", include_str!("../migrations/0012_fx_sync_failure.sql")),
];

pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens (creating if needed) the ledger at `path` and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&mut conn)?;
    migrate(&conn)?;
    Ok(conn)
}

/// An in-memory ledger, for tests.
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&mut conn)?;
    migrate(&conn)?;
    Ok(conn)
}

/// A read-only transaction: the statements in it see the ledger as of its first read, so a
/// report of several statements never shows half of a poll another process is writing. It
/// takes no write lock and does not hold up writers. Commit (or drop) it when done reading.
pub fn read_snapshot(conn: &Connection) -> Result<Transaction<'_>> {
    Ok(Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?)
}

fn configure(conn: &mut Connection) -> Result<()> {
    let busy_timeout = busy_timeout();
    conn.busy_timeout(busy_timeout)?;
    conn.set_transaction_behavior(TransactionBehavior::Immediate);
    // journal_mode returns a row; query it rather than execute. Switching a new file to WAL
    // takes an exclusive lock and SQLite does not wait for it (no busy handler), so a second
    // process starting at the same moment retries for as long as the busy timeout.
    let mut waited = Duration::ZERO;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) && waited < busy_timeout => {
                std::thread::sleep(Duration::from_millis(20));
                waited += Duration::from_millis(20);
            }
            Err(e) => return Err(e.into()),
        }
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
    Ok(())
}

fn migrate(conn: &Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = schema_version();
    if current > known {
        return Err(Error::new(
            ErrorCode::DbTooNew,
            format!(
                "this ledger was written by a newer Burnrate (schema {current}, this build knows {known}); \
                 install the newer Burnrate, or point --data-dir at another directory"
            ),
        ));
    }
    if current == known {
        return Ok(());
    }
    // A migration that rebuilds a table (SQLite's 12-step ALTER) must not cascade its DROP into
    // the tables that reference it; the pragma only takes effect outside a transaction. The
    // references are checked before each commit instead.
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = MIGRATIONS.iter().enumerate().skip(current as usize).try_for_each(|(index, (name, sql))| {
        let version = index as i64 + 1;
        // Each migration and its version bump commit together, so a crash never leaves a
        // half-applied schema.
        let apply = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            // Another process may have applied it while this one waited for the write lock
            // (two Burnrates starting on a new data directory): read the version again under it.
            let now_at: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now_at >= version {
                return conn.execute_batch("COMMIT");
            }
            conn.execute_batch(&format!("{sql}\n; PRAGMA user_version = {version};"))?;
            let broken: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
            if broken > 0 {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!("{broken} rows would break a foreign key")),
                ));
            }
            conn.execute_batch("COMMIT")
        };
        apply().map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            let busy = matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            );
            if busy {
                // Another process held the ledger: say so, not that the migration is broken.
                Error::from(e)
            } else {
                Error::new(ErrorCode::Database, format!("migration {name} failed: {e}"))
            }
        })
    });
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}

/// The schema as SQLite reports it, for the snapshot test and for support.
pub fn schema_dump(conn: &Connection) -> Result<String> {
    let mut stmt = conn.prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(format!("-- {} {}\n{};\n", r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out = String::new();
    for row in rows {
        out.push_str(&row?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_matches_the_snapshot() {
        let conn = open_in_memory().unwrap();
        insta::assert_snapshot!(schema_dump(&conn).unwrap());
    }

    /// Two Burnrates starting on a new data directory (the app and `burnrate watch`, say) both
    /// find schema 0 and queue for the write lock; the second must not apply 0001 again.
    #[test]
    fn processes_opening_a_new_ledger_at_once_migrate_it_once() {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ledger.sqlite3");
            let start = std::sync::Arc::new(std::sync::Barrier::new(4));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        open(&path).map(|_| ()).map_err(|e| e.message().to_owned())
                    })
                })
                .collect();
            for t in threads {
                assert_eq!(t.join().unwrap(), Ok(()));
            }
            let version: i64 = open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(version, schema_version());
        }
    }

    /// A transaction that reads, then writes, while another process commits in between: a
    /// deferred one fails at its first write with "database is locked" (its reads may be
    /// stale, so SQLite cannot let it wait); one from `transaction()` here waits its turn.
    #[test]
    fn a_write_transaction_waits_for_another_writer_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        let mut holder = open(&path).unwrap();
        let mut waiter = open(&path).unwrap();
        let held = holder.transaction().unwrap();
        held.execute("INSERT INTO app_settings (name, value) VALUES ('held', '1')", []).unwrap();
        let writer = std::thread::spawn(move || -> Result<i64> {
            let tx = waiter.transaction()?;
            let before: i64 = tx.query_row("SELECT count(*) FROM app_settings", [], |r| r.get(0))?;
            tx.execute("INSERT INTO app_settings (name, value) VALUES ('waited', ?1)", [before])?;
            tx.commit()?;
            Ok(before)
        });
        std::thread::sleep(Duration::from_millis(300));
        held.commit().unwrap();
        assert_eq!(writer.join().unwrap().map_err(|e| e.message().to_owned()), Ok(1), "it saw the other's row");
    }

    /// Reading in a snapshot takes no write lock: a writer is not held up by a report.
    #[test]
    fn a_read_snapshot_does_not_block_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        let reader = open(&path).unwrap();
        let mut writer = open(&path).unwrap();
        writer.busy_timeout(Duration::ZERO).unwrap();
        let snapshot = read_snapshot(&reader).unwrap();
        let _: i64 = snapshot.query_row("SELECT count(*) FROM app_settings", [], |r| r.get(0)).unwrap();
        let tx = writer.transaction().unwrap();
        tx.execute("INSERT INTO app_settings (name, value) VALUES ('w', '1')", []).unwrap();
        tx.commit().unwrap();
        let seen: i64 = snapshot.query_row("SELECT count(*) FROM app_settings", [], |r| r.get(0)).unwrap();
        assert_eq!(seen, 0, "the snapshot keeps its view");
    }

    #[test]
    fn a_busy_ledger_says_another_burnrate_holds_it() {
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            let e = Error::from(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None));
            assert_eq!(e.code, ErrorCode::LedgerBusy);
            assert!(e.message().starts_with("another Burnrate process (the desktop app, `burnrate watch`"), "{e}");
            assert!(e.message().contains("and kept it for over "), "{e}");
        }
    }

    #[test]
    fn opening_twice_is_a_no_op_and_pragmas_hold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        drop(open(&path).unwrap());
        let conn = open(&path).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, schema_version());
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        drop(open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA user_version = 99").unwrap();
        }
        let e = open(&path).unwrap_err();
        assert_eq!(e.code, ErrorCode::DbTooNew);
        assert!(e.message().contains("newer Burnrate"));
        let c = Connection::open(&path).unwrap();
        let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 99);
    }

    #[test]
    fn upgrading_a_version_1_ledger_backfills_the_daily_rollup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0].1).unwrap();
            c.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO sources (id, name, provider, base_url, key_storage, key_env_var, created_at)
                   VALUES (1, 'a', 'openai', 'http://x', 'env', 'K', 0);
                 INSERT INTO spend (source_id, key_id, bucket_start, bucket_width, currency, kind, amount_micros, fetched_at)
                   VALUES (1, 'k', 1772323200, 'hour', 'USD', 'estimated', 5, 0),
                          (1, 'k', 1772326800, 'hour', 'USD', 'estimated', 7, 0);",
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let (day, amount): (i64, i64) =
            conn.query_row("SELECT day, amount_micros FROM spend_daily", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((day, amount), (1_772_323_200, 12));
    }

    /// 0010 rebuilds `alerts` again (a new kind): deliveries and actions keep their alert, and
    /// a channel that took every kind of its day takes kinds added later ("*"); a chosen subset stays.
    #[test]
    fn the_source_stale_kind_keeps_deliveries_and_widens_channels_that_took_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
            for (_, sql) in &MIGRATIONS[..9] {
                c.execute_batch(sql).unwrap();
            }
            c.execute_batch(
                r#"PRAGMA user_version = 9;
                 INSERT INTO sources (id, name, provider, base_url, key_storage, key_env_var, created_at)
                   VALUES (1, 'a', 'openai', 'http://x', 'env', 'K', 0);
                 INSERT INTO alerts (id, kind, dedupe_key, source_id, key_id, amount_micros, currency, estimated, title, body, fired_at)
                   VALUES (7, 'spike', 'spike:1:k:1', 1, 'k', 5, 'USD', 0, 'Spike', 'Body', 100);
                 INSERT INTO alert_channels (id, name, kind, secret_storage, target, alert_kinds, quiet_hours, created_at) VALUES
                   (1, 'all', 'exec', 'none', 'true', '["threshold","forecast","spike","price_drift","terms_changed"]', 0, 0),
                   (2, 'some', 'exec', 'none', 'true', '["spike","threshold"]', 0, 0);
                 INSERT INTO alert_deliveries (alert_id, channel_id, round, state, created_at, next_attempt_at)
                   VALUES (7, 1, 0, 'pending', 100, 100);"#,
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let kinds: Vec<String> = conn
            .prepare("SELECT alert_kinds FROM alert_channels ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(kinds, [r#"["*"]"#, r#"["spike","threshold"]"#]);
        let delivery: i64 = conn.query_row("SELECT alert_id FROM alert_deliveries", [], |r| r.get(0)).unwrap();
        assert_eq!(delivery, 7);
        conn.execute(
            "INSERT INTO alerts (kind, dedupe_key, amount_micros, currency, estimated, title, body, fired_at)
             VALUES ('source_stale', 'source_stale:1:0', 0, 'USD', 0, 't', 'b', 200)",
            [],
        )
        .unwrap();
    }

    #[test]
    fn rebuilding_the_alerts_table_keeps_alerts_and_the_actions_that_point_at_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
            for (_, sql) in &MIGRATIONS[..6] {
                c.execute_batch(sql).unwrap();
            }
            c.execute_batch(
                "PRAGMA user_version = 6;
                 INSERT INTO sources (id, name, provider, base_url, key_storage, key_env_var, created_at)
                   VALUES (1, 'a', 'openai', 'http://x', 'env', 'K', 0);
                 INSERT INTO alerts (id, kind, dedupe_key, source_id, key_id, amount_micros, currency, estimated, title, body, fired_at)
                   VALUES (7, 'spike', 'spike:1:k:1', 1, 'k', 5, 'USD', 0, 'Spike', 'Body', 100);
                 INSERT INTO key_actions (source_id, key_id, action, requested_at, ok, detail, alert_id)
                   VALUES (1, 'k', 'disable', 200, 1, 'done', 7);",
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let kept: (i64, String, Option<i64>) = conn
            .query_row("SELECT a.id, a.title, k.alert_id FROM alerts a, key_actions k", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(kept, (7, "Spike".to_owned(), Some(7)), "the DROP did not cascade into key_actions");
        let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(fk, "foreign keys are back on after migrating");
        conn.execute(
            "INSERT INTO alerts (kind, dedupe_key, amount_micros, currency, estimated, title, body, fired_at)
             VALUES ('price_drift', 'd', 1, 'USD', 0, 't', 'b', 1)",
            [],
        )
        .unwrap();
    }
}
