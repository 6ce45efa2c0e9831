//! `GET /healthz`: whether the ledger can be read, and each source's last poll.

use rusqlite::Connection;
use serde::Serialize;

use crate::api::Burnrate;
use crate::days::ts_to_rfc3339;
use crate::error::Result;

/// One source as `/healthz` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceHealth {
    pub name: String,
    /// The source's latest poll succeeded (false before its first one).
    pub up: bool,
    /// When a poll of it last succeeded (RFC 3339), if ever.
    pub last_success: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub sources: Vec<SourceHealth>,
}

fn source_health(conn: &Connection) -> Result<Vec<SourceHealth>> {
    let tx = crate::db::read_snapshot(conn)?;
    let rows = {
        let mut stmt = tx.prepare(
            "SELECT s.name,
                    coalesce((SELECT r.ok FROM sync_runs r WHERE r.source_id = s.id
                               ORDER BY r.finished_at DESC, r.id DESC LIMIT 1), 0),
                    (SELECT max(r.finished_at) FROM sync_runs r WHERE r.source_id = s.id AND r.ok = 1)
             FROM sources s ORDER BY s.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceHealth {
                name: r.get(0)?,
                up: r.get(1)?,
                last_success: r.get::<_, Option<i64>>(2)?.map(ts_to_rfc3339),
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    tx.commit()?;
    Ok(rows)
}

impl Burnrate {
    /// The ledger is readable, and how each source's polling stands.
    pub fn health(&self) -> Result<Health> {
        Ok(Health { status: "ok", sources: source_health(&self.open()?)? })
    }
}
