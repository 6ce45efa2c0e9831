//! Auto-disable rules: adding, listing and removing them, and acting on the alerts they cover.

use rusqlite::{params, Connection, OptionalExtension};

use super::{AddAutoDisableRequest, AutoDisableRuleView, AutoDisableTrigger, AutoDisabled, DEFAULT_COOLDOWN_HOURS};
use crate::api::Burnrate;
use crate::days::ts_to_rfc3339;
use crate::error::{Error, ErrorCode, Result};
use crate::incident::DossierFormat;
use crate::key_actions;
use crate::notify::{Notice, NoticeUrgency};
use crate::providers::{disable_unsupported, DisableSupport};
use crate::sources::{self, Source};

const MAX_COOLDOWN_HOURS: u32 = 720;
/// Alerts older than this are history, not a leak to stop now (a run missed by a kill or a
/// sleeping laptop still acts within it).
const LOOKBACK_SECS: i64 = 86_400;

/// Why a source's keys cannot be switched off automatically, if they cannot.
fn refusal(source: &Source) -> Option<Error> {
    match source.provider.disable_support() {
        DisableSupport::Reversible => None,
        DisableSupport::Unsupported => Some(disable_unsupported(source.provider, &source.base_url)),
        DisableSupport::Irreversible => Some(Error::new(
            ErrorCode::Unsupported,
            format!(
                "{} cannot switch a key off, only delete it for good, so Burnrate never does it on its own; \
                 a spike alert on the key offers to delete it after you confirm",
                source.provider.label()
            ),
        )),
    }
}

const RULE_SELECT: &str = "SELECT r.id, s.name, s.provider, r.key_id, k.display_name, r.on_spike, r.on_budget,
        r.dry_run, r.cooldown_secs, r.created_at,
        (SELECT count(*) FROM key_actions a WHERE a.rule_id = r.id)
 FROM auto_disable_rules r JOIN sources s ON s.id = r.source_id
 LEFT JOIN api_keys k ON k.source_id = r.source_id AND k.provider_key_id = r.key_id";

fn rule_view(r: &rusqlite::Row<'_>) -> rusqlite::Result<AutoDisableRuleView> {
    let provider: String = r.get(2)?;
    let mut on = Vec::new();
    if r.get::<_, bool>(5)? {
        on.push(AutoDisableTrigger::Spike);
    }
    if r.get::<_, bool>(6)? {
        on.push(AutoDisableTrigger::Budget);
    }
    Ok(AutoDisableRuleView {
        id: r.get(0)?,
        source: r.get(1)?,
        provider: provider.parse().map_err(|e: Error| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        key_id: r.get(3)?,
        key_name: r.get(4)?,
        on,
        dry_run: r.get(7)?,
        cooldown_hours: (r.get::<_, i64>(8)? / 3600) as u32,
        created_at: ts_to_rfc3339(r.get(9)?),
        actions: r.get(10)?,
    })
}

fn rule(conn: &Connection, id: i64) -> Result<AutoDisableRuleView> {
    conn.query_row(&format!("{RULE_SELECT} WHERE r.id = ?1"), [id], rule_view).optional()?.ok_or_else(|| {
        Error::new(
            ErrorCode::AutoDisableNotFound,
            format!("there is no auto-disable rule #{id}; `burnrate auto-disable list` shows the rules"),
        )
    })
}

/// An alert a rule should act on now.
struct Candidate {
    rule_id: i64,
    source_name: String,
    key_id: String,
    alert_id: i64,
    alert_title: String,
    dry_run: bool,
}

/// Alerts of the last day that a rule covers, fired after the rule was made and after the
/// cooldown of the last automatic action on the key, with no automatic action yet. A rule for
/// the key comes before a rule for its whole source.
fn candidates(conn: &Connection, now: i64) -> Result<Vec<Candidate>> {
    let mut stmt = conn.prepare(
        "SELECT r.id, s.name, a.key_id, a.id, a.title, r.dry_run
         FROM auto_disable_rules r
         JOIN sources s ON s.id = r.source_id
         JOIN alerts a ON a.source_id = r.source_id AND a.key_id IS NOT NULL
              AND (r.key_id IS NULL OR r.key_id = a.key_id)
              AND ((r.on_spike = 1 AND a.kind = 'spike')
                   OR (r.on_budget = 1 AND a.kind = 'threshold' AND a.threshold_pct >= 100))
         WHERE a.fired_at >= r.created_at AND a.fired_at >= ?1
           AND NOT EXISTS (SELECT 1 FROM key_actions k WHERE k.rule_id IS NOT NULL
                           AND k.source_id = a.source_id AND k.key_id = a.key_id AND k.alert_id = a.id)
           AND NOT EXISTS (SELECT 1 FROM key_actions k WHERE k.rule_id IS NOT NULL
                           AND k.source_id = a.source_id AND k.key_id = a.key_id
                           AND a.fired_at < k.requested_at + r.cooldown_secs)
         ORDER BY a.fired_at, a.id, r.key_id IS NULL, r.id",
    )?;
    let rows = stmt.query_map([now - LOOKBACK_SECS], |r| {
        Ok(Candidate {
            rule_id: r.get(0)?,
            source_name: r.get(1)?,
            key_id: r.get(2)?,
            alert_id: r.get(3)?,
            alert_title: r.get(4)?,
            dry_run: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Burnrate {
    /// Adds a rule. Refused for sources whose provider cannot switch a key back on.
    pub fn add_auto_disable(&self, req: &AddAutoDisableRequest) -> Result<AutoDisableRuleView> {
        let conn = self.open()?;
        let source = sources::get(&conn, &req.source)?;
        if let Some(why) = refusal(&source) {
            return Err(why);
        }
        let key_id = req.key_id.as_deref().map(str::trim).filter(|k| !k.is_empty());
        if let Some(key_id) = key_id {
            key_actions::known_key(&conn, &source, key_id)?;
        }
        let on_spike = req.on.contains(&AutoDisableTrigger::Spike);
        let on_budget = req.on.contains(&AutoDisableTrigger::Budget);
        if !on_spike && !on_budget {
            return Err(Error::invalid_input("say when to act: on a spike, on a key budget reaching 100 %, or both"));
        }
        let hours = req.cooldown_hours.unwrap_or(DEFAULT_COOLDOWN_HOURS);
        if hours > MAX_COOLDOWN_HOURS {
            return Err(Error::invalid_input(format!(
                "a cooldown of {hours} hours is out of range; give 0 to {MAX_COOLDOWN_HOURS} hours"
            )));
        }
        let exists: bool = conn.query_row(
            "SELECT count(*) > 0 FROM auto_disable_rules WHERE source_id = ?1 AND key_id IS ?2",
            params![source.id, key_id],
            |r| r.get(0),
        )?;
        if exists {
            let what = key_id
                .map_or_else(|| format!("every key of {}", source.name), |k| format!("key {k} of {}", source.name));
            return Err(Error::invalid_input(format!(
                "{what} already has an auto-disable rule; remove it first (`burnrate auto-disable list` shows its id)"
            )));
        }
        conn.execute(
            "INSERT INTO auto_disable_rules (source_id, key_id, on_spike, on_budget, dry_run, cooldown_secs, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![source.id, key_id, on_spike, on_budget, req.dry_run, i64::from(hours) * 3600, self.clock.now().timestamp()],
        )?;
        let view = rule(&conn, conn.last_insert_rowid())?;
        tracing::info!(rule = view.id, source = %view.source, key_id = ?view.key_id, dry_run = view.dry_run, "auto-disable rule added");
        Ok(view)
    }

    pub fn list_auto_disable(&self) -> Result<Vec<AutoDisableRuleView>> {
        let conn = self.open()?;
        let mut stmt = conn.prepare(&format!("{RULE_SELECT} ORDER BY s.name, r.key_id IS NOT NULL, r.key_id"))?;
        let rows = stmt.query_map([], rule_view)?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Removes a rule; the actions it took stay recorded.
    pub fn remove_auto_disable(&self, id: i64) -> Result<()> {
        let conn = self.open()?;
        rule(&conn, id)?;
        conn.execute("DELETE FROM auto_disable_rules WHERE id = ?1", [id])?;
        tracing::info!(rule = id, "auto-disable rule removed");
        Ok(())
    }

    /// Acts on the alerts the rules cover (see the module documentation). Run after each
    /// alert evaluation; an action that fails at the provider is recorded and reported like one
    /// that succeeded, and is not retried for the same alert.
    pub async fn run_auto_disable(&self) -> Result<Vec<AutoDisabled>> {
        let mut conn = self.open()?;
        let now = self.clock.now().timestamp();
        let mut done = Vec::new();
        for c in candidates(&conn, now)? {
            let source = sources::get(&conn, &c.source_name)?;
            if refusal(&source).is_some() {
                // Rules are refused for these providers; a source is never re-pointed, but
                // stay safe if the ledger says otherwise.
                tracing::warn!(rule = c.rule_id, source = %source.name, "auto-disable skipped: the provider cannot re-enable keys");
                continue;
            }
            let row = key_actions::known_key(&conn, &source, &c.key_id).unwrap_or_default();
            let Some(id) =
                key_actions::begin(&conn, source.id, &c.key_id, now, Some(c.alert_id), Some((c.rule_id, c.dry_run)))?
            else {
                continue; // another process (or an earlier rule in this run) took it
            };
            let action = if c.dry_run {
                let key = key_actions::describe_key(&c.key_id, &row);
                let detail =
                    format!("dry run: would have disabled {key} at {}; nothing was sent", source.provider.label());
                key_actions::finish(&mut conn, id, source.id, &c.key_id, &Ok(detail))?;
                key_actions::get(&conn, id)?
            } else {
                let key = source.key(self.env.as_ref(), self.secrets.as_ref());
                match self.call_provider(&mut conn, &source, &c.key_id, &row, id, key).await {
                    Ok(action) => action,
                    Err(_) => key_actions::get(&conn, id)?, // recorded as failed; reported below
                }
            };
            let (dossier, dossier_error) =
                match self.export_incident(&source.name, &c.key_id, Some(c.alert_id), DossierFormat::Markdown) {
                    Ok(path) => (Some(path.display().to_string()), None),
                    Err(e) => (None, Some(e.message().to_owned())),
                };
            tracing::info!(
                rule = c.rule_id, source = %source.name, key_id = %c.key_id, alert = c.alert_id,
                action = action.id, dry_run = c.dry_run, ok = action.ok, "auto-disable acted"
            );
            let outcome = AutoDisabled {
                action_id: action.id,
                rule_id: c.rule_id,
                alert_id: c.alert_id,
                source: source.name.clone(),
                key_id: c.key_id.clone(),
                ok: action.ok,
                dry_run: action.dry_run,
                detail: action.detail,
                dossier,
                dossier_error,
            };
            self.announce_auto_disable(&source, &c, &row, &outcome);
            done.push(outcome);
        }
        Ok(done)
    }

    /// The desktop notification for an action: what was done, why, and how to undo it (the
    /// provider's answer says where the key is switched back on).
    fn announce_auto_disable(&self, source: &Source, c: &Candidate, row: &key_actions::KeyRow, outcome: &AutoDisabled) {
        let Some(notifier) = self.notifier.as_deref() else { return };
        let key = key_actions::describe_key(&c.key_id, row);
        let summary = if outcome.dry_run {
            format!("Dry run: Burnrate would have disabled {key} of {}", source.name)
        } else if outcome.ok {
            format!("Burnrate disabled {key} of {}", source.name)
        } else {
            format!("Burnrate could not disable {key} of {}", source.name)
        };
        let mut body = format!("After: {}.\n{}", c.alert_title, outcome.detail);
        if !outcome.ok {
            body.push_str(&format!("\nDisable it yourself at {}.", source.provider.revoke_help_at(&source.base_url)));
        }
        match (&outcome.dossier, &outcome.dossier_error) {
            (Some(path), _) => body.push_str(&format!("\nIncident report: {path}")),
            (None, Some(e)) => body.push_str(&format!("\nThe incident report could not be written: {e}")),
            (None, None) => {}
        }
        let notice = Notice {
            summary,
            body,
            open_target: Some(format!("key:{}/{}", source.name, c.key_id)),
            urgency: NoticeUrgency::Critical,
        };
        if let Err(e) = notifier.notify(&notice) {
            tracing::warn!(code = ?e.code, "the auto-disable notification could not be shown: {}", e.message());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db;
    use crate::key_actions::begin;

    /// Two processes can both find the same alert before either records an action (the
    /// candidates query and the insert are not one statement); the unique index decides.
    #[test]
    fn a_second_automatic_attempt_on_the_same_key_and_alert_is_not_recorded() {
        let conn = db::open_in_memory().unwrap();
        conn.execute_batch(
            "INSERT INTO sources (id, name, provider, base_url, key_storage, key_env_var, created_at)
                 VALUES (1, 'work', 'openrouter', 'https://openrouter.ai/api/v1', 'env', 'K', 0);
             INSERT INTO auto_disable_rules (id, source_id, key_id, on_spike, on_budget, dry_run, cooldown_secs, created_at)
                 VALUES (1, 1, NULL, 1, 0, 0, 0, 0), (2, 1, 'k', 1, 0, 0, 0, 0);
             INSERT INTO alerts (id, kind, dedupe_key, source_id, key_id, amount_micros, currency, estimated, title, body, fired_at)
                 VALUES (7, 'spike', 's', 1, 'k', 1, 'USD', 0, 't', 'b', 0), (8, 'spike', 's2', 1, 'k', 1, 'USD', 0, 't', 'b', 0);",
        )
        .unwrap();
        assert!(begin(&conn, 1, "k", 10, Some(7), Some((1, false))).unwrap().is_some());
        assert_eq!(begin(&conn, 1, "k", 11, Some(7), Some((2, false))).unwrap(), None, "another rule, same alert");
        assert_eq!(begin(&conn, 1, "k", 12, Some(7), Some((1, true))).unwrap(), None, "a dry run too");
        assert!(begin(&conn, 1, "k", 13, Some(8), Some((1, false))).unwrap().is_some(), "the next alert may act");
        // By hand, the user may try as often as they like.
        assert!(begin(&conn, 1, "k", 14, Some(7), None).unwrap().is_some());
        assert!(begin(&conn, 1, "k", 15, Some(7), None).unwrap().is_some());
    }
}
