//! Source-stale alerts. A source that has not synced for [`STALE_AFTER_INTERVALS`] of its poll
//! intervals is no longer watched: a leak on its keys would go unseen. That is said once per
//! episode (until the source syncs again), on the desktop and to every channel that takes it.
//! One failed sync is not an episode: the tray shows it at once, but the alert waits for the
//! same two intervals, so a provider's passing hiccup never pages anyone.

use rusqlite::Connection;

use super::dto::AlertKind;
use super::store::{self, NewAlert};
use crate::days::ts_to_rfc3339;
use crate::error::Result;
use crate::providers::ProviderId;
use crate::tray_status::STALE_AFTER_INTERVALS;

struct Watched {
    id: i64,
    name: String,
    provider: ProviderId,
    created_at: i64,
    last_ok: Option<i64>,
    last_error: Option<String>,
}

fn watched_sources(conn: &Connection) -> Result<Vec<Watched>> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.name, s.provider, s.created_at,
                (SELECT max(finished_at) FROM sync_runs r WHERE r.source_id = s.id AND r.ok = 1),
                (SELECT r.error_message FROM sync_runs r WHERE r.source_id = s.id
                  ORDER BY r.finished_at DESC, r.id DESC LIMIT 1)
         FROM sources s ORDER BY s.name",
    )?;
    let rows = stmt.query_map([], |r| {
        let provider: String = r.get(2)?;
        Ok((r.get(0)?, r.get(1)?, provider, r.get(3)?, r.get(4)?, r.get(5)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, provider, created_at, last_ok, last_error) = row?;
        // An unknown provider id cannot poll; it is not watched, so it cannot go stale.
        let Ok(provider) = provider.parse::<ProviderId>() else { continue };
        out.push(Watched { id, name, provider, created_at, last_ok, last_error });
    }
    Ok(out)
}

/// Records a `source_stale` alert for each polled source that has gone two of its intervals
/// without a good sync (counted from when it was added if it never synced), unless this episode
/// was announced already. Returns the new alerts' ids.
pub fn record_stale_sources(conn: &Connection, now: i64) -> Result<Vec<i64>> {
    let mut fired = Vec::new();
    for s in watched_sources(conn)? {
        if s.provider.connector().is_none() {
            continue; // imported by hand (CSV): nothing polls it
        }
        let interval = s.provider.poll_interval().as_secs() as i64;
        let since = s.last_ok.unwrap_or(s.created_at);
        if now - since <= interval * i64::from(STALE_AFTER_INTERVALS) {
            continue;
        }
        let since_text = ts_to_rfc3339(since).replace('T', " ").replace('Z', " UTC");
        let first = match s.last_ok {
            Some(_) => format!("{} has not synced since {since_text}", s.name),
            None => format!("{} has never synced (added {since_text})", s.name),
        };
        let why = s.last_error.as_deref().map_or(String::new(), |e| format!(" The last attempt failed: {e}."));
        let alert = NewAlert {
            kind: AlertKind::SourceStale,
            // One per episode: the next one starts after a good sync.
            dedupe_key: format!("source_stale:{}:{since}", s.id),
            budget_id: None,
            source_id: Some(s.id),
            key_id: None,
            period_start: None,
            threshold_pct: None,
            amount_micros: 0,
            limit_micros: None,
            currency: "USD".into(),
            estimated: false,
            title: format!("Source {} stopped syncing", s.name),
            body: format!(
                "{first}, so the spend of its keys is not being watched.{why} Check its key with \
                 `burnrate source test {}` or Test connection in the app.",
                s.name
            ),
            details: serde_json::json!({
                "last_success": s.last_ok.map(ts_to_rfc3339),
                "poll_interval_seconds": interval,
                "last_error": s.last_error,
            }),
        };
        if let Some(id) = store::insert(conn, &alert, now)? {
            tracing::warn!(alert = id, source = %s.name, "source stale alert fired");
            fired.push(id);
        }
    }
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use rusqlite::params;

    const ADDED: i64 = 1_772_409_600; // 2026-03-02 00:00 UTC

    fn ledger() -> Connection {
        let conn = db::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO sources (id, name, provider, base_url, key_storage, key_env_var, created_at) VALUES
               (1, 'router', 'openrouter', 'https://openrouter.ai/api/v1', 'env', 'K', {ADDED}),
               (2, 'work', 'openai', 'https://api.openai.com/v1', 'env', 'K', {ADDED});"
        ))
        .unwrap();
        conn
    }

    fn run(conn: &Connection, source: i64, at: i64, ok: bool) {
        conn.execute(
            "INSERT INTO sync_runs (source_id, started_at, finished_at, window_from, window_to, ok, error_message)
             VALUES (?1, ?2, ?2, 0, 0, ?3, ?4)",
            params![source, at, ok, (!ok).then_some("OpenRouter rejected the key (HTTP 401)")],
        )
        .unwrap();
    }

    fn titles(conn: &Connection) -> Vec<String> {
        let mut stmt = conn.prepare("SELECT title FROM alerts WHERE kind = 'source_stale' ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn two_intervals_without_a_good_sync_is_one_alert_per_episode() {
        let conn = ledger();
        // OpenRouter polls every 10 minutes, OpenAI every 30: stale after 20 and 60 minutes.
        run(&conn, 1, ADDED + 60, true);
        run(&conn, 2, ADDED + 60, true);
        run(&conn, 1, ADDED + 600, false);
        assert!(record_stale_sources(&conn, ADDED + 60 + 1_200).unwrap().is_empty(), "one failure is not an episode");
        let fired = record_stale_sources(&conn, ADDED + 60 + 1_201).unwrap();
        assert_eq!(fired.len(), 1);
        let body: String = conn.query_row("SELECT body FROM alerts WHERE id = ?1", [fired[0]], |r| r.get(0)).unwrap();
        assert_eq!(
            body,
            "router has not synced since 2026-03-02 00:01:00 UTC, so the spend of its keys is not being watched. \
             The last attempt failed: OpenRouter rejected the key (HTTP 401). Check its key with \
             `burnrate source test router` or Test connection in the app."
        );
        assert!(record_stale_sources(&conn, ADDED + 7_200).unwrap().len() == 1, "then OpenAI's 60 minutes pass");
        assert!(record_stale_sources(&conn, ADDED + 9_000).unwrap().is_empty(), "each episode once");
        // A good sync ends the episode; going quiet again is a new one.
        run(&conn, 1, ADDED + 10_000, true);
        assert!(record_stale_sources(&conn, ADDED + 10_100).unwrap().is_empty());
        assert_eq!(record_stale_sources(&conn, ADDED + 11_201).unwrap().len(), 1);
        assert_eq!(
            titles(&conn),
            ["Source router stopped syncing", "Source work stopped syncing", "Source router stopped syncing"]
        );
    }

    #[test]
    fn a_source_that_never_synced_is_stale_two_intervals_after_it_was_added() {
        let conn = ledger();
        assert!(record_stale_sources(&conn, ADDED + 1_200).unwrap().is_empty());
        let fired = record_stale_sources(&conn, ADDED + 1_201).unwrap();
        assert_eq!(fired.len(), 1);
        let body: String = conn.query_row("SELECT body FROM alerts WHERE id = ?1", [fired[0]], |r| r.get(0)).unwrap();
        assert!(body.starts_with("router has never synced (added 2026-03-02 00:00:00 UTC)"), "{body}");
    }

    #[test]
    fn channels_that_take_every_kind_hear_of_it_and_the_others_do_not() {
        let conn = ledger();
        conn.execute_batch(
            "INSERT INTO alert_channels (id, name, kind, secret_storage, target, alert_kinds, quiet_hours, created_at) VALUES
               (1, 'everything', 'exec', 'none', 'true', '[\"*\"]', 0, 0),
               (2, 'spikes only', 'exec', 'none', 'true', '[\"spike\"]', 0, 0);",
        )
        .unwrap();
        let fired = record_stale_sources(&conn, ADDED + 1_201).unwrap();
        let channels: Vec<i64> = conn
            .prepare("SELECT channel_id FROM alert_deliveries WHERE alert_id = ?1")
            .unwrap()
            .query_map([fired[0]], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(channels, [1]);
    }
}
