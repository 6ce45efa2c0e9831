//! `burnrate doctor`: checks the ledger, backs it up, and when it is damaged salvages what is
//! still readable into a fresh ledger, so a damaged file costs the unreadable rows, not the
//! sources, budgets, channels and assessments that "move it aside and sync again" lost.
//!
//! 1. `PRAGMA quick_check` and `PRAGMA integrity_check` on the ledger as it is.
//! 2. A copy through SQLite's online backup API next to it, `ledger.sqlite3.backup-<UTC time>`:
//!    a consistent snapshot even while another process writes (the copy of a damaged ledger is
//!    damaged too; it keeps the state before any repair).
//! 3. Damaged: a fresh ledger is made at the damaged one's schema version and filled table by
//!    table, row by row, with what can be read (see [`copy_table`]); rows whose parent row was
//!    lost (spend of a source that could not be read) are dropped or unlinked as the schema's
//!    foreign keys say; the roll-ups are rebuilt from the spend kept; the schema is brought up
//!    to date. The damaged file is renamed `ledger.sqlite3.damaged-<UTC time>` and the fresh
//!    one takes its place.
//!
//! Run it with the app and `burnrate watch` stopped: a process that keeps the damaged file
//! open keeps writing to it after it was moved aside.

use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OpenFlags};
use serde::Serialize;

use crate::api::Burnrate;
use crate::busy_timeout::busy_timeout;
use crate::db;
use crate::error::{Error, ErrorCode, Result};
use crate::ledger;

/// What the doctor found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    pub ledger: String,
    /// What `PRAGMA quick_check` said: `["ok"]` when sound.
    pub quick_check: Vec<String>,
    /// What `PRAGMA integrity_check` said (up to 100 problems): `["ok"]` when sound.
    pub integrity_check: Vec<String>,
    pub damaged: bool,
    /// The online backup made before anything else, when it could be made.
    pub backup: Option<String>,
    /// Why there is no backup.
    pub backup_error: Option<String>,
    /// Present when the ledger was damaged and what was readable was salvaged.
    pub salvage: Option<Salvage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Salvage {
    /// Where the damaged ledger is now.
    pub damaged_ledger: String,
    pub tables: Vec<TableSalvage>,
}

/// One table of a salvage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSalvage {
    pub table: String,
    /// Rows in the fresh ledger.
    pub kept: u64,
    /// Rows of the damaged ledger that could not be read; None when it cannot say how many
    /// there were (its count hits the damage too).
    pub lost: Option<u64>,
    /// Readable rows dropped (or unlinked) because the row they belong to was lost.
    pub orphaned: u64,
    /// Every row was read: nothing of this table was lost to the damage.
    pub complete: bool,
    /// A roll-up rebuilt from the spend kept rather than copied.
    pub rebuilt: bool,
}

/// Roll-ups are derived from `spend`: rebuilt, never copied (a copy could disagree with it).
const ROLLUPS: [&str; 2] = ["spend_daily", "spend_daily_key"];

impl Burnrate {
    /// Checks the ledger, backs it up, and salvages a damaged one (see [`crate::doctor`]).
    pub fn doctor(&self) -> Result<DoctorReport> {
        let path = self.paths.db_path();
        if !path.exists() {
            return Err(Error::invalid_input(format!(
                "there is no ledger at {} to check; pass --data-dir if it lives elsewhere",
                path.display()
            )));
        }
        let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ").to_string();
        let report = examine(&path, &stamp)?;
        tracing::info!(damaged = report.damaged, backup = ?report.backup, "doctor ran");
        Ok(report)
    }
}

/// Checks, backs up and, when damaged, salvages the ledger at `path`. `stamp` names the files
/// it leaves next to it.
pub fn examine(path: &Path, stamp: &str) -> Result<DoctorReport> {
    let damaged_conn = open_existing(path)?;
    let quick_check = check(&damaged_conn, "PRAGMA quick_check");
    let integrity_check = check(&damaged_conn, "PRAGMA integrity_check(100)");
    let damaged = quick_check != ["ok"] || integrity_check != ["ok"];

    let backup_path = unused_name(path, &format!("backup-{stamp}"));
    let (backup, backup_error) =
        match damaged_conn.backup(rusqlite::MAIN_DB, &backup_path, None::<fn(rusqlite::backup::Progress)>) {
            Ok(()) => (Some(backup_path.display().to_string()), None),
            Err(e) => {
                let _ = std::fs::remove_file(&backup_path);
                (None, Some(e.to_string()))
            }
        };

    let salvage = if damaged { Some(salvage(damaged_conn, path, stamp)?) } else { None };
    Ok(DoctorReport {
        ledger: path.display().to_string(),
        quick_check,
        integrity_check,
        damaged,
        backup,
        backup_error,
        salvage,
    })
}

fn open_existing(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy_timeout())?;
    Ok(conn)
}

/// The lines a check pragma returns, or why it could not run (that is damage too).
fn check(conn: &Connection, pragma: &str) -> Vec<String> {
    let lines = conn
        .prepare(pragma)
        .and_then(|mut stmt| stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>());
    match lines {
        Ok(lines) => lines,
        Err(e) => vec![format!("the check could not run: {e}")],
    }
}

/// `ledger.sqlite3.<suffix>`, or with `-2`, `-3`… when that exists (two runs in one second).
fn unused_name(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut candidate = path.with_file_name(format!("{name}.{suffix}"));
    let mut n = 2;
    while candidate.exists() || sidecar(&candidate, "-wal").exists() {
        candidate = path.with_file_name(format!("{name}.{suffix}-{n}"));
        n += 1;
    }
    candidate
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut os = path.as_os_str().to_owned();
    os.push(suffix);
    PathBuf::from(os)
}

fn salvage(damaged: Connection, path: &Path, stamp: &str) -> Result<Salvage> {
    let known = db::schema_version();
    let version = damaged.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap_or(known);
    if version > known {
        return Err(Error::new(
            ErrorCode::DbTooNew,
            format!(
                "this damaged ledger was written by a newer Burnrate (schema {version}, this build knows {known}); \
                 run that Burnrate's doctor. Nothing was changed"
            ),
        ));
    }
    // A version that cannot be read leaves the newest schema: its tables are the likeliest.
    let version = if version <= 0 { known } else { version };

    let fresh_path = unused_name(path, &format!("salvage-{stamp}"));
    let result = (|| -> Result<Vec<TableSalvage>> {
        let fresh = Connection::open(&fresh_path)?;
        // The damaged ledger's schema, so its rows fit column for column; brought up to date after.
        for (_, sql) in &db::MIGRATIONS[..version as usize] {
            fresh.execute_batch(sql)?;
        }
        fresh.execute_batch(&format!("PRAGMA user_version = {version}; PRAGMA foreign_keys = OFF;"))?;
        let tables: Vec<(String, bool)> = fresh
            .prepare(
                "SELECT name, sql LIKE '%WITHOUT ROWID%' FROM sqlite_master
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        fresh.execute_batch("BEGIN")?;
        let mut report = Vec::with_capacity(tables.len());
        for (table, without_rowid) in &tables {
            if ROLLUPS.contains(&table.as_str()) {
                report.push(TableSalvage {
                    table: table.clone(),
                    kept: 0,
                    lost: None,
                    orphaned: 0,
                    complete: true,
                    rebuilt: true,
                });
                continue;
            }
            report.push(copy_table(&damaged, &fresh, table, *without_rowid)?);
        }
        drop_orphans(&fresh, &mut report)?;
        fresh.execute_batch("COMMIT")?;
        drop(fresh);
        // The current schema, then roll-ups that agree with the spend kept.
        let mut fresh = db::open(&fresh_path)?;
        let tx = fresh.transaction()?;
        ledger::rebuild_all_rollups(&tx)?;
        tx.commit()?;
        for t in report.iter_mut() {
            t.kept = count(&fresh, &t.table).unwrap_or(t.kept);
        }
        let integrity = check(&fresh, "PRAGMA integrity_check");
        if integrity != ["ok"] {
            return Err(Error::internal(format!("the salvaged ledger failed its check: {}", integrity.join("; "))));
        }
        Ok(report)
    })();
    let tables = match result {
        Ok(tables) => tables,
        Err(e) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(sidecar(&fresh_path, suffix));
            }
            return Err(Error::new(
                e.code,
                format!("{}; the damaged ledger was left where it is, untouched", e.message()),
            ));
        }
    };
    drop(damaged);

    // The damaged file (with its write-ahead log, which belongs to it) aside, the fresh one in.
    let aside = unused_name(path, &format!("damaged-{stamp}"));
    let move_file = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|e| {
            Error::new(
                ErrorCode::DataDirUnwritable,
                format!(
                    "cannot move {} to {}: {e}; the salvaged ledger is {}",
                    from.display(),
                    to.display(),
                    fresh_path.display()
                ),
            )
        })
    };
    move_file(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let from = sidecar(path, suffix);
        if from.exists() {
            move_file(&from, &sidecar(&aside, suffix))?;
        }
    }
    move_file(&fresh_path, path)?;
    if sidecar(&fresh_path, "-wal").exists() {
        move_file(&sidecar(&fresh_path, "-wal"), &sidecar(path, "-wal"))?;
    }
    Ok(Salvage { damaged_ledger: aside.display().to_string(), tables })
}

fn count(conn: &Connection, table: &str) -> Option<u64> {
    conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get::<_, i64>(0)).ok().map(|n| n as u64)
}

/// Copies what can be read of `table` from `damaged` into `fresh`, row by row. A scan stops at
/// the first page it cannot read; a rowid table is then read on past it (from ever further
/// rowids until one is readable), and every table is also read from its end backwards, so the
/// rows after a damaged page are kept as well as those before it.
fn copy_table(damaged: &Connection, fresh: &Connection, table: &str, without_rowid: bool) -> Result<TableSalvage> {
    let info: Vec<(String, i64)> = fresh
        .prepare(&format!("SELECT name, pk FROM pragma_table_info('{table}') ORDER BY cid"))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let columns: Vec<String> = info.iter().map(|(name, _)| format!("\"{name}\"")).collect();
    let cols = columns.join(", ");
    let placeholders = vec!["?"; columns.len()].join(", ");
    let mut insert = fresh.prepare(&format!("INSERT OR IGNORE INTO \"{table}\" ({cols}) VALUES ({placeholders})"))?;
    let mut kept = 0u64;
    // A row that cannot be decoded, or no longer fits its table, is skipped; only a failure to
    // write the fresh ledger stops the salvage.
    let mut insert_row = |row: &rusqlite::Row<'_>, first: usize| -> Result<Copied> {
        let Ok(values) = (first..first + columns.len()).map(|i| row.get(i)).collect::<rusqlite::Result<Vec<Value>>>()
        else {
            return Ok(Copied::Skipped);
        };
        match insert.execute(params_from_iter(values)) {
            Ok(0) => Ok(Copied::AlreadyThere),
            Ok(_) => {
                kept += 1;
                Ok(Copied::Added)
            }
            Err(e) if is_write_error(&e) => Err(e.into()),
            Err(_) => Ok(Copied::Skipped),
        }
    };
    let mut complete = true;

    if without_rowid {
        let mut pk: Vec<(String, i64)> = info.iter().filter(|(_, pk)| *pk > 0).cloned().collect();
        pk.sort_by_key(|(_, n)| *n);
        let order = |dir: &str| pk.iter().map(|(c, _)| format!("\"{c}\" {dir}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {cols} FROM \"{table}\" ORDER BY {}", order("ASC"));
        if !scan(damaged, &sql, &[], |row| insert_row(row, 0).map(|_| true))? {
            complete = false;
            // From the end backwards, until a row the forward scan already kept.
            let sql = format!("SELECT {cols} FROM \"{table}\" ORDER BY {}", order("DESC"));
            scan(damaged, &sql, &[], |row| insert_row(row, 0).map(|c| c != Copied::AlreadyThere))?;
        }
    } else {
        let sql = format!("SELECT rowid, {cols} FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid");
        let (mut after, mut last_read, mut jump) = (i64::MIN, i64::MIN, 1i64);
        loop {
            let finished = scan(damaged, &sql, &[after], |row| {
                let rowid: i64 = row.get(0)?;
                (after, last_read, jump) = (rowid, rowid, 1);
                insert_row(row, 1).map(|_| true)
            })?;
            if finished {
                break;
            }
            complete = false;
            // Past the unreadable part: a little further each time it is still unreadable.
            match after.checked_add(jump) {
                Some(next) if jump < i64::MAX / 2 => (after, jump) = (next, jump * 2),
                _ => break,
            }
        }
        if !complete {
            let sql = format!("SELECT rowid, {cols} FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid DESC");
            scan(damaged, &sql, &[last_read], |row| insert_row(row, 1).map(|c| c != Copied::AlreadyThere))?;
        }
    }
    let had = count(damaged, table);
    let lost = match had {
        Some(had) if complete || had >= kept => Some(had.saturating_sub(kept)),
        _ => None,
    };
    Ok(TableSalvage { table: table.to_owned(), kept, lost, orphaned: 0, complete, rebuilt: false })
}

/// Runs `sql` over the damaged ledger, handing each row to `take` until it returns false.
/// Ok(true): the scan reached the end; Ok(false): it hit damage (or `take` stopped it). Only a
/// failure to write the fresh ledger is an error.
fn scan(
    damaged: &Connection,
    sql: &str,
    params: &[i64],
    mut take: impl FnMut(&rusqlite::Row<'_>) -> Result<bool>,
) -> Result<bool> {
    let Ok(mut stmt) = damaged.prepare(sql) else { return Ok(false) };
    let Ok(mut rows) = stmt.query(params_from_iter(params)) else { return Ok(false) };
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                if !take(row)? {
                    return Ok(false);
                }
            }
            Ok(None) => return Ok(true),
            Err(_) => return Ok(false),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copied {
    Added,
    /// The fresh ledger has it already (the other scan direction got there first).
    AlreadyThere,
    Skipped,
}

/// An error writing the fresh ledger (disk full, read-only) rather than reading the damaged one.
fn is_write_error(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
    )
}

/// Rows whose parent row was lost: dropped, or their reference cleared where the schema says
/// `ON DELETE SET NULL`, as deleting the parent would have. Repeated until nothing changes, since
/// dropping a row can orphan its own children.
fn drop_orphans(fresh: &Connection, report: &mut [TableSalvage]) -> Result<()> {
    loop {
        let mut changed = 0u64;
        for t in report.iter_mut().filter(|t| !t.rebuilt) {
            let fks: Vec<(i64, String, Option<String>, String, String)> = fresh
                .prepare(&format!(
                    "SELECT id, \"table\", \"to\", \"from\", on_delete FROM pragma_foreign_key_list('{}') ORDER BY id, seq",
                    t.table
                ))?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for fk in fks.chunk_by(|a, b| a.0 == b.0) {
                let parent = &fk[0].1;
                let parent_pk: Vec<String> = fresh
                    .prepare(&format!("SELECT name FROM pragma_table_info('{parent}') WHERE pk > 0 ORDER BY pk"))?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let pairs: Vec<(String, String)> = fk
                    .iter()
                    .enumerate()
                    .map(|(i, (_, _, to, from, _))| {
                        (
                            from.clone(),
                            to.clone().or_else(|| parent_pk.get(i).cloned()).unwrap_or_else(|| "rowid".into()),
                        )
                    })
                    .collect();
                let set = pairs.iter().map(|(c, _)| format!("\"{c}\" IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
                let matches = pairs
                    .iter()
                    .map(|(c, p)| format!("p.\"{p}\" = \"{}\".\"{c}\"", t.table))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let orphan = format!("{set} AND NOT EXISTS (SELECT 1 FROM \"{parent}\" p WHERE {matches})");
                let n = if fk[0].4.eq_ignore_ascii_case("SET NULL") {
                    let clear = pairs.iter().map(|(c, _)| format!("\"{c}\" = NULL")).collect::<Vec<_>>().join(", ");
                    fresh.execute(&format!("UPDATE \"{}\" SET {clear} WHERE {orphan}", t.table), [])?
                } else {
                    fresh.execute(&format!("DELETE FROM \"{}\" WHERE {orphan}", t.table), [])?
                };
                t.orphaned += n as u64;
                if !fk[0].4.eq_ignore_ascii_case("SET NULL") {
                    t.kept = t.kept.saturating_sub(n as u64);
                }
                changed += n as u64;
            }
        }
        if changed == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger_with_rows(dir: &Path) -> PathBuf {
        let path = dir.join("ledger.sqlite3");
        let conn = db::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO sources (id, name, provider, base_url, key_storage, key_env_var, created_at)
               VALUES (1, 'work', 'openai', 'http://x', 'env', 'K', 0), (2, 'home', 'openai', 'http://y', 'env', 'K', 0);
             INSERT INTO budgets (scope, source_id, period, amount_micros, currency, thresholds, created_at)
               VALUES ('total', NULL, 'month', 200000000, 'USD', '[50,80,100]', 0);",
        )
        .unwrap();
        let mut insert = conn
            .prepare(
                "INSERT INTO spend (source_id, key_id, bucket_start, bucket_width, currency, kind, amount_micros, fetched_at)
                 VALUES (?1, ?2, ?3, 'day', 'USD', 'billed', ?4, 0)",
            )
            .unwrap();
        for i in 0..3000i64 {
            insert
                .execute(rusqlite::params![
                    1 + i % 2,
                    format!("key-{:04}", i % 50),
                    1_772_323_200 + (i / 50) * 86_400,
                    i
                ])
                .unwrap();
        }
        drop(insert);
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2999)
             INSERT INTO balance_snapshots (id, source_id, key_id, taken_at, currency, balance_micros)
               SELECT i + 1, 1, 'k', i, 'USD', i FROM n;
             INSERT INTO spend_daily SELECT source_id, bucket_start, kind, key_id, model, currency, sum(amount_micros), NULL, NULL, NULL
               FROM spend GROUP BY 1, 2, 3, 4, 5, 6;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        path
    }

    #[test]
    fn a_sound_ledger_is_backed_up_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = ledger_with_rows(dir.path());
        let before = std::fs::read(&path).unwrap();
        let report = examine(&path, "20260302T120000Z").unwrap();
        assert!(!report.damaged, "{report:?}");
        assert_eq!(
            (report.quick_check.clone(), report.integrity_check.clone()),
            (vec!["ok".into()], vec!["ok".into()])
        );
        assert!(report.salvage.is_none());
        let backup = report.backup.unwrap();
        assert!(backup.ends_with("ledger.sqlite3.backup-20260302T120000Z"), "{backup}");
        let copy = Connection::open(&backup).unwrap();
        let n: i64 = copy.query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 3000);
        assert_eq!(std::fs::read(&path).unwrap(), before, "the ledger is untouched");
        // A second run in the same second does not overwrite the first backup.
        let again = examine(&path, "20260302T120000Z").unwrap();
        assert!(again.backup.unwrap().ends_with(".backup-20260302T120000Z-2"));
    }

    /// The page numbers of the children of an interior b-tree page (SQLite's file format 1.6).
    fn children(file: &[u8], page_size: usize, page: usize) -> Vec<usize> {
        let p = &file[(page - 1) * page_size..page * page_size];
        assert!(p[0] == 2 || p[0] == 5, "page {page} is not an interior page ({})", p[0]);
        let cells = u16::from_be_bytes([p[3], p[4]]) as usize;
        let mut out: Vec<usize> = (0..cells)
            .map(|i| {
                let at = u16::from_be_bytes([p[12 + 2 * i], p[13 + 2 * i]]) as usize;
                u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]) as usize
            })
            .collect();
        out.push(u32::from_be_bytes([p[8], p[9], p[10], p[11]]) as usize);
        out
    }

    /// Overwrites the leaf pages of `table` at these fractions of its leaves with garbage;
    /// returns how many leaves it has.
    fn damage_leaves(path: &Path, table: &str, at: &[f64]) -> usize {
        let root: i64 = Connection::open(path)
            .unwrap()
            .query_row("SELECT rootpage FROM sqlite_master WHERE name = ?1", [table], |r| r.get(0))
            .unwrap();
        let mut file = std::fs::read(path).unwrap();
        let page_size = u16::from_be_bytes([file[16], file[17]]) as usize;
        let leaves = children(&file, page_size, root as usize);
        for fraction in at {
            let victim = leaves[(leaves.len() as f64 * fraction) as usize];
            for b in &mut file[(victim - 1) * page_size..victim * page_size] {
                *b = 0xA5;
            }
        }
        std::fs::write(path, file).unwrap();
        leaves.len()
    }

    #[test]
    fn a_damaged_ledger_is_salvaged_table_by_table_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = ledger_with_rows(dir.path());
        let leaves = damage_leaves(&path, "spend", &[0.5]);
        assert!(leaves > 4, "spend spans {leaves} leaves");
        // Two damaged pages: the rows between them are reached by reading on past the first.
        let balance_leaves = damage_leaves(&path, "balance_snapshots", &[0.3, 0.7]);
        assert!(balance_leaves > 4, "balance_snapshots spans {balance_leaves} leaves");

        let report = examine(&path, "20260302T120000Z").unwrap();
        assert!(report.damaged, "{report:?}");
        assert_ne!(report.integrity_check, ["ok"]);
        let salvage = report.salvage.unwrap();
        assert!(salvage.damaged_ledger.ends_with("ledger.sqlite3.damaged-20260302T120000Z"));
        assert!(Path::new(&salvage.damaged_ledger).exists());
        let table = |name: &str| salvage.tables.iter().find(|t| t.table == name).unwrap().clone();
        assert_eq!((table("sources").kept, table("sources").lost, table("sources").complete), (2, Some(0), true));
        assert_eq!(table("budgets").kept, 1);
        let spend = table("spend");
        assert!(!spend.complete);
        assert!(spend.kept > 2500 && spend.kept < 3000, "one leaf of {leaves} lost: {spend:?}");
        assert!(table("spend_daily").rebuilt);
        let balances = table("balance_snapshots");
        assert!(!balances.complete);
        assert!(balances.kept > 2000 && balances.kept < 3000, "two leaves of {balance_leaves} lost: {balances:?}");
        // Its count comes from an intact index, so the loss is known exactly.
        assert_eq!(balances.lost, Some(3000 - balances.kept));

        let conn = db::open(&path).unwrap();
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok");
        let spend_rows: i64 = conn.query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
        assert_eq!(spend_rows as u64, spend.kept);
        let (spend_total, daily_total): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT sum(amount_micros) FROM spend), (SELECT sum(amount_micros) FROM spend_daily)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(spend_total, daily_total, "the roll-ups agree with the spend kept");
        // The rows before and after the damaged page are both there.
        let (first, last): (i64, i64) = conn
            .query_row("SELECT min(amount_micros), max(amount_micros) FROM spend", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((first, last), (0, 2999));
        let (first, last): (i64, i64) = conn
            .query_row("SELECT min(id), max(id) FROM balance_snapshots", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((first, last), (1, 3000));
        let between: i64 = conn
            .query_row("SELECT count(*) FROM balance_snapshots WHERE id BETWEEN 1200 AND 1800", [], |r| r.get(0))
            .unwrap();
        assert!(between > 400, "read on past the first damaged page by rowid: {between} of 601 between them");
    }

    #[test]
    fn rows_of_a_lost_source_are_dropped_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = ledger_with_rows(dir.path());
        let damaged = open_existing(&path).unwrap();
        let fresh_path = dir.path().join("fresh.sqlite3");
        let fresh = Connection::open(&fresh_path).unwrap();
        for (_, sql) in db::MIGRATIONS {
            fresh.execute_batch(sql).unwrap();
        }
        fresh.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        let mut report = vec![copy_table(&damaged, &fresh, "spend", true).unwrap()];
        fresh.execute("INSERT INTO sources (id, name, provider, base_url, key_storage, key_env_var, created_at) VALUES (1, 'work', 'openai', 'http://x', 'env', 'K', 0)", []).unwrap();
        drop_orphans(&fresh, &mut report).unwrap();
        assert_eq!((report[0].kept, report[0].orphaned), (1500, 1500), "source 2 was lost, and its spend with it");
    }
}
