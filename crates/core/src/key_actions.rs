//! Acting on a spend spike: switching a provider key off through the provider's API, after the
//! user confirmed it, and the record of every attempt that reached the provider (`key_actions`),
//! successful or not. That record is what a user hands the provider with an incident dossier.
//!
//! What "disable" means differs per provider ([`DisableSupport`]): OpenRouter, LiteLLM and
//! Anthropic switch the key off and can switch it back on; OpenAI can only delete it, so the
//! caller must also acknowledge that it cannot be undone; the others have no such API and get an
//! error naming where to revoke the key by hand. Refusals before any request (unknown key,
//! missing confirmation, unsupported provider) are not recorded: nothing was done.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::Burnrate;
use crate::days::ts_to_rfc3339;
use crate::error::{Error, ErrorCode, Result};
use crate::providers::{disable_unsupported, DisableSupport, KeyActionContext, KeyTarget, ProviderId};
use crate::sources::{self, Source};

/// The confirmations a key action needs. The UI sets them from its confirmation dialog, the
/// CLI from `--yes` and `--i-understand-this-deletes-the-key`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DisableConfirm {
    /// The user confirmed that every app using the key stops working.
    pub confirmed: bool,
    /// The user acknowledged that the provider deletes the key for good (required when the
    /// provider's support is `irreversible`).
    pub acknowledged_irreversible: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum KeyAction {
    Disable,
}

/// One action taken on a provider key, as recorded in the ledger (successful or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct KeyActionView {
    #[ts(type = "number")]
    pub id: i64,
    pub source: String,
    pub provider: ProviderId,
    /// The provider's id of the key (never the key itself).
    pub key_id: String,
    pub key_name: Option<String>,
    pub key_fingerprint: Option<String>,
    pub action: KeyAction,
    /// UTC, RFC 3339.
    pub requested_at: String,
    pub ok: bool,
    /// What the provider answered, or the error the user saw.
    pub detail: String,
    /// The alert the action answered, if any.
    #[ts(type = "number | null")]
    pub alert_id: Option<i64>,
    /// The auto-disable rule that took the action; None: the user did.
    #[ts(type = "number | null")]
    pub rule_id: Option<i64>,
    /// A rule's dry run: recorded what would have been done; no request reached the provider.
    pub dry_run: bool,
}

/// What the ledger knows about one provider key (`api_keys`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyRow {
    pub display_name: Option<String>,
    pub fingerprint: Option<String>,
    pub project: Option<String>,
    pub created_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub disabled: bool,
}

pub(crate) fn key_row(conn: &Connection, source_id: i64, key_id: &str) -> Result<Option<KeyRow>> {
    Ok(conn
        .query_row(
            "SELECT display_name, fingerprint, project, created_at, last_used_at, disabled FROM api_keys
             WHERE source_id = ?1 AND provider_key_id = ?2",
            params![source_id, key_id],
            |r| {
                Ok(KeyRow {
                    display_name: r.get(0)?,
                    fingerprint: r.get(1)?,
                    project: r.get(2)?,
                    created_at: r.get(3)?,
                    last_used_at: r.get(4)?,
                    disabled: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Whether the ledger has any spend of the key (keys the provider no longer lists still have it).
pub(crate) fn has_spend(conn: &Connection, source_id: i64, key_id: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM spend_daily_key WHERE source_id = ?1 AND key_id = ?2 LIMIT 1",
            params![source_id, key_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The key's row, or an error saying how to find the right id. A key is known when the provider
/// listed it or the ledger has spend of it.
pub(crate) fn known_key(conn: &Connection, source: &Source, key_id: &str) -> Result<KeyRow> {
    if key_id.trim().is_empty() {
        return Err(Error::invalid_input(
            "name the key by its provider id; `burnrate report daily --by key --json` lists the key ids",
        ));
    }
    match key_row(conn, source.id, key_id)? {
        Some(row) => Ok(row),
        None if has_spend(conn, source.id, key_id)? => Ok(KeyRow::default()),
        None => Err(Error::new(
            ErrorCode::KeyNotFound,
            format!(
                "source {} has no key {key_id:?} in its ledger; sync it first, or check the id \
                 (`burnrate report daily --by key --json` lists the key ids)",
                source.name
            ),
        )),
    }
}

/// How a key is named to the user: its name and fingerprint when known, and always its id.
pub(crate) fn describe_key(key_id: &str, row: &KeyRow) -> String {
    match (&row.display_name, &row.fingerprint) {
        (Some(name), Some(fp)) if name != fp => format!("key {name:?} ({fp}, id {key_id})"),
        (Some(name), _) => format!("key {name:?} (id {key_id})"),
        (None, Some(fp)) => format!("key {fp} (id {key_id})"),
        (None, None) => format!("key {key_id}"),
    }
}

/// Distinct project ids the key's spend carries (OpenAI's costs are grouped by project id).
fn spend_projects(conn: &Connection, source_id: i64, key_id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT project FROM spend WHERE source_id = ?1 AND key_id = ?2 AND project != '' ORDER BY project",
    )?;
    let projects = stmt.query_map(params![source_id, key_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(projects)
}

fn alert_exists(conn: &Connection, alert_id: i64) -> Result<bool> {
    Ok(conn.query_row("SELECT 1 FROM alerts WHERE id = ?1", [alert_id], |_| Ok(())).optional()?.is_some())
}

/// What an attempt says until the provider's answer replaces it: a process killed mid-request
/// leaves this, which is the truth.
const INTERRUPTED: &str = "interrupted before the provider answered; check the key at the provider";

/// Records an attempt before its request is sent. `rule`: the auto-disable rule taking it and
/// whether it is a dry run. Returns None when the rule's key already has an automatic action for
/// this alert (one per episode, even with two processes on one ledger).
pub(crate) fn begin(
    conn: &Connection,
    source_id: i64,
    key_id: &str,
    at: i64,
    alert: Option<i64>,
    rule: Option<(i64, bool)>,
) -> Result<Option<i64>> {
    let (rule_id, dry_run) = rule.map_or((None, false), |(id, dry)| (Some(id), dry));
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO key_actions (source_id, key_id, action, requested_at, ok, detail, alert_id, rule_id, dry_run)
         VALUES (?1, ?2, 'disable', ?3, 0, ?4, ?5, ?6, ?7)",
        params![source_id, key_id, at, INTERRUPTED, alert, rule_id, dry_run],
    )?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

/// Records the answer to action `id` and, when the key was switched off, marks it disabled, in
/// one transaction.
pub(crate) fn finish(
    conn: &mut Connection,
    id: i64,
    source_id: i64,
    key_id: &str,
    outcome: &Result<String>,
) -> Result<()> {
    let (ok, detail) = match outcome {
        Ok(detail) => (true, detail.clone()),
        Err(e) => (false, e.message().to_owned()),
    };
    let tx = conn.transaction()?;
    let dry_run: bool = tx.query_row(
        "UPDATE key_actions SET ok = ?2, detail = ?3 WHERE id = ?1 RETURNING dry_run",
        params![id, ok, detail],
        |r| r.get(0),
    )?;
    if ok && !dry_run {
        // A key known only from its spend gets a row, so every view shows it as disabled.
        tx.execute(
            "INSERT INTO api_keys (source_id, provider_key_id, disabled) VALUES (?1, ?2, 1)
             ON CONFLICT (source_id, provider_key_id) DO UPDATE SET disabled = 1",
            params![source_id, key_id],
        )?;
    }
    tx.commit()?;
    Ok(())
}

const VIEW_SELECT: &str =
    "SELECT a.id, s.name, s.provider, a.key_id, k.display_name, k.fingerprint, a.requested_at, a.ok,
        a.detail, a.alert_id, a.rule_id, a.dry_run
 FROM key_actions a JOIN sources s ON s.id = a.source_id
 LEFT JOIN api_keys k ON k.source_id = a.source_id AND k.provider_key_id = a.key_id";

fn view_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyActionView> {
    let provider: String = r.get(2)?;
    Ok(KeyActionView {
        id: r.get(0)?,
        source: r.get(1)?,
        provider: provider.parse().map_err(|e: Error| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        key_id: r.get(3)?,
        key_name: r.get(4)?,
        key_fingerprint: r.get(5)?,
        action: KeyAction::Disable,
        requested_at: ts_to_rfc3339(r.get(6)?),
        ok: r.get(7)?,
        detail: r.get(8)?,
        alert_id: r.get(9)?,
        rule_id: r.get(10)?,
        dry_run: r.get(11)?,
    })
}

/// Recorded actions, newest first, optionally of one source and key.
pub(crate) fn list(conn: &Connection, source_id: Option<i64>, key_id: Option<&str>) -> Result<Vec<KeyActionView>> {
    let sql = format!(
        "{VIEW_SELECT} WHERE (?1 IS NULL OR a.source_id = ?1) AND (?2 IS NULL OR a.key_id = ?2)
         ORDER BY a.requested_at DESC, a.id DESC"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![source_id, key_id], view_from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(crate) fn get(conn: &Connection, id: i64) -> Result<KeyActionView> {
    Ok(conn.query_row(&format!("{VIEW_SELECT} WHERE a.id = ?1"), [id], view_from_row)?)
}

impl Burnrate {
    /// Disables `key_id` of `source` at the provider, with the source's key, and records the
    /// attempt. `confirm.confirmed` is required; `confirm.acknowledged_irreversible` too where
    /// the provider can only delete keys (OpenAI). A provider's refusal or failure is recorded
    /// as a failed action and then returned; on success `api_keys.disabled` is set.
    /// `alert_id` links the action to the alert it answers.
    pub async fn disable_key(
        &self,
        source: &str,
        key_id: &str,
        confirm: DisableConfirm,
        alert_id: Option<i64>,
    ) -> Result<KeyActionView> {
        let key_id = key_id.trim();
        let mut conn = self.open()?;
        let source = sources::get(&conn, source)?;
        let provider = source.provider;
        let support = provider.disable_support();
        if support == DisableSupport::Unsupported || provider.connector().is_none() {
            return Err(disable_unsupported(provider, &source.base_url));
        }
        let row = known_key(&conn, &source, key_id)?;
        if let Some(alert) = alert_id {
            if !alert_exists(&conn, alert)? {
                return Err(Error::invalid_input(format!("there is no alert #{alert}; leave it out or check the id")));
            }
        }
        let key = describe_key(key_id, &row);
        if !confirm.confirmed {
            return Err(Error::new(
                ErrorCode::ConfirmationRequired,
                format!("disabling {key} at {} stops every app that uses it; confirm to go ahead", provider.label()),
            ));
        }
        if support == DisableSupport::Irreversible && !confirm.acknowledged_irreversible {
            return Err(Error::new(
                ErrorCode::ConfirmationRequired,
                format!(
                    "{} cannot pause a key, only delete it: deleting {key} cannot be undone, and the apps that use \
                     it will need a new key; acknowledge that the key is deleted for good to go ahead",
                    provider.label()
                ),
            ));
        }
        // A key that cannot be read is a refusal before any request: not recorded.
        let key = source.key(self.env.as_ref(), self.secrets.as_ref())?;
        let at = self.clock.now().timestamp();
        let id =
            begin(&conn, source.id, key_id, at, alert_id, None)?.expect("only automatic actions are unique per alert");
        self.call_provider(&mut conn, &source, key_id, &row, id, Ok(key)).await
    }

    /// Sends the disable request for action `id` (already begun) and records the answer.
    pub(crate) async fn call_provider(
        &self,
        conn: &mut Connection,
        source: &Source,
        key_id: &str,
        row: &KeyRow,
        id: i64,
        key: Result<String>,
    ) -> Result<KeyActionView> {
        let provider = source.provider;
        let connector = provider.connector().ok_or_else(|| disable_unsupported(provider, &source.base_url))?;
        let target = KeyTarget {
            key_id: key_id.to_owned(),
            project: row.project.clone(),
            project_ids: spend_projects(conn, source.id, key_id)?,
        };
        let outcome = match key {
            Ok(key) => {
                let ctx = KeyActionContext {
                    provider,
                    base_url: source.base_url.clone(),
                    key,
                    http: self.http.clone(),
                    settings: source.settings.clone(),
                };
                connector.disable_key(&ctx, &target).await
            }
            Err(e) => Err(e),
        };
        finish(conn, id, source.id, key_id, &outcome)?;
        match outcome {
            Ok(detail) => {
                tracing::info!(source = %source.name, key_id, action = id, "key disabled: {detail}");
                get(conn, id)
            }
            Err(e) => {
                tracing::warn!(source = %source.name, key_id, action = id, code = ?e.code, "disabling the key failed: {}", e.message());
                Err(Error::new(e.code, format!("{}; the attempt is recorded as key action #{id}", e.message())))
            }
        }
    }

    /// Recorded key actions, newest first; of one source (and one of its keys) when given.
    pub fn key_actions(&self, source: Option<&str>, key_id: Option<&str>) -> Result<Vec<KeyActionView>> {
        let conn = self.open()?;
        let source_id = source.map(|name| sources::get(&conn, name)).transpose()?.map(|s| s.id);
        list(&conn, source_id, key_id.map(str::trim))
    }

    /// Whether keys of `source` can be disabled from Burnrate, and how.
    pub fn disable_support(&self, source: &str) -> Result<DisableSupport> {
        let conn = self.open()?;
        Ok(sources::get(&conn, source)?.provider.disable_support())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderId;

    #[test]
    fn provider_info_says_which_providers_can_disable_keys_and_whether_it_lasts() {
        let support: Vec<(ProviderId, DisableSupport)> =
            ProviderId::ALL.iter().map(|p| (*p, p.info().disable_key)).collect();
        assert_eq!(
            support,
            vec![
                (ProviderId::Openai, DisableSupport::Irreversible),
                (ProviderId::Anthropic, DisableSupport::Reversible),
                (ProviderId::Openrouter, DisableSupport::Reversible),
                (ProviderId::Deepseek, DisableSupport::Unsupported),
                (ProviderId::Litellm, DisableSupport::Reversible),
                (ProviderId::NewApi, DisableSupport::Unsupported),
                (ProviderId::Sub2api, DisableSupport::Unsupported),
                (ProviderId::CustomJson, DisableSupport::Unsupported),
            ]
        );
        assert!(ProviderId::Deepseek.info().revoke_help.contains("https://platform.deepseek.com/api_keys"));
    }

    #[test]
    fn keys_are_described_by_name_fingerprint_and_id() {
        let row =
            KeyRow { display_name: Some("Prod".into()), fingerprint: Some("sk-…abcd".into()), ..Default::default() };
        assert_eq!(describe_key("key_1", &row), "key \"Prod\" (sk-…abcd, id key_1)");
        assert_eq!(describe_key("key_1", &KeyRow::default()), "key key_1");
    }
}
