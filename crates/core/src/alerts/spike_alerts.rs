//! Spike alerts: every key's recent spend, per currency, through [`super::spikes::detect`].
//!
//! - Series: hourly buckets where the source has them for the key (billed when there are billed
//!   hours, else estimated: OpenAI's and Anthropic's hourly per-key amounts are token estimates).
//!   A key with daily buckets only (OpenRouter, LiteLLM, DeepSeek, relays) is judged on its days:
//!   each day's spend sits in its UTC day's first hour and the day is the UTC day, so only
//!   today-so-far (today against whole previous days: it fires only when today already beats a
//!   usual full day), a new key and a woken key apply; "latest hour" means nothing there.
//! - Spend not attributed to a key (a DeepSeek account, an OpenAI line without a key) is a
//!   series of its own, named "unattributed spend of SOURCE".
//! - One alert per episode: the dedupe key names the key, currency, kind and window start, and a
//!   kind that fired for a key within the last [`COOLDOWN_SECS`] does not fire again.

use std::collections::BTreeMap;

use chrono::{DateTime, Offset, Utc};
use chrono_tz::Tz;
use rusqlite::{params, Connection};
use serde_json::json;

use super::dto::AlertKind;
use super::spikes::{detect, Spike, SpikeConfig, SpikeKind};
use super::store::{self, key_label_of, NewAlert};
use crate::days::ts_to_rfc3339;
use crate::error::Result;
use crate::ledger::UNATTRIBUTED;
use crate::money::format_human;

/// No second alert of the same kind for the same key within this time.
pub const COOLDOWN_SECS: i64 = 6 * 3_600;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// One key's spend series in one currency.
#[derive(Debug, Default)]
struct Series {
    /// `(bucket_start, micros)` per width and kind.
    hourly_billed: Vec<(i64, i64)>,
    hourly_estimated: Vec<(i64, i64)>,
    daily_billed: Vec<(i64, i64)>,
    daily_estimated: Vec<(i64, i64)>,
}

/// The points a series is judged on.
struct Chosen<'a> {
    points: &'a [(i64, i64)],
    /// Daily buckets (no hourly data for this key).
    daily: bool,
    estimated: bool,
}

impl Series {
    /// Hourly billed, else hourly estimated, else daily billed, else daily estimated points.
    fn chosen(&self) -> Option<Chosen<'_>> {
        [
            (&self.hourly_billed, false, false),
            (&self.hourly_estimated, false, true),
            (&self.daily_billed, true, false),
            (&self.daily_estimated, true, true),
        ]
        .into_iter()
        .find(|(points, _, _)| points.iter().any(|(_, m)| *m > 0))
        .map(|(p, daily, estimated)| Chosen { points: p.as_slice(), daily, estimated })
    }
}

fn kind_name(kind: SpikeKind) -> &'static str {
    match kind {
        SpikeKind::LatestHour => "latest_hour",
        SpikeKind::TodaySoFar => "today_so_far",
        SpikeKind::DormantKeyWoke => "dormant_key_woke",
        SpikeKind::NewKey => "new_key",
    }
}

type SeriesId = (i64, String, String);

fn push(out: &mut BTreeMap<SeriesId, Series>, id: SeriesId, width: &str, kind: &str, point: (i64, i64)) {
    let s = out.entry(id).or_default();
    let v = match (width, kind) {
        ("hour", "billed") => &mut s.hourly_billed,
        ("hour", _) => &mut s.hourly_estimated,
        (_, "billed") => &mut s.daily_billed,
        _ => &mut s.daily_estimated,
    };
    v.push(point);
}

/// Reads the recent series of every key: the detector's lookback, plus each series' first
/// spend when older (so an old key does not look new, and a long-dormant one can be seen waking).
fn load_series(conn: &Connection, since: i64, until: i64) -> Result<BTreeMap<SeriesId, Series>> {
    let mut out: BTreeMap<SeriesId, Series> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT source_id, key_id, currency, bucket_width, kind, bucket_start, sum(amount_micros) FROM spend
         WHERE source_id IN (SELECT id FROM sources) AND bucket_width IN ('day', 'hour')
           AND kind IN ('billed', 'estimated') AND bucket_start >= ?1 AND bucket_start < ?2
         GROUP BY source_id, key_id, currency, bucket_width, kind, bucket_start",
    )?;
    let mut rows = stmt.query(params![since, until])?;
    while let Some(r) = rows.next()? {
        let width: String = r.get(3)?;
        let kind: String = r.get(4)?;
        push(&mut out, (r.get(0)?, r.get(1)?, r.get(2)?), &width, &kind, (r.get(5)?, r.get(6)?));
    }
    // The first spend before the window of each series seen in it.
    let mut first = conn.prepare_cached(
        "SELECT bucket_start, sum(amount_micros) FROM spend
         WHERE source_id = ?1 AND key_id = ?2 AND currency = ?3 AND bucket_width = ?4 AND kind = ?5
           AND bucket_start = (SELECT min(bucket_start) FROM spend
                               WHERE source_id = ?1 AND key_id = ?2 AND currency = ?3 AND bucket_width = ?4
                                 AND kind = ?5 AND amount_micros > 0 AND bucket_start < ?6)
         GROUP BY bucket_start",
    )?;
    let keys: Vec<SeriesId> = out.keys().cloned().collect();
    for (source, key, currency) in keys {
        for (width, kind) in [("hour", "billed"), ("hour", "estimated"), ("day", "billed"), ("day", "estimated")] {
            let mut q = first.query(params![source, key, currency, width, kind, since])?;
            if let Some(r) = q.next()? {
                push(&mut out, (source, key.clone(), currency.clone()), width, kind, (r.get(0)?, r.get(1)?));
            }
        }
    }
    Ok(out)
}

/// The spike alerts due at `now`, not yet recorded.
pub fn spike_alerts(conn: &Connection, now: DateTime<Utc>, zone: Tz, cfg: &SpikeConfig) -> Result<Vec<NewAlert>> {
    let now_ts = now.timestamp();
    let now_hour = now_ts.div_euclid(HOUR) * HOUR;
    let offset = now.with_timezone(&zone).offset().fix().local_minus_utc();
    let since = now_hour - i64::from(cfg.lookback_days()) * DAY;
    let mut alerts = Vec::new();
    for ((source_id, key_id, currency), series) in load_series(conn, since, now_hour + HOUR)? {
        let Some(Chosen { points, daily, estimated }) = series.chosen() else { continue };
        // Daily buckets are UTC days: judge them on UTC days, at the current UTC day's bucket.
        let (judge_hour, judge_offset) = if daily { (now_ts.div_euclid(DAY) * DAY, 0) } else { (now_hour, offset) };
        let mut due = Vec::new();
        for spike in detect(points, judge_hour, judge_offset, cfg) {
            if daily && spike.kind == SpikeKind::LatestHour {
                continue;
            }
            let kind = kind_name(spike.kind);
            if store::last_spike_since(conn, source_id, &key_id, kind, now_ts - COOLDOWN_SECS)?.is_none() {
                due.push(spike);
            }
        }
        // The kinds found together (an expensive hour is also an expensive day) are one episode:
        // one alert, led by the first kind, naming the others.
        if !due.is_empty() {
            alerts.push(alert_for(conn, source_id, &key_id, &currency, &due, daily, estimated, zone, cfg)?);
        }
    }
    Ok(alerts)
}

#[allow(clippy::too_many_arguments)]
fn alert_for(
    conn: &Connection,
    source_id: i64,
    key_id: &str,
    currency: &str,
    spikes: &[Spike],
    daily: bool,
    estimated: bool,
    zone: Tz,
    cfg: &SpikeConfig,
) -> Result<NewAlert> {
    let source: String = conn.query_row("SELECT name FROM sources WHERE id = ?1", [source_id], |r| r.get(0))?;
    let who = if key_id.is_empty() {
        format!("{UNATTRIBUTED} spend of {source}")
    } else {
        format!("key {} of {source}", key_label_of(conn, source_id, key_id)?)
    };
    let money = |m: i64| format_human(m, currency);
    let local = |ts: i64| {
        DateTime::<Utc>::from_timestamp(ts, 0)
            .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let spike = &spikes[0];
    let (what, body) = match spike.kind {
        SpikeKind::LatestHour => (
            "Spend spike",
            format!(
                "{} in the hour from {} ({}), against a usual {} for that hour (median of {} days); alert above {}.",
                money(spike.amount_micros),
                local(spike.window_start),
                zone.name(),
                money(spike.baseline_micros),
                spike.history_days.min(cfg.baseline_days),
                money(spike.threshold_micros)
            ),
        ),
        SpikeKind::TodaySoFar if daily => (
            "Spend spike today",
            format!(
                "{} on {} (UTC day) so far, against a usual {} a day; alert above {}.",
                money(spike.amount_micros),
                ts_to_rfc3339(spike.window_start).get(..10).unwrap_or_default(),
                money(spike.baseline_micros),
                money(spike.threshold_micros)
            ),
        ),
        SpikeKind::TodaySoFar => (
            "Spend spike today",
            format!(
                "{} today so far (since {}), against a usual {} by this time of day; alert above {}.",
                money(spike.amount_micros),
                local(spike.window_start),
                money(spike.baseline_micros),
                money(spike.threshold_micros)
            ),
        ),
        SpikeKind::DormantKeyWoke => (
            "Dormant key spending again",
            format!(
                "{} since {} after at least {} days without spend.",
                money(spike.amount_micros),
                local(spike.window_start),
                cfg.dormant_days
            ),
        ),
        SpikeKind::NewKey => (
            "New key spending",
            format!(
                "{} since its first spend at {}; it has no history to compare with.",
                money(spike.amount_micros),
                local(spike.window_start)
            ),
        ),
    };
    let estimate = if estimated { " (estimate)" } else { "" };
    let mut body = body;
    for other in &spikes[1..] {
        let also = match other.kind {
            SpikeKind::LatestHour => "The latest hour",
            SpikeKind::TodaySoFar => "Today so far",
            SpikeKind::DormantKeyWoke => "Since it woke",
            SpikeKind::NewKey => "Since its first spend",
        };
        body.push_str(&format!(
            " {also}: {} against a usual {}.",
            money(other.amount_micros),
            money(other.baseline_micros)
        ));
    }
    if estimated {
        body.push_str(" This is an estimate (tokens × list price), not yet billed.");
    }
    let kind = kind_name(spike.kind);
    Ok(NewAlert {
        kind: AlertKind::Spike,
        dedupe_key: format!("spike:{source_id}:{key_id}:{currency}:{kind}:{}", spike.window_start),
        budget_id: None,
        source_id: Some(source_id),
        key_id: Some(key_id.to_owned()),
        period_start: None,
        threshold_pct: None,
        amount_micros: spike.amount_micros,
        limit_micros: Some(spike.baseline_micros),
        currency: currency.to_owned(),
        estimated,
        title: format!("{what}: {who}{estimate}"),
        body,
        details: json!({
            "spike_kind": kind,
            "also": spikes[1..].iter().map(|o| kind_name(o.kind)).collect::<Vec<_>>(),
            "window_start": ts_to_rfc3339(spike.window_start),
            "window_end": ts_to_rfc3339(spike.window_end),
            "baseline": crate::money::format_micros(spike.baseline_micros),
            "threshold": crate::money::format_micros(spike.threshold_micros),
            "history_days": spike.history_days,
            "buckets": if daily { "day" } else { "hour" },
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::super::engine::evaluate;
    use super::super::engine::tests::{at, settings, source};
    use super::*;
    use crate::alerts::AlertView;
    use crate::days::DayRange;
    use crate::db;
    use crate::ledger::write_poll;
    use crate::money::Currency;
    use crate::poll::SpendKind;
    use crate::poll::{BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};

    const M: i64 = 1_000_000;

    /// Writes `key`'s hourly estimated spend for every hour of [from, to) (Unix seconds).
    fn hours(conn: &mut Connection, source: i64, key: &str, from: i64, to: i64, micros: impl Fn(i64) -> i64) {
        let rows = (from / HOUR..to / HOUR)
            .map(|h| SpendRow {
                key_id: key.into(),
                model: "gpt-4o".into(),
                project: String::new(),
                bucket_start: h * HOUR,
                currency: Currency::usd(),
                amount_micros: micros(h * HOUR),
                input_tokens: None,
                output_tokens: None,
                requests: None,
            })
            .collect();
        let poll = PollResult {
            keys: vec![KeyRecord {
                provider_key_id: key.into(),
                display_name: Some("Batch job".into()),
                fingerprint: Some("sk-…9f2c".into()),
                ..Default::default()
            }],
            windows: vec![SpendWindow { width: BucketWidth::Hour, kind: SpendKind::Estimated, from, to, rows }],
            ..Default::default()
        };
        let range = DayRange::new(crate::days::ts_to_day(from), crate::days::ts_to_day(to - 1)).unwrap();
        write_poll(conn, source, 0, 0, range, &poll).unwrap();
    }

    /// A steady key: 0.40–0.60 USD every hour.
    fn usual(ts: i64) -> i64 {
        let (h, d) = ((ts / HOUR) % 24, ts / DAY);
        400_000 + (h * 37_000 + d * 11_000) % 200_000
    }

    fn run(conn: &mut Connection, now: &str) -> Vec<AlertView> {
        let ids = evaluate(conn, at(now), &settings(chrono_tz::Europe::Berlin)).unwrap();
        store::get_many(conn, &ids).unwrap()
    }

    #[test]
    fn a_spiking_key_fires_once_per_episode_with_a_cooldown() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        let start = at("2026-02-10T00:00:00Z").timestamp();
        let spike_hour = at("2026-03-02T12:00:00Z").timestamp();
        hours(&mut conn, src, "key_FAKE_batch", start, spike_hour, usual);
        assert!(run(&mut conn, "2026-03-02T11:30:00Z").is_empty(), "a steady key raises nothing");

        // 25 USD in the 12:00 UTC hour.
        hours(&mut conn, src, "key_FAKE_batch", spike_hour, spike_hour + HOUR, |_| 25 * M);
        let fired = run(&mut conn, "2026-03-02T12:40:00Z");
        assert_eq!(fired.len(), 1, "one episode, one alert: {fired:#?}");
        let hour = &fired[0];
        assert_eq!(hour.details["spike_kind"], "latest_hour");
        assert_eq!(hour.details["also"], serde_json::json!(["today_so_far"]));
        assert!(hour.body.contains(" Today so far: "), "{}", hour.body);
        assert_eq!(hour.kind, AlertKind::Spike);
        assert_eq!(hour.title, "Spend spike: key Batch job (sk-…9f2c) of work (estimate)");
        assert_eq!(
            (hour.key_id.as_deref(), hour.amount.as_str(), hour.estimated),
            (Some("key_FAKE_batch"), "25.000000", true)
        );
        assert!(
            hour.body.starts_with("25.00 USD in the hour from 2026-03-02 13:00 (Europe/Berlin), against a usual 0."),
            "{}",
            hour.body
        );
        assert!(hour.body.contains("estimate"), "{}", hour.body);
        assert!(hour.limit.is_some());

        // The next hour spikes too: the same episode, within the 6 h cooldown.
        hours(&mut conn, src, "key_FAKE_batch", spike_hour + HOUR, spike_hour + 2 * HOUR, |_| 25 * M);
        assert!(run(&mut conn, "2026-03-02T13:40:00Z").is_empty());
        // Seven hours later, after normal hours, a new episode fires again.
        let later = spike_hour + 7 * HOUR;
        hours(&mut conn, src, "key_FAKE_batch", spike_hour + 2 * HOUR, later, usual);
        hours(&mut conn, src, "key_FAKE_batch", later, later + HOUR, |_| 25 * M);
        let again = run(&mut conn, "2026-03-02T19:40:00Z");
        assert_eq!(again.len(), 1, "{again:#?}");
        assert_eq!(again[0].details["spike_kind"], "latest_hour");
        assert_eq!(store::list(&conn, None).unwrap().len(), 2);
    }

    #[test]
    fn a_new_key_that_spends_right_away_fires_once() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        let start = at("2026-03-02T08:00:00Z").timestamp();
        hours(&mut conn, src, "key_FAKE_new", start, start + 3 * HOUR, |_| 3 * M);
        let fired = run(&mut conn, "2026-03-02T10:30:00Z");
        assert_eq!(fired.len(), 1, "{fired:#?}");
        assert_eq!(fired[0].details["spike_kind"], "new_key");
        assert!(fired[0].title.starts_with("New key spending: key Batch job (sk-…9f2c) of work"), "{}", fired[0].title);
        assert!(run(&mut conn, "2026-03-02T10:45:00Z").is_empty());
    }
}
