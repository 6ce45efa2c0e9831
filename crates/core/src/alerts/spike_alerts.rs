//! Spike alerts: every key's recent spend, per currency, through [`super::spikes::detect`],
//! grouped into episodes so that one leak is one alert.
//!
//! - Series: hourly buckets where the source has them for the key (billed when there are billed
//!   hours, else estimated: OpenAI's and Anthropic's hourly per-key amounts are token estimates).
//!   A key with daily buckets only (OpenRouter, LiteLLM, DeepSeek, relays) is judged on its days:
//!   each day's spend sits in its UTC day's first hour and the day is the UTC day, so only
//!   today-so-far (today against whole previous days: it fires only when today already beats a
//!   usual full day), a new key and a woken key apply; "latest hour" means nothing there.
//! - Spend not attributed to a key (a DeepSeek account, an OpenAI line without a key) is a
//!   series of its own, named "unattributed spend of SOURCE".
//!
//! # Episodes
//!
//! A series (source, key, currency) *trips* at an evaluation when any rule (latest hour, today
//! so far, new key, dormant key woke) finds a spike at that evaluation's time. Its trips form
//! **one episode** while they come less than [`COOLDOWN_SECS`] (6 h) apart:
//!
//! - A trip opens a new episode when the series has no spike alert whose last trip (its
//!   `details.updated_at`, else its `fired_at`) is less than [`COOLDOWN_SECS`] before this
//!   evaluation. That records **one** alert, led by the first rule in the order above and naming
//!   the others that tripped with it (`details.also`); it is announced.
//! - A later trip of an open episode records no alert. It updates the episode's alert: the
//!   amount (the series' spend from the start of the first rule's window through the hour being
//!   judged: the leak so far), the kinds seen (`details.also`, in the order first seen), the
//!   windows and amounts of the rules that tripped this time (`details.latest`) and
//!   `details.updated_at` (this evaluation). It is announced again only when the amount is at
//!   least [`RENOTIFY_FACTOR`] times the amount last announced (`details.notified_amount`); the
//!   title and body then say the spike is growing.
//! - So an episode ends once the series has gone [`COOLDOWN_SECS`] without a trip. Trips are
//!   only seen when alerts are evaluated (after each sync that wrote something, at least hourly
//!   while polling), so 6 h without any evaluation (the app closed) also ends it: a leak still
//!   running then is announced afresh.
//!
//! Everything here runs inside [`super::engine::evaluate`]'s one immediate transaction, so two
//! processes never both open (or both grow) the same episode.

use std::collections::BTreeMap;

use chrono::{DateTime, Offset, Utc};
use chrono_tz::Tz;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

use super::dto::AlertKind;
use super::spikes::{detect, Spike, SpikeConfig, SpikeKind};
use super::store::{self, key_label_of, Announcement, NewAlert, StoredSpike};
use crate::days::ts_to_rfc3339;
use crate::error::Result;
use crate::ledger::NOT_ATTRIBUTED_TO_A_KEY;
use crate::money::{format_human, format_micros, parse_micros};

/// An episode ends after this long without a trip (see the module's doc).
pub const COOLDOWN_SECS: i64 = 6 * 3_600;

/// An open episode is announced again once its amount is at least this many times the amount
/// last announced: a leak that keeps running is worth a second look at 3×, 9×, 27× …, not at
/// every poll.
pub const RENOTIFY_FACTOR: i64 = 3;

/// Where a re-announced episode's body keeps the first alert's text.
const FIRST_ALERT_MARK: &str = "First alert: ";

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

/// Records the spike episodes that trip at `now` (new alerts, or updates of open episodes) and
/// returns what must be announced: each new alert, and each open episode whose amount reached
/// [`RENOTIFY_FACTOR`] × the amount last announced. Call it inside the evaluation's transaction.
pub fn record_spike_episodes(
    conn: &Connection,
    now: DateTime<Utc>,
    zone: Tz,
    cfg: &SpikeConfig,
) -> Result<Vec<Announcement>> {
    let now_ts = now.timestamp();
    let now_hour = now_ts.div_euclid(HOUR) * HOUR;
    let offset = now.with_timezone(&zone).offset().fix().local_minus_utc();
    let since = now_hour - i64::from(cfg.lookback_days()) * DAY;
    let mut announced = Vec::new();
    for ((source_id, key_id, currency), series) in load_series(conn, since, now_hour + HOUR)? {
        let Some(Chosen { points, daily, estimated }) = series.chosen() else { continue };
        // Daily buckets are UTC days: judge them on UTC days, at the current UTC day's bucket.
        let (judge_hour, judge_offset) = if daily { (now_ts.div_euclid(DAY) * DAY, 0) } else { (now_hour, offset) };
        let trips: Vec<Spike> = detect(points, judge_hour, judge_offset, cfg)
            .into_iter()
            .filter(|spike| !(daily && spike.kind == SpikeKind::LatestHour))
            .collect();
        if trips.is_empty() {
            continue;
        }
        let series = SeriesRef { source_id, key_id: &key_id, currency: &currency, daily, estimated };
        let open = store::latest_spike(conn, source_id, &key_id, &currency)?
            .filter(|stored| last_trip_of(stored) > now_ts - COOLDOWN_SECS);
        match open {
            Some(episode) => {
                let start = episode_start_of(&episode);
                let amount = spend_since(points, start, judge_hour);
                if grow_episode(conn, &series, &episode, &trips, amount, now_ts, zone)? {
                    tracing::info!(alert = episode.id, source = source_id, "spike episode grew: announced again");
                    crate::channels::outbox::enqueue_next_round(conn, episode.id, AlertKind::Spike.as_str(), now_ts)?;
                    announced.push(Announcement { alert_id: episode.id, renotify: true });
                }
            }
            None => {
                let alert = alert_for(conn, &series, &trips, now_ts, zone, cfg)?;
                if let Some(id) = store::insert(conn, &alert, now_ts)? {
                    tracing::info!(alert = id, source = source_id, "spike alert fired");
                    announced.push(Announcement::new_alert(id));
                }
            }
        }
    }
    Ok(announced)
}

/// The series a spike belongs to, and how its points were chosen.
struct SeriesRef<'a> {
    source_id: i64,
    key_id: &'a str,
    currency: &'a str,
    /// Judged on daily buckets.
    daily: bool,
    estimated: bool,
}

/// Unix seconds of an RFC 3339 detail, if present and readable.
fn detail_ts(details: &Value, name: &str) -> Option<i64> {
    details.get(name)?.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp())
}

/// Micros of a decimal-string detail, if present and readable.
fn detail_micros(details: &Value, name: &str) -> Option<i64> {
    details.get(name)?.as_str().and_then(|t| parse_micros(t).ok())
}

/// When a rule last tripped for this episode. Alerts recorded before episodes were tracked
/// have no `updated_at`: their fire time is their only trip.
fn last_trip_of(stored: &StoredSpike) -> i64 {
    detail_ts(&stored.details, "updated_at").unwrap_or(stored.fired_at)
}

/// Where the episode's amount is counted from: the start of its first rule's window.
fn episode_start_of(stored: &StoredSpike) -> i64 {
    detail_ts(&stored.details, "window_start").unwrap_or(stored.fired_at)
}

/// The series' spend in the buckets from `start` through `through` (bucket starts), refunds
/// counted as 0 as the detector counts them. Points older than the detector's lookback are not
/// loaded, so an episode tripping for longer than that would be undercounted.
fn spend_since(points: &[(i64, i64)], start: i64, through: i64) -> i64 {
    points
        .iter()
        .filter(|(bucket, _)| (start..=through).contains(bucket))
        .fold(0i64, |sum, (_, micros)| sum.saturating_add((*micros).max(0)))
}

/// Updates an open episode after a trip at `now_ts` with `amount` spent so far; returns whether
/// it must be announced again (and then rewrites its title and body to say it grew).
fn grow_episode(
    conn: &Connection,
    series: &SeriesRef<'_>,
    episode: &StoredSpike,
    trips: &[Spike],
    amount: i64,
    now_ts: i64,
    zone: Tz,
) -> Result<bool> {
    let mut details = match &episode.details {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let leading = details.get("spike_kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut also: Vec<Value> = details.get("also").and_then(Value::as_array).cloned().unwrap_or_default();
    for trip in trips {
        let kind = kind_name(trip.kind);
        if kind != leading && !also.iter().any(|seen| seen == kind) {
            also.push(kind.into());
        }
    }
    details.insert("also".into(), also.into());
    details.insert("latest".into(), trips_detail(trips));
    details.insert("updated_at".into(), ts_to_rfc3339(now_ts).into());
    // Alerts recorded before episodes were tracked announced their amount when they fired.
    let notified = detail_micros(&episode.details, "notified_amount").unwrap_or(episode.amount_micros);
    let first = detail_micros(&episode.details, "first_amount").unwrap_or(notified);
    let grown = notified > 0 && i128::from(amount) >= i128::from(notified) * i128::from(RENOTIFY_FACTOR);
    let (title, body) = if grown {
        details.insert("notified_amount".into(), format_micros(amount).into());
        let start = episode_start_of(episode);
        let times = if first > 0 { amount / first } else { RENOTIFY_FACTOR };
        let since = if series.daily {
            format!("since {} (UTC day)", ts_to_rfc3339(start).get(..10).unwrap_or_default())
        } else {
            format!("since {} ({})", local_time(start, zone), zone.name())
        };
        let original = episode.body.split_once(FIRST_ALERT_MARK).map_or(episode.body.as_str(), |(_, first)| first);
        (
            format!("Spend spike growing: {}{}", who(conn, series)?, estimate_suffix(series.estimated)),
            format!(
                "Now {times}× the first alert: {} {since}. {FIRST_ALERT_MARK}{original}",
                format_human(amount, series.currency)
            ),
        )
    } else {
        (episode.title.clone(), episode.body.clone())
    };
    store::update_spike(conn, episode.id, amount, &title, &body, &Value::Object(details))?;
    Ok(grown)
}

/// The rules that tripped at one evaluation, for `details.latest`.
fn trips_detail(trips: &[Spike]) -> Value {
    trips
        .iter()
        .map(|t| {
            json!({
                "kind": kind_name(t.kind),
                "window_start": ts_to_rfc3339(t.window_start),
                "window_end": ts_to_rfc3339(t.window_end),
                "amount": format_micros(t.amount_micros),
                "baseline": format_micros(t.baseline_micros),
            })
        })
        .collect()
}

/// How a series is named in alerts: "key Batch job (sk-…9f2c) of work", "spend of work not attributed to a key".
fn who(conn: &Connection, series: &SeriesRef<'_>) -> Result<String> {
    let source: String = conn.query_row("SELECT name FROM sources WHERE id = ?1", [series.source_id], |r| r.get(0))?;
    Ok(if series.key_id.is_empty() {
        format!("spend of {source} {NOT_ATTRIBUTED_TO_A_KEY}")
    } else {
        format!("key {} of {source}", key_label_of(conn, series.source_id, series.key_id)?)
    })
}

fn estimate_suffix(estimated: bool) -> &'static str {
    if estimated {
        " (estimate)"
    } else {
        ""
    }
}

/// `ts` in the user's zone, "2026-03-02 13:00".
fn local_time(ts: i64, zone: Tz) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The alert that opens an episode at `now_ts`, led by the first of `spikes` (what tripped).
fn alert_for(
    conn: &Connection,
    series: &SeriesRef<'_>,
    spikes: &[Spike],
    now_ts: i64,
    zone: Tz,
    cfg: &SpikeConfig,
) -> Result<NewAlert> {
    let &SeriesRef { source_id, key_id, currency, daily, estimated } = series;
    let who = who(conn, series)?;
    let money = |m: i64| format_human(m, currency);
    let local = |ts: i64| local_time(ts, zone);
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
    let estimate = estimate_suffix(estimated);
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
        // One episode per series at a time is enforced by the evaluation's transaction; the fire
        // time keeps a later episode apart from an earlier one led by the same window.
        dedupe_key: format!("spike:{source_id}:{key_id}:{currency}:{kind}:{}:{now_ts}", spike.window_start),
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
            "baseline": format_micros(spike.baseline_micros),
            "threshold": format_micros(spike.threshold_micros),
            "history_days": spike.history_days,
            "buckets": if daily { "day" } else { "hour" },
            "latest": trips_detail(spikes),
            "first_amount": format_micros(spike.amount_micros),
            "notified_amount": format_micros(spike.amount_micros),
            "updated_at": ts_to_rfc3339(now_ts),
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
    use serde_json::json;

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
        let ids = Announcement::ids(&evaluate(conn, at(now), &settings(chrono_tz::Europe::Berlin)).unwrap());
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

        assert_eq!(hour.details["first_amount"], "25.000000");
        assert_eq!(hour.details["notified_amount"], "25.000000");
        assert_eq!(hour.details["updated_at"], "2026-03-02T12:40:00Z");

        // The next hour spikes too: the same episode, 50 USD so far, not yet three times the
        // 25 announced: updated, not announced.
        hours(&mut conn, src, "key_FAKE_batch", spike_hour + HOUR, spike_hour + 2 * HOUR, |_| 25 * M);
        assert!(run(&mut conn, "2026-03-02T13:40:00Z").is_empty());
        let all = store::list(&conn, None).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].amount.as_str(), &all[0].title), ("50.000000", &hour.title));
    }

    /// The batch key's usual hours from 2026-02-10 to `until`, as in the tests above.
    fn steady_until(conn: &mut Connection, src: i64, until: &str) {
        hours(conn, src, "key_FAKE_batch", at("2026-02-10T00:00:00Z").timestamp(), at(until).timestamp(), usual);
    }

    fn hour_of(conn: &mut Connection, src: i64, start: &str, micros: i64) {
        let start = at(start).timestamp();
        hours(conn, src, "key_FAKE_batch", start, start + HOUR, |_| micros);
    }

    fn announce(conn: &mut Connection, now: &str) -> Vec<Announcement> {
        evaluate(conn, at(now), &settings(chrono_tz::Europe::Berlin)).unwrap()
    }

    fn only_alert(conn: &Connection) -> AlertView {
        let mut all = store::list(conn, None).unwrap();
        assert_eq!(all.len(), 1, "{all:#?}");
        all.remove(0)
    }

    #[test]
    fn a_second_rule_tripping_in_the_same_episode_updates_the_first_alert_and_announces_nothing() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        steady_until(&mut conn, src, "2026-03-02T12:00:00Z");
        // 6 USD in the 12:00 UTC hour: an expensive hour, not yet an expensive day.
        hour_of(&mut conn, src, "2026-03-02T12:00:00Z", 6 * M);
        let first = run(&mut conn, "2026-03-02T12:40:00Z");
        assert_eq!(first.len(), 1, "{first:#?}");
        assert_eq!(
            (first[0].details["spike_kind"].as_str(), first[0].amount.as_str()),
            (Some("latest_hour"), "6.000000")
        );
        assert_eq!(first[0].details["also"], json!([]));

        // 35 minutes later the 13:00 hour has 4 USD so far: that hour trips again, and now the day
        // so far (16.38 USD against a bar of 14.91) trips too. Before episodes, this was the
        // second notification of issue 14.
        hour_of(&mut conn, src, "2026-03-02T13:00:00Z", 4 * M);
        assert_eq!(announce(&mut conn, "2026-03-02T13:15:00Z"), vec![], "the same episode: nothing to announce");
        let updated = only_alert(&conn);
        assert_eq!(updated.id, first[0].id);
        assert_eq!(updated.amount, "10.000000", "the episode's spend since 12:00 UTC");
        assert_eq!(updated.details["spike_kind"], "latest_hour");
        assert_eq!(updated.details["also"], json!(["today_so_far"]));
        let latest: Vec<_> = updated.details["latest"].as_array().unwrap().iter().map(|t| t["kind"].clone()).collect();
        assert_eq!(latest, vec![json!("latest_hour"), json!("today_so_far")]);
        assert_eq!(updated.details["latest"][1]["amount"], "16.384000");
        assert_eq!(updated.details["latest"][1]["window_end"], "2026-03-02T14:00:00Z");
        assert_eq!(updated.details["updated_at"], "2026-03-02T13:15:00Z");
        assert_eq!(updated.details["notified_amount"], "6.000000", "what was announced stays");
        assert_eq!(
            (&updated.title, &updated.body, &updated.fired_at),
            (&first[0].title, &first[0].body, &first[0].fired_at)
        );
    }

    #[test]
    fn an_episode_is_announced_again_once_when_its_amount_triples() {
        use super::super::deliver::deliver;
        use super::super::engine::tests::Captured;
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        steady_until(&mut conn, src, "2026-03-02T12:00:00Z");
        hour_of(&mut conn, src, "2026-03-02T12:00:00Z", 6 * M);
        let first = run(&mut conn, "2026-03-02T12:40:00Z").remove(0);
        // 6 + 11.99 = 17.99 USD: just under three times the 6 announced.
        hour_of(&mut conn, src, "2026-03-02T13:00:00Z", 11_990_000);
        assert_eq!(announce(&mut conn, "2026-03-02T13:40:00Z"), vec![]);
        // 6 + 12 = 18 USD: three times.
        hour_of(&mut conn, src, "2026-03-02T13:00:00Z", 12 * M);
        let again = announce(&mut conn, "2026-03-02T13:50:00Z");
        assert_eq!(again, vec![Announcement { alert_id: first.id, renotify: true }]);
        let grown = only_alert(&conn);
        assert_eq!(grown.amount, "18.000000");
        assert_eq!(grown.title, "Spend spike growing: key Batch job (sk-…9f2c) of work (estimate)");
        assert!(
            grown.body.starts_with("Now 3× the first alert: 18.00 USD since 2026-03-02 13:00 (Europe/Berlin). First alert: 6.00 USD in the hour"),
            "{}",
            grown.body
        );
        assert_eq!(grown.details["notified_amount"], "18.000000");
        assert_eq!(grown.fired_at, first.fired_at, "the same alert");
        // Delivery shows it again and records when.
        let captured = Captured::default();
        let s = settings(chrono_tz::Europe::Berlin);
        let shown =
            deliver(&conn, std::slice::from_ref(&grown), Some(&captured), at("2026-03-02T13:50:00Z"), &s).unwrap();
        assert_eq!(shown[0].notified_at.as_deref(), Some("2026-03-02T13:50:00Z"));
        assert_eq!(captured.0.lock().unwrap()[0].summary, grown.title);

        // The same figures again, and growth below three times 18: nothing more.
        assert_eq!(announce(&mut conn, "2026-03-02T13:55:00Z"), vec![]);
        hour_of(&mut conn, src, "2026-03-02T14:00:00Z", 35 * M);
        assert_eq!(announce(&mut conn, "2026-03-02T14:30:00Z"), vec![], "53 USD is under 3 × 18");
        hour_of(&mut conn, src, "2026-03-02T14:00:00Z", 36 * M);
        let third = announce(&mut conn, "2026-03-02T14:40:00Z");
        assert_eq!(third, vec![Announcement { alert_id: first.id, renotify: true }], "54 USD is 3 × 18");
        let body = only_alert(&conn).body;
        assert!(body.starts_with("Now 9× the first alert: 54.00 USD"), "{body}");
        assert_eq!(body.matches("First alert: ").count(), 1, "the first alert's text is kept once: {body}");
    }

    #[test]
    fn after_six_quiet_hours_a_new_spike_is_a_new_episode() {
        let mut conn = db::open_in_memory().unwrap();
        let src = source(&conn, "work", "openai");
        steady_until(&mut conn, src, "2026-03-02T12:00:00Z");
        hour_of(&mut conn, src, "2026-03-02T12:00:00Z", 25 * M);
        let first = run(&mut conn, "2026-03-02T12:40:00Z").remove(0);
        // Ordinary hours again, evaluated every hour as a poller would: the expensive day keeps
        // today-so-far tripping until the local day ends (23:00 UTC in Berlin), so the episode
        // stays open and nothing is announced.
        let quiet_from = at("2026-03-02T13:00:00Z").timestamp();
        for h in 0..21 {
            let hour = quiet_from + h * HOUR;
            hours(&mut conn, src, "key_FAKE_batch", hour, hour + HOUR, usual);
            let now = ts_to_rfc3339(hour + 30 * 60);
            assert_eq!(announce(&mut conn, &now), vec![], "at {now}");
        }
        let episode = only_alert(&conn);
        assert_eq!(
            episode.details["updated_at"], "2026-03-02T22:30:00Z",
            "the last trip: the last hour of the local day"
        );
        // 10:00 UTC the next day, 11.5 hours after that last trip: a new spike is a new episode.
        hour_of(&mut conn, src, "2026-03-03T10:00:00Z", 25 * M);
        let second = run(&mut conn, "2026-03-03T10:40:00Z");
        assert_eq!(second.len(), 1, "{second:#?}");
        assert_ne!(second[0].id, first.id);
        assert_eq!(
            (second[0].details["spike_kind"].as_str(), second[0].amount.as_str()),
            (Some("latest_hour"), "25.000000")
        );
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
