//! The incident dossier: everything Burnrate knows about one key around a spend spike, to hand
//! to the provider (billing dispute, abuse report) or keep. Rendered as Markdown for people
//! and as CSV (one row per bucket × model × kind × currency) for spreadsheets.
//!
//! Content: the key as the ledger knows it (name, fingerprint, project, dates; the secret is
//! never stored, so never shown), the window, the key's spend in it per hour and model (per day
//! where the provider reports days only), billed and estimated amounts kept apart with totals
//! per currency, the alerts that detected it, every action taken on the key, and a short
//! summary paragraph addressed to the provider. All times are UTC, ISO 8601.
//!
//! The default window starts 48 hours before the first spike alert of the key's latest episode
//! (spike alerts less than 48 hours apart belong to one episode) and ends now; with `around`, the
//! episode of that alert; without any spike alert, the last 7 days.

use chrono::{DateTime, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

use crate::api::Burnrate;
use crate::csv_out::{Cell, CsvTable};
use crate::days::{day_start, ts_to_rfc3339};
use crate::error::{Error, ErrorCode, Result};
use crate::key_actions::KeyActionView;
use crate::key_actions::{self, KeyRow};
use crate::money::format_micros;
use crate::poll::SpendKind;
use crate::providers::DisableSupport;
use crate::providers::ProviderId;
use crate::sources::{self, Source};
use crate::text::markdown;

/// How far before the first spike alert the default window starts; also the largest gap
/// between two spike alerts of one episode.
pub const LEAD_SECONDS: i64 = 48 * 3_600;
/// The window when the key has no spike alert.
pub const NO_ALERT_WINDOW_SECONDS: i64 = 7 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DossierFormat {
    Markdown,
    Csv,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Dossier {
    /// UTC, RFC 3339.
    pub generated_at: String,
    pub source: String,
    pub provider: ProviderId,
    pub base_url: String,
    pub key: DossierKey,
    pub window: DossierWindow,
    /// The key's spend per bucket, model, kind and currency, oldest first.
    pub spend: Vec<DossierSpend>,
    /// Sums of `spend` per currency and kind; billed and estimated describe the same spend.
    pub totals: Vec<DossierTotal>,
    /// Alerts about the key in the window (and the one the dossier was asked around), oldest first.
    pub alerts: Vec<DossierAlert>,
    /// Every action taken on the key, oldest first.
    pub actions: Vec<KeyActionView>,
    /// A paragraph addressed to the provider.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DossierKey {
    /// The provider's id of the key (never the key itself).
    pub id: String,
    pub name: Option<String>,
    /// The provider's redacted form of the key, e.g. `sk-…abcd`.
    pub fingerprint: Option<String>,
    pub project: Option<String>,
    pub created_at: Option<String>,
    pub last_used_at: Option<String>,
    /// What the ledger last heard: the provider lists it as disabled, or Burnrate disabled it.
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DossierWindow {
    /// Inclusive start, UTC RFC 3339.
    pub from: String,
    /// Exclusive end, UTC RFC 3339.
    pub to: String,
    /// Why this window, in words.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DossierSpend {
    /// Start of the UTC bucket, RFC 3339.
    pub bucket_start: String,
    /// "hour", or "day" where the provider reports days only.
    pub bucket: String,
    /// Empty when the provider does not split this spend by model.
    pub model: String,
    pub kind: SpendKind,
    pub currency: String,
    /// Decimal string with six places.
    pub amount: String,
    #[ts(type = "number | null")]
    pub input_tokens: Option<i64>,
    #[ts(type = "number | null")]
    pub output_tokens: Option<i64>,
    #[ts(type = "number | null")]
    pub requests: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DossierTotal {
    pub currency: String,
    pub kind: SpendKind,
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DossierAlert {
    #[ts(type = "number")]
    pub id: i64,
    /// threshold, forecast or spike.
    pub kind: String,
    pub fired_at: String,
    pub title: String,
    /// What fired it, with `currency`; estimated when from token estimates.
    pub amount: String,
    pub currency: String,
    pub estimated: bool,
    /// When the desktop notification was shown, or why it was not.
    pub notified_at: Option<String>,
    pub notify_error: Option<String>,
}

/// An alert row, as far as the dossier reads it.
struct AlertRow {
    id: i64,
    source_id: Option<i64>,
    key_id: Option<String>,
    kind: String,
    fired_at: i64,
}

fn alert_row(conn: &Connection, id: i64) -> Result<Option<AlertRow>> {
    Ok(conn
        .query_row("SELECT id, source_id, key_id, kind, fired_at FROM alerts WHERE id = ?1", [id], |r| {
            Ok(AlertRow {
                id: r.get(0)?,
                source_id: r.get(1)?,
                key_id: r.get(2)?,
                kind: r.get(3)?,
                fired_at: r.get(4)?,
            })
        })
        .optional()?)
}

/// Fire times and ids of the key's spike alerts up to `until`, oldest first.
fn spike_alerts(conn: &Connection, source_id: i64, key_id: &str, until: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT fired_at, id FROM alerts WHERE source_id = ?1 AND key_id = ?2 AND kind = 'spike' AND fired_at <= ?3
         ORDER BY fired_at, id",
    )?;
    let rows = stmt.query_map(params![source_id, key_id, until], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The first spike alert of the episode that ends with the alert at index `last`: walks back
/// while consecutive alerts are at most [`LEAD_SECONDS`] apart.
fn episode_start(spikes: &[(i64, i64)], last: usize) -> (i64, i64) {
    let mut first = last;
    while first > 0 && spikes[first].0 - spikes[first - 1].0 <= LEAD_SECONDS {
        first -= 1;
    }
    spikes[first]
}

/// A window bound: `YYYY-MM-DD` (start of that UTC day; for `to`, the end of it) or RFC 3339.
fn parse_bound(text: &str, is_end: bool) -> Result<i64> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day_start(day) + if is_end { 86_400 } else { 0 });
    }
    DateTime::parse_from_rfc3339(text).map(|t| t.timestamp()).map_err(|_| {
        Error::invalid_input(format!(
            "{text:?} is neither a day nor a time; use YYYY-MM-DD or RFC 3339, e.g. 2026-03-01T14:00:00Z"
        ))
    })
}

/// The dossier's window `[from, to)` and why it was chosen.
fn choose_window(
    conn: &Connection,
    source: &Source,
    key_id: &str,
    now: i64,
    around: Option<&AlertRow>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(i64, i64, String)> {
    if from.is_some() || to.is_some() {
        let to_ts = to.map(|t| parse_bound(t, true)).transpose()?.unwrap_or(now);
        let from_ts = from.map(|f| parse_bound(f, false)).transpose()?.unwrap_or(to_ts - LEAD_SECONDS);
        if from_ts >= to_ts {
            return Err(Error::invalid_input(format!(
                "the window starts at {} but ends at {}; swap --from and --to",
                ts_to_rfc3339(from_ts),
                ts_to_rfc3339(to_ts)
            )));
        }
        return Ok((from_ts, to_ts, "the range asked for".into()));
    }
    if let Some(alert) = around.filter(|a| a.kind != "spike") {
        return Ok((
            alert.fired_at - LEAD_SECONDS,
            now.max(alert.fired_at + 1),
            format!("48 hours before {} alert #{}, to the time of export", alert.kind, alert.id),
        ));
    }
    let until = around.map_or(now, |a| a.fired_at);
    let spikes = spike_alerts(conn, source.id, key_id, until)?;
    let last = match around {
        Some(a) => spikes.iter().position(|s| s.1 == a.id),
        None => spikes.len().checked_sub(1),
    };
    match last {
        Some(last) => {
            let (fired_at, id) = episode_start(&spikes, last);
            let which = if around.is_some() { "its episode" } else { "the latest episode" };
            Ok((
                fired_at - LEAD_SECONDS,
                now.max(fired_at + 1),
                format!("48 hours before the first spike alert of {which} (#{id}), to the time of export"),
            ))
        }
        None => Ok((now - NO_ALERT_WINDOW_SECONDS, now, "the last 7 days (no spike alert for this key)".into())),
    }
}

/// Spend rows of the key whose bucket overlaps `[from, to)`, summed over projects.
fn spend_rows(conn: &Connection, source_id: i64, key_id: &str, from: i64, to: i64) -> Result<Vec<DossierSpend>> {
    let mut stmt = conn.prepare(
        "SELECT bucket_start, bucket_width, model, kind, currency, sum(amount_micros),
                sum(input_tokens), sum(output_tokens), sum(requests)
         FROM spend
         WHERE source_id = ?1 AND bucket_width IN ('day', 'hour') AND kind IN ('billed', 'estimated')
           AND key_id = ?2 AND bucket_start < ?4
           AND bucket_start + (CASE bucket_width WHEN 'day' THEN 86400 ELSE 3600 END) > ?3
         GROUP BY bucket_start, bucket_width, model, kind, currency
         ORDER BY bucket_start, bucket_width, model, kind, currency",
    )?;
    let rows = stmt.query_map(params![source_id, key_id, from, to], |r| {
        let kind: String = r.get(3)?;
        Ok(DossierSpend {
            bucket_start: ts_to_rfc3339(r.get(0)?),
            bucket: r.get(1)?,
            model: r.get(2)?,
            kind: if kind == "billed" { SpendKind::Billed } else { SpendKind::Estimated },
            currency: r.get(4)?,
            amount: format_micros(r.get(5)?),
            input_tokens: r.get(6)?,
            output_tokens: r.get(7)?,
            requests: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn totals(spend: &[DossierSpend]) -> Result<Vec<DossierTotal>> {
    let mut sums: BTreeMap<(&str, SpendKind), i64> = BTreeMap::new();
    for s in spend {
        let micros = crate::money::parse_micros(&s.amount)?;
        let sum = sums.entry((s.currency.as_str(), s.kind)).or_default();
        *sum = sum.checked_add(micros).ok_or_else(crate::money::sum_overflow)?;
    }
    Ok(sums
        .into_iter()
        .map(|((currency, kind), micros)| DossierTotal {
            currency: currency.into(),
            kind,
            amount: format_micros(micros),
        })
        .collect())
}

fn alerts(
    conn: &Connection,
    source_id: i64,
    key_id: &str,
    from: i64,
    to: i64,
    around: Option<i64>,
) -> Result<Vec<DossierAlert>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, fired_at, title, amount_micros, currency, estimated, notified_at, notify_error FROM alerts
         WHERE (source_id = ?1 AND key_id = ?2 AND fired_at >= ?3 AND fired_at <= ?4) OR id = ?5
         ORDER BY fired_at, id",
    )?;
    let rows = stmt.query_map(params![source_id, key_id, from, to, around], |r| {
        Ok(DossierAlert {
            id: r.get(0)?,
            kind: r.get(1)?,
            fired_at: ts_to_rfc3339(r.get(2)?),
            title: r.get(3)?,
            amount: format_micros(r.get(4)?),
            currency: r.get(5)?,
            estimated: r.get(6)?,
            notified_at: r.get::<_, Option<i64>>(7)?.map(ts_to_rfc3339),
            notify_error: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How the provider itself names the key, for the summary.
fn provider_key_label(provider: ProviderId) -> &'static str {
    match provider {
        ProviderId::Openai => "API key id",
        ProviderId::Anthropic => "API key id",
        ProviderId::Openrouter => "key hash",
        ProviderId::Litellm => "hashed token",
        _ => "key id",
    }
}

fn summary(d: &Dossier) -> String {
    let p = d.provider.label();
    let key = match (&d.key.name, &d.key.fingerprint) {
        (Some(name), Some(fp)) if name != fp => format!("key \"{name}\" ({fp})"),
        (Some(name), _) => format!("key \"{name}\""),
        (None, Some(fp)) => format!("key {fp}"),
        (None, None) => "key".to_owned(),
    };
    let mut out =
        format!("Burnrate, a spend monitor running on our own computer, recorded the following about our {p} {key}");
    if let Some(project) = &d.key.project {
        out.push_str(&format!(" in project {project}"));
    }
    out.push_str(&format!(" ({} {}). ", provider_key_label(d.provider), d.key.id));
    let money = |kind: SpendKind| {
        let parts: Vec<String> =
            d.totals.iter().filter(|t| t.kind == kind).map(|t| format!("{} {}", t.amount, t.currency)).collect();
        (!parts.is_empty()).then(|| parts.join(" and "))
    };
    match (money(SpendKind::Billed), money(SpendKind::Estimated)) {
        (None, None) => out.push_str(&format!(
            "No spend of this key was recorded between {} and {} (UTC). ",
            d.window.from, d.window.to
        )),
        (billed, estimated) => {
            out.push_str(&format!("Between {} and {} (UTC) the key spent ", d.window.from, d.window.to));
            match (billed, estimated) {
                (Some(b), Some(e)) => {
                    out.push_str(&format!("{b} as billed by {p} (token-based estimate of the same usage: {e}). "))
                }
                (Some(b), None) => out.push_str(&format!("{b} as billed by {p}. ")),
                (None, Some(e)) => out.push_str(&format!("an estimated {e} (tokens × list price). ")),
                (None, None) => unreachable!("handled above"),
            }
        }
    }
    match d.alerts.first() {
        Some(a) => out.push_str(&format!(
            "Burnrate first flagged it at {} ({} alert: {}). ",
            a.fired_at,
            a.kind,
            a.title.trim_end_matches('.')
        )),
        None => out.push_str("No Burnrate alert fired for this key in this window. "),
    }
    let done: Vec<&KeyActionView> = d.actions.iter().filter(|a| a.ok).collect();
    match done.first() {
        Some(a) => {
            let verb =
                if d.provider.disable_support() == DisableSupport::Irreversible { "deleted" } else { "disabled" };
            out.push_str(&format!("We {verb} the key through {p}'s API at {}. ", a.requested_at))
        }
        None if d.actions.is_empty() && d.key.disabled => out.push_str(&format!("{p} lists the key as disabled. ")),
        None if d.actions.is_empty() => out.push_str("The key had not been disabled through Burnrate. "),
        None => out.push_str(&format!(
            "Disabling it through {p}'s API failed ({} attempt(s)); see the actions below. ",
            d.actions.len()
        )),
    }
    let detail = if d.spend.iter().any(|s| s.bucket == "hour") { "hourly" } else { "daily" };
    out.push_str(&format!(
        "We believe this usage is unexpected and ask you to review it; the {detail} detail per model follows."
    ));
    out
}

impl Burnrate {
    /// The dossier for `key_id` of `source`. `around`: an alert of this key whose episode sets
    /// the window; `from`/`to` (YYYY-MM-DD or RFC 3339) set it explicitly.
    /// Writes the dossier of `key_id` to a new file under [`Paths::export_dir`] and returns its
    /// path. The name carries the source, the key and the time, made file-name safe.
    pub fn export_incident(
        &self,
        source: &str,
        key_id: &str,
        around: Option<i64>,
        format: DossierFormat,
    ) -> Result<std::path::PathBuf> {
        let dossier = self.incident_dossier(source, key_id, around, None, None)?;
        let dir = self.paths.export_dir();
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .take(60)
                .collect()
        };
        let ext = match format {
            DossierFormat::Markdown => "md",
            DossierFormat::Csv => "csv",
        };
        let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("incident-{}-{}-{stamp}.{ext}", safe(source), safe(key_id)));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            crate::fs::write_atomic(&path, dossier.render(format).as_bytes())
        };
        write().map_err(|e| {
            Error::new(
                ErrorCode::DataDirUnwritable,
                format!(
                    "cannot write the incident report to {}: {e}; free some disk space or check permissions",
                    path.display()
                ),
            )
        })?;
        tracing::info!(path = %path.display(), "incident dossier exported");
        Ok(path)
    }

    pub fn incident_dossier(
        &self,
        source: &str,
        key_id: &str,
        around: Option<i64>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Dossier> {
        let conn = self.open()?;
        let source = sources::get(&conn, source)?;
        let key_id = key_id.trim();
        let row: KeyRow = key_actions::known_key(&conn, &source, key_id)?;
        let now = self.clock.now().timestamp();
        let around_row = match around {
            None => None,
            Some(id) => {
                let a = alert_row(&conn, id)?
                    .ok_or_else(|| Error::invalid_input(format!("there is no alert #{id}; check the id")))?;
                if a.source_id != Some(source.id) || a.key_id.as_deref() != Some(key_id) {
                    return Err(Error::invalid_input(format!(
                        "alert #{id} is not about key {key_id} of source {}; leave out --alert or pick that alert's key",
                        source.name
                    )));
                }
                Some(a)
            }
        };
        let (from_ts, to_ts, reason) = choose_window(&conn, &source, key_id, now, around_row.as_ref(), from, to)?;
        let spend = spend_rows(&conn, source.id, key_id, from_ts, to_ts)?;
        let mut actions = key_actions::list(&conn, Some(source.id), Some(key_id))?;
        actions.reverse();
        let mut dossier = Dossier {
            generated_at: ts_to_rfc3339(now),
            source: source.name.clone(),
            provider: source.provider,
            base_url: source.base_url.to_string(),
            key: DossierKey {
                id: key_id.to_owned(),
                name: row.display_name.clone(),
                fingerprint: row.fingerprint.clone(),
                project: row.project.clone(),
                created_at: row.created_at.map(ts_to_rfc3339),
                last_used_at: row.last_used_at.map(ts_to_rfc3339),
                disabled: row.disabled,
            },
            window: DossierWindow { from: ts_to_rfc3339(from_ts), to: ts_to_rfc3339(to_ts), reason },
            totals: totals(&spend)?,
            spend,
            alerts: alerts(&conn, source.id, key_id, from_ts, to_ts, around)?,
            actions,
            summary: String::new(),
        };
        dossier.summary = summary(&dossier);
        Ok(dossier)
    }
}

fn or_dash(v: Option<&str>) -> String {
    v.map(markdown).unwrap_or_else(|| "—".into())
}

fn opt_num(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

impl Dossier {
    pub fn render(&self, format: DossierFormat) -> String {
        match format {
            DossierFormat::Markdown => self.to_markdown(),
            DossierFormat::Csv => self.to_csv(),
        }
    }

    /// A readable report, in the order a provider's support reads it.
    pub fn to_markdown(&self) -> String {
        let p = self.provider.label();
        let k = &self.key;
        let title = k.name.as_deref().or(k.fingerprint.as_deref()).unwrap_or(&k.id);
        let mut md = String::new();
        md.push_str(&format!("# Incident dossier: {p} key {}\n\n", markdown(title)));
        md.push_str(&format!(
            "Generated by Burnrate at {}. All times are UTC, in ISO 8601 (RFC 3339) form.\n\n",
            self.generated_at
        ));
        md.push_str(&format!("## For {p}\n\n{}\n\n", markdown(&self.summary)));

        md.push_str("## The key\n\n| | |\n|---|---|\n");
        md.push_str(&format!("| Source | {} ({p}, {}) |\n", markdown(&self.source), markdown(&self.base_url)));
        md.push_str(&format!("| {} | {} |\n", capitalise(provider_key_label(self.provider)), markdown(&k.id)));
        md.push_str(&format!("| Name | {} |\n", or_dash(k.name.as_deref())));
        md.push_str(&format!("| Fingerprint | {} |\n", or_dash(k.fingerprint.as_deref())));
        md.push_str(&format!("| Project | {} |\n", or_dash(k.project.as_deref())));
        md.push_str(&format!("| Created | {} |\n", or_dash(k.created_at.as_deref())));
        md.push_str(&format!("| Last used | {} |\n", or_dash(k.last_used_at.as_deref())));
        md.push_str(&format!("| Disabled | {} |\n\n", if k.disabled { "yes" } else { "no" }));
        md.push_str("Burnrate never stores API keys; this dossier names the key only by its id and fingerprint.\n\n");

        md.push_str(&format!(
            "## Window\n\nFrom {} to {}: {}.\n\n",
            self.window.from, self.window.to, self.window.reason
        ));

        md.push_str("## Detection\n\n");
        if self.alerts.is_empty() {
            md.push_str("No Burnrate alert about this key fired in this window.\n\n");
        } else {
            md.push_str("| Alert | Kind | Fired | Title | Amount | Notified |\n|---|---|---|---|---|---|\n");
            for a in &self.alerts {
                let notified = match (&a.notified_at, &a.notify_error) {
                    (Some(at), _) => at.clone(),
                    (None, Some(err)) => format!("not shown: {}", markdown(err)),
                    (None, None) => "—".into(),
                };
                let estimated = if a.estimated { " (estimated)" } else { "" };
                md.push_str(&format!(
                    "| #{} | {} | {} | {} | {} {}{estimated} | {notified} |\n",
                    a.id,
                    markdown(&a.kind),
                    a.fired_at,
                    markdown(&a.title),
                    a.amount,
                    markdown(&a.currency)
                ));
            }
            md.push('\n');
        }

        md.push_str("## Actions taken\n\n");
        if self.actions.is_empty() {
            md.push_str("No action was taken on this key through Burnrate.\n\n");
        } else {
            md.push_str("| # | Action | Requested | Result | Alert | Provider's answer |\n|---|---|---|---|---|---|\n");
            for a in &self.actions {
                md.push_str(&format!(
                    "| {} | disable | {} | {} | {} | {} |\n",
                    a.id,
                    a.requested_at,
                    if a.ok { "done" } else { "failed" },
                    a.alert_id.map(|id| format!("#{id}")).unwrap_or_else(|| "—".into()),
                    markdown(&a.detail)
                ));
            }
            md.push('\n');
        }

        md.push_str("## Spend\n\n");
        if self.spend.is_empty() {
            md.push_str(&format!(
                "No spend of this key was recorded between {} and {}. Sync the source to fetch the latest \
                 usage, or widen the window with --from/--to.\n",
                self.window.from, self.window.to
            ));
            return md;
        }
        md.push_str(
            "Billed amounts are what the provider charged; estimated amounts are tokens × list price. They \
             describe the same usage: never add them together. Currencies are never added together.\n\n",
        );
        md.push_str("| Currency | Billed | Estimated |\n|---|---|---|\n");
        let currencies: std::collections::BTreeSet<&str> = self.totals.iter().map(|t| t.currency.as_str()).collect();
        for c in currencies {
            let of = |kind| {
                self.totals
                    .iter()
                    .find(|t| t.currency == c && t.kind == kind)
                    .map(|t| t.amount.clone())
                    .unwrap_or("—".into())
            };
            md.push_str(&format!("| {} | {} | {} |\n", markdown(c), of(SpendKind::Billed), of(SpendKind::Estimated)));
        }
        md.push('\n');
        if self.spend.iter().any(|s| s.bucket == "day") {
            md.push_str(&format!(
                "Rows marked \"day\" cover a whole UTC day: {p} reports that spend per day only, so a day row may \
                 include spend just outside the window.\n\n"
            ));
        }
        md.push_str("### Per hour and model\n\n");
        md.push_str(
            "| Bucket start | Bucket | Model | Kind | Amount | Currency | Input tokens | Output tokens | Requests |\n\
             |---|---|---|---|---:|---|---:|---:|---:|\n",
        );
        for s in &self.spend {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                s.bucket_start,
                s.bucket,
                if s.model.is_empty() { "—".into() } else { markdown(&s.model) },
                s.kind.as_str(),
                s.amount,
                markdown(&s.currency),
                opt_num(s.input_tokens),
                opt_num(s.output_tokens),
                opt_num(s.requests)
            ));
        }
        md
    }

    /// One row per bucket × model × kind × currency. Columns: `bucket_start_utc` (RFC 3339),
    /// `bucket` (hour or day), `source`, `provider`, `key_id`, `model` (empty: not split by
    /// model), `kind` (billed or estimated), `currency` (ISO 4217), `amount` (decimal, six
    /// places), `input_tokens`, `output_tokens`, `requests` (empty when unknown).
    pub fn to_csv(&self) -> String {
        let mut table = CsvTable::new([
            "bucket_start_utc",
            "bucket",
            "source",
            "provider",
            "key_id",
            "model",
            "kind",
            "currency",
            "amount",
            "input_tokens",
            "output_tokens",
            "requests",
        ]);
        for s in &self.spend {
            table.row([
                Cell::text(&s.bucket_start),
                Cell::text(&s.bucket),
                Cell::text(&self.source),
                Cell::text(self.provider.as_str()),
                Cell::text(&self.key.id),
                Cell::text(&s.model),
                Cell::text(s.kind.as_str()),
                Cell::text(&s.currency),
                Cell::decimal(&s.amount),
                Cell::opt_integer(s.input_tokens),
                Cell::opt_integer(s.output_tokens),
                Cell::opt_integer(s.requests),
            ]);
        }
        table.finish()
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}
