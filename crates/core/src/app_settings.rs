//! Application settings that are not per source, kept in `app_settings` as validated text:
//!
//! - `time_zone`: an IANA name such as `Europe/Berlin`, or `local` (the default) for the system's
//!   zone. Budget periods are days, weeks and months of this zone.
//! - `quiet_hours`: `HH:MM-HH:MM` in that zone (may wrap midnight, e.g. `22:00-07:00`), or `none`.
//!   Alerts that fire then are recorded but not shown on the desktop.
//! - `alerts_paused_until`: a Unix time or RFC 3339 instant, or `none`. Until then alerts are
//!   recorded but not shown ("Pause alerts for 1 hour").
//! - `key_rotation_days`: a key older than this many days is flagged for rotation (default 90,
//!   the usual advice for long-lived secrets).
//! - `close_to_tray`: `on` (the default) or `off`. On, closing the app's window leaves Burnrate
//!   watching from the tray; off, closing the window quits.
//! - `start_at_login_offered`: `on` once the app has offered to start at login (after the first
//!   source), whatever the answer, so it asks only once.
//! - `serve_local`: `on` or `off` (the default). On, the desktop app answers what `burnrate serve`
//!   answers (`/metrics`, `/healthz`, the read-only API) on 127.0.0.1, port `serve_port`.
//! - `serve_port`: 1 to 65535, default 9464.
//!
//! - `metrics_top_n`: how many keys and how many models per source keep their own series in
//!   `burnrate metrics` (1 to 10000, default 50); the rest are summed into `other`, so a scrape
//!   stays small and totals stay right.
//!
//! - `display_currency`: a currency code (e.g. `EUR`) or `none` (the default). Set, the headline,
//!   charts, key table, tray and reports also show every amount converted into it at the rate of
//!   its own day (see [`crate::fx`]); the native amounts stay, and the ledger never changes.
//!
//! One flag is not a setting but a memory kept in the same table: `tray_notice_shown`, set
//! after the one notification that says closing the window did not quit ([`mark_once`]).

use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension};

use crate::days::ts_to_rfc3339;
use crate::dto::SettingsView;
use crate::environment::Environment;
use crate::error::{Error, Result};

pub const TIME_ZONE: &str = "time_zone";
pub const QUIET_HOURS: &str = "quiet_hours";
pub const ALERTS_PAUSED_UNTIL: &str = "alerts_paused_until";
pub const KEY_ROTATION_DAYS: &str = "key_rotation_days";
pub const CLOSE_TO_TRAY: &str = "close_to_tray";
pub const START_AT_LOGIN_OFFERED: &str = "start_at_login_offered";
/// The most one source may report for one day (per currency and kind), in the currency's units;
/// more is refused at ingest (see `ledger::plausible`).
pub const MAX_DAILY_AMOUNT: &str = "max_daily_amount";
/// Keys and models per source that keep their own label in the metrics (see [`crate::metrics`]).
pub const METRICS_TOP_N: &str = "metrics_top_n";
/// `metrics_top_n` when none is set: enough for the keys anyone looks at, few enough series for
/// a Prometheus scrape.
pub const DEFAULT_METRICS_TOP_N: u32 = 50;
pub const SERVE_LOCAL: &str = "serve_local";
pub const SERVE_PORT: &str = "serve_port";
pub const DISPLAY_CURRENCY: &str = "display_currency";
pub const NAMES: [&str; 11] = [
    TIME_ZONE,
    QUIET_HOURS,
    ALERTS_PAUSED_UNTIL,
    KEY_ROTATION_DAYS,
    CLOSE_TO_TRAY,
    START_AT_LOGIN_OFFERED,
    MAX_DAILY_AMOUNT,
    METRICS_TOP_N,
    SERVE_LOCAL,
    SERVE_PORT,
    DISPLAY_CURRENCY,
];
/// `serve_port` when none is set (`burnrate serve`'s default port too).
pub const DEFAULT_SERVE_PORT: u16 = 9464;

/// Parses `serve_port`: 1 to 65535; `default` (or empty) is 9464.
fn parse_serve_port(text: &str) -> Result<u16> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("default") {
        return Ok(DEFAULT_SERVE_PORT);
    }
    match t.parse::<u16>() {
        Ok(port @ 1..) => Ok(port),
        _ => Err(Error::invalid_input(format!("{t:?} is not a port; give a number from 1 to 65535, e.g. 9464"))),
    }
}
/// Parses `display_currency`: `none` (or empty) for no conversion, else a currency with rates
/// (see [`crate::fx::convertible_currency`]).
fn parse_display_currency(conn: &Connection, text: &str) -> Result<Option<String>> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    crate::fx::convertible_currency(conn, t).map(Some)
}

/// The display currencies the Settings view offers: the ECB's and those with imported rates,
/// EUR (the rates' base) first, then alphabetical.
fn convertible_currencies(conn: &Connection) -> Result<Vec<String>> {
    let mut rest: std::collections::BTreeSet<String> =
        crate::fx::ECB_CURRENCIES.iter().map(|c| (*c).to_owned()).collect();
    let mut stmt = conn.prepare("SELECT DISTINCT currency FROM fx_rates")?;
    for currency in stmt.query_map([], |r| r.get::<_, String>(0))? {
        rest.insert(currency?);
    }
    rest.remove(crate::fx::BASE);
    Ok(std::iter::once(crate::fx::BASE.to_owned()).chain(rest).collect())
}

/// `max_daily_amount` when none is set: a million a day from one source is beyond any account
/// Burnrate's users run, and far from what a 64-bit sum of micro-units can hold.
pub const DEFAULT_MAX_DAILY_AMOUNT_MICROS: i64 = 1_000_000 * crate::money::MICROS_PER_UNIT;
/// The bound cannot be raised past this: sums of a ledger at the bound must still fit.
const MAX_MAX_DAILY_AMOUNT_MICROS: i64 = 1_000_000_000 * crate::money::MICROS_PER_UNIT;

/// Parses `metrics_top_n`: 1 to 10000; `default` (or empty) is 50.
fn parse_metrics_top_n(text: &str) -> Result<u32> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("default") {
        return Ok(DEFAULT_METRICS_TOP_N);
    }
    match t.parse::<u32>() {
        Ok(n @ 1..=10000) => Ok(n),
        _ => Err(Error::invalid_input(format!(
            "{t:?} is not a series count; give how many keys and models per source keep their own series, \
             from 1 to 10000, e.g. 50, or default"
        ))),
    }
}

/// Parses `max_daily_amount`: a positive amount up to 1,000,000,000; `default` (or empty) is
/// the default.
fn parse_max_daily_amount(text: &str) -> Result<i64> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("default") {
        return Ok(DEFAULT_MAX_DAILY_AMOUNT_MICROS);
    }
    match crate::money::parse_micros(&t.replace(',', "")) {
        Ok(m) if m > 0 && m <= MAX_MAX_DAILY_AMOUNT_MICROS => Ok(m),
        _ => Err(Error::invalid_input(format!(
            "{t:?} is not a daily bound; give an amount from 0.000001 to 1000000000 in the currency's units, e.g. \
             5000000, or default"
        ))),
    }
}

/// The `max_daily_amount` in effect, in micro-units.
pub fn max_daily_amount_micros(conn: &Connection) -> Result<i64> {
    Ok(match read(conn, MAX_DAILY_AMOUNT)? {
        Some(v) => parse_max_daily_amount(&v).unwrap_or_else(|e| {
            tracing::warn!(setting = MAX_DAILY_AMOUNT, "ignoring an unreadable stored setting: {}", e.message());
            DEFAULT_MAX_DAILY_AMOUNT_MICROS
        }),
        None => DEFAULT_MAX_DAILY_AMOUNT_MICROS,
    })
}
/// Set once the "keeps watching from the tray" notification has been shown (see [`mark_once`]).
pub const TRAY_NOTICE_SHOWN: &str = "tray_notice_shown";
/// The rotation period when none is set.
pub const DEFAULT_ROTATION_DAYS: u32 = 90;

/// Parses the rotation period: 1 to 3650 days; `default` (or empty) is 90.
fn parse_rotation_days(text: &str) -> Result<u32> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("default") {
        return Ok(DEFAULT_ROTATION_DAYS);
    }
    match t.parse::<u32>() {
        Ok(days @ 1..=3650) => Ok(days),
        _ => Err(Error::invalid_input(format!(
            "{t:?} is not a rotation period; give whole days from 1 to 3650, e.g. 90, or default"
        ))),
    }
}

/// Parses a switch: `on`/`true`/`yes`/`1` or `off`/`false`/`no`/`0` (any case); empty or
/// `default` gives `default`.
fn parse_switch(name: &str, text: &str, default: bool) -> Result<bool> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "" | "default" => Ok(default),
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(Error::invalid_input(format!("{text:?} is not a value for {name}; use on or off"))),
    }
}

fn switch_text(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// The time zone setting: the system's, or a named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneSetting {
    Local,
    Named(Tz),
}

impl ZoneSetting {
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("local") {
            return Ok(ZoneSetting::Local);
        }
        Tz::from_str(t).map(ZoneSetting::Named).map_err(|_| {
            Error::invalid_input(format!(
                "{t:?} is not an IANA time zone name; use e.g. Europe/Berlin, America/New_York, UTC, or local"
            ))
        })
    }
    fn text(&self) -> String {
        match self {
            ZoneSetting::Local => "local".into(),
            ZoneSetting::Named(tz) => tz.name().into(),
        }
    }
}

/// Quiet hours in local time, `start` inclusive, `end` exclusive; wraps midnight when end < start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`; `none`/`off`/empty is no quiet hours.
    pub fn parse(text: &str) -> Result<Option<Self>> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || {
            Error::invalid_input(format!(
                "{t:?} is not a quiet-hours range; use HH:MM-HH:MM, e.g. 22:00-07:00, or none"
            ))
        };
        let (a, b) = t.split_once('-').ok_or_else(bad)?;
        let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(Error::invalid_input(format!(
                "quiet hours {t} start and end at the same time; give a range such as 22:00-07:00, or none"
            )));
        }
        Ok(Some(QuietHours { start, end }))
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        let t = NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).expect("valid time");
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    fn text(&self) -> String {
        format!("{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

/// The settings with the time zone resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
    pub time_zone: ZoneSetting,
    /// The zone in effect: the named one, or the system's (UTC when it cannot be found).
    pub zone: Tz,
    pub quiet_hours: Option<QuietHours>,
    pub alerts_paused_until: Option<i64>,
    pub key_rotation_days: u32,
    /// Closing the window leaves Burnrate running in the tray (default) instead of quitting.
    pub close_to_tray: bool,
    /// The app has offered to start at login (asked once, after the first source).
    pub start_at_login_offered: bool,
    /// See [`MAX_DAILY_AMOUNT`].
    pub max_daily_amount_micros: i64,
    /// See [`METRICS_TOP_N`].
    pub metrics_top_n: u32,
    /// The desktop app serves `/metrics` and the read-only API on 127.0.0.1:`serve_port`.
    pub serve_local: bool,
    pub serve_port: u16,
    /// Amounts are also shown converted into this currency; None: never converted.
    pub display_currency: Option<String>,
    /// What `display_currency` can be set to (see [`SettingsView::convertible_currencies`]).
    pub convertible_currencies: Vec<String>,
}

impl AppSettings {
    pub fn view(&self) -> SettingsView {
        SettingsView {
            time_zone: self.time_zone.text(),
            effective_time_zone: self.zone.name().to_owned(),
            quiet_hours: self.quiet_hours.map(|q| q.text()),
            alerts_paused_until: self.alerts_paused_until.map(ts_to_rfc3339),
            key_rotation_days: self.key_rotation_days,
            close_to_tray: self.close_to_tray,
            start_at_login_offered: self.start_at_login_offered,
            max_daily_amount: crate::money::format_decimal_trimmed(self.max_daily_amount_micros),
            metrics_top_n: self.metrics_top_n,
            serve_local: self.serve_local,
            serve_port: self.serve_port,
            display_currency: self.display_currency.clone(),
            convertible_currencies: self.convertible_currencies.clone(),
        }
    }

    /// Why an alert fired at `now` is not shown on the desktop, if it is not.
    pub fn silenced(&self, now: DateTime<Utc>) -> Option<String> {
        if let Some(until) = self.alerts_paused_until.filter(|&u| u > now.timestamp()) {
            return Some(format!("alerts are paused until {}", ts_to_rfc3339(until)));
        }
        let local = now.with_timezone(&self.zone).time();
        match self.quiet_hours {
            Some(q) if q.contains(local) => {
                Some(format!("quiet hours ({} {}); shown in the app only", q.text(), self.zone.name()))
            }
            _ => None,
        }
    }
}

/// Resolves `local` through the environment's system zone; an unknown system zone falls back to
/// UTC with a warning (budgets still work, on UTC days).
pub fn resolve_zone(setting: ZoneSetting, env: &dyn Environment) -> Tz {
    match setting {
        ZoneSetting::Named(tz) => tz,
        ZoneSetting::Local => match env.system_time_zone() {
            Some(name) => Tz::from_str(name.trim()).unwrap_or_else(|_| {
                tracing::warn!(zone = %name, "the system time zone is not a known IANA name; using UTC");
                Tz::UTC
            }),
            None => {
                tracing::warn!("cannot tell the system time zone; using UTC (set one: burnrate settings set time_zone Europe/Berlin)");
                Tz::UTC
            }
        },
    }
}

fn read(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM app_settings WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

/// Loads the settings. A stored value that no longer parses (edited by hand) is ignored with a warning.
pub fn load(conn: &Connection, env: &dyn Environment) -> Result<AppSettings> {
    let stored = |name: &str| -> Result<Option<String>> { read(conn, name) };
    let warn = |name: &str, e: Error| {
        tracing::warn!(setting = name, "ignoring an unreadable stored setting: {}", e.message());
    };
    let time_zone = match stored(TIME_ZONE)? {
        Some(v) => ZoneSetting::parse(&v).unwrap_or_else(|e| {
            warn(TIME_ZONE, e);
            ZoneSetting::Local
        }),
        None => ZoneSetting::Local,
    };
    let quiet_hours = match stored(QUIET_HOURS)? {
        Some(v) => QuietHours::parse(&v).unwrap_or_else(|e| {
            warn(QUIET_HOURS, e);
            None
        }),
        None => None,
    };
    let alerts_paused_until = stored(ALERTS_PAUSED_UNTIL)?.and_then(|v| v.parse::<i64>().ok());
    let key_rotation_days = match stored(KEY_ROTATION_DAYS)? {
        Some(v) => parse_rotation_days(&v).unwrap_or_else(|e| {
            warn(KEY_ROTATION_DAYS, e);
            DEFAULT_ROTATION_DAYS
        }),
        None => DEFAULT_ROTATION_DAYS,
    };
    let switch = |name: &str, default: bool| -> Result<bool> {
        Ok(match stored(name)? {
            Some(v) => parse_switch(name, &v, default).unwrap_or_else(|e| {
                warn(name, e);
                default
            }),
            None => default,
        })
    };
    Ok(AppSettings {
        time_zone,
        zone: resolve_zone(time_zone, env),
        quiet_hours,
        alerts_paused_until,
        key_rotation_days,
        close_to_tray: switch(CLOSE_TO_TRAY, true)?,
        start_at_login_offered: switch(START_AT_LOGIN_OFFERED, false)?,
        max_daily_amount_micros: max_daily_amount_micros(conn)?,
        metrics_top_n: match stored(METRICS_TOP_N)? {
            Some(v) => parse_metrics_top_n(&v).unwrap_or_else(|e| {
                warn(METRICS_TOP_N, e);
                DEFAULT_METRICS_TOP_N
            }),
            None => DEFAULT_METRICS_TOP_N,
        },
        serve_local: switch(SERVE_LOCAL, false)?,
        serve_port: match stored(SERVE_PORT)? {
            Some(v) => parse_serve_port(&v).unwrap_or_else(|e| {
                warn(SERVE_PORT, e);
                DEFAULT_SERVE_PORT
            }),
            None => DEFAULT_SERVE_PORT,
        },
        display_currency: match stored(DISPLAY_CURRENCY)? {
            Some(v) => parse_display_currency(conn, &v).unwrap_or_else(|e| {
                warn(DISPLAY_CURRENCY, e);
                None
            }),
            None => None,
        },
        convertible_currencies: convertible_currencies(conn)?,
    })
}

/// The display currency in effect, without loading every setting (the poller asks often).
pub fn display_currency(conn: &Connection) -> Result<Option<String>> {
    Ok(read(conn, DISPLAY_CURRENCY)?.and_then(|v| parse_display_currency(conn, &v).ok().flatten()))
}

/// Records that the one-time thing named `flag` has happened; true if this call recorded it
/// (the first time), false if it had already happened. Atomic: of two racing callers one wins.
pub fn mark_once(conn: &Connection, flag: &str) -> Result<bool> {
    let inserted =
        conn.execute("INSERT INTO app_settings (name, value) VALUES (?1, 'on') ON CONFLICT (name) DO NOTHING", [flag])?;
    Ok(inserted == 1)
}

/// Forgets a one-time flag, so it can happen again (e.g. a notice that could not be shown).
pub fn unmark(conn: &Connection, flag: &str) -> Result<()> {
    conn.execute("DELETE FROM app_settings WHERE name = ?1", [flag])?;
    Ok(())
}

/// 9999-12-31T23:59:59Z, the last instant RFC 3339 can write.
const LAST_SHOWABLE_INSTANT: i64 = 253_402_300_799;

/// Parses an instant for `alerts_paused_until`: Unix seconds or RFC 3339; `none` clears it.
fn parse_instant(text: &str) -> Result<Option<i64>> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    if let Ok(ts) = t.parse::<i64>() {
        if ts < 0 {
            return Err(Error::invalid_input(format!("{t} is before 1970; give a Unix time or an RFC 3339 instant")));
        }
        // Past the year 9999 no calendar (nor RFC 3339) can show it.
        if ts > LAST_SHOWABLE_INSTANT {
            return Err(Error::invalid_input(format!(
                "{t} is after the year 9999; give a Unix time or an RFC 3339 instant, e.g. 2026-03-02T18:00:00Z"
            )));
        }
        return Ok(Some(ts));
    }
    DateTime::parse_from_rfc3339(t).map(|d| Some(d.timestamp())).map_err(|_| {
        Error::invalid_input(format!(
            "{t:?} is not a time; give Unix seconds or RFC 3339 (e.g. 2026-03-02T18:00:00Z), or none"
        ))
    })
}

/// Validates and stores one setting; on error nothing changes.
pub fn set(conn: &Connection, name: &str, value: &str) -> Result<()> {
    let stored: Option<String> = match name.trim() {
        TIME_ZONE => match ZoneSetting::parse(value)? {
            ZoneSetting::Local => None,
            z => Some(z.text()),
        },
        QUIET_HOURS => QuietHours::parse(value)?.map(|q| q.text()),
        ALERTS_PAUSED_UNTIL => parse_instant(value)?.map(|t| t.to_string()),
        KEY_ROTATION_DAYS => {
            Some(parse_rotation_days(value)?).filter(|&d| d != DEFAULT_ROTATION_DAYS).map(|d| d.to_string())
        }
        // Stored only when different from the default, like the others.
        CLOSE_TO_TRAY => {
            Some(parse_switch(CLOSE_TO_TRAY, value, true)?).filter(|&on| !on).map(|on| switch_text(on).into())
        }
        START_AT_LOGIN_OFFERED => {
            Some(parse_switch(START_AT_LOGIN_OFFERED, value, false)?).filter(|&on| on).map(|on| switch_text(on).into())
        }
        SERVE_LOCAL => Some(parse_switch(SERVE_LOCAL, value, false)?).filter(|&on| on).map(|on| switch_text(on).into()),
        SERVE_PORT => Some(parse_serve_port(value)?).filter(|&p| p != DEFAULT_SERVE_PORT).map(|p| p.to_string()),
        MAX_DAILY_AMOUNT => Some(parse_max_daily_amount(value)?)
            .filter(|&m| m != DEFAULT_MAX_DAILY_AMOUNT_MICROS)
            .map(crate::money::format_decimal_trimmed),
        METRICS_TOP_N => {
            Some(parse_metrics_top_n(value)?).filter(|&n| n != DEFAULT_METRICS_TOP_N).map(|n| n.to_string())
        }
        DISPLAY_CURRENCY => parse_display_currency(conn, value)?,
        other => {
            return Err(Error::invalid_input(format!(
                "there is no setting {other:?}; the settings are {}",
                NAMES.join(", ")
            )))
        }
    };
    let name = name.trim();
    match stored {
        Some(v) => conn.execute(
            "INSERT INTO app_settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, v],
        )?,
        None => conn.execute("DELETE FROM app_settings WHERE name = ?1", [name])?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use std::collections::HashMap;

    fn env(tz: Option<&str>) -> HashMap<String, String> {
        tz.map(|z| HashMap::from([("TZ".to_owned(), z.to_owned())])).unwrap_or_default()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_time_zone_is_local_by_default_and_follows_the_system() {
        let conn = db::open_in_memory().unwrap();
        let s = load(&conn, &env(Some("Asia/Tokyo"))).unwrap();
        assert_eq!((s.time_zone, s.zone), (ZoneSetting::Local, chrono_tz::Asia::Tokyo));
        assert_eq!(load(&conn, &env(None)).unwrap().zone, Tz::UTC, "unknown system zone: UTC");
        set(&conn, TIME_ZONE, "America/New_York").unwrap();
        let s = load(&conn, &env(Some("Asia/Tokyo"))).unwrap();
        assert_eq!(s.zone, chrono_tz::America::New_York);
        assert_eq!(s.view().time_zone, "America/New_York");
        set(&conn, TIME_ZONE, "local").unwrap();
        assert_eq!(load(&conn, &env(Some("Asia/Tokyo"))).unwrap().view().time_zone, "local");
    }

    #[test]
    fn the_local_server_is_off_on_port_9464_until_turned_on() {
        let conn = db::open_in_memory().unwrap();
        let s = load(&conn, &env(None)).unwrap();
        assert_eq!((s.serve_local, s.serve_port), (false, DEFAULT_SERVE_PORT));
        set(&conn, SERVE_LOCAL, "on").unwrap();
        set(&conn, SERVE_PORT, "19464").unwrap();
        let v = load(&conn, &env(None)).unwrap().view();
        assert_eq!((v.serve_local, v.serve_port), (true, 19464));
        for bad in ["0", "65536", "-1", "http"] {
            let e = set(&conn, SERVE_PORT, bad).unwrap_err();
            assert!(e.message().contains("from 1 to 65535"), "{bad}: {e}");
        }
        assert_eq!(load(&conn, &env(None)).unwrap().serve_port, 19464, "a refused port changes nothing");
        set(&conn, SERVE_PORT, "default").unwrap();
        set(&conn, SERVE_LOCAL, "off").unwrap();
        let s = load(&conn, &env(None)).unwrap();
        assert_eq!((s.serve_local, s.serve_port), (false, DEFAULT_SERVE_PORT));
    }

    #[test]
    fn the_display_currency_is_none_until_set_to_a_currency_with_rates() {
        let conn = db::open_in_memory().unwrap();
        assert_eq!(load(&conn, &env(None)).unwrap().display_currency, None);
        set(&conn, DISPLAY_CURRENCY, " eur ").unwrap();
        assert_eq!(load(&conn, &env(None)).unwrap().view().display_currency.as_deref(), Some("EUR"));
        let e = set(&conn, DISPLAY_CURRENCY, "XYZ").unwrap_err();
        assert!(e.message().contains("no exchange rates for XYZ"), "{e}");
        assert!(set(&conn, DISPLAY_CURRENCY, "euro").is_err());
        assert_eq!(load(&conn, &env(None)).unwrap().display_currency.as_deref(), Some("EUR"), "refused: unchanged");
        set(&conn, DISPLAY_CURRENCY, "none").unwrap();
        assert_eq!(load(&conn, &env(None)).unwrap().display_currency, None);
        // Offered: EUR first, then the ECB's and imported currencies in order.
        let mut conn = conn;
        crate::fx::import_csv(
            &mut conn,
            b"date,currency,rate\n2026-04-01,ARS,950.5\n",
            chrono::DateTime::from_timestamp(1_775_822_400, 0).unwrap(),
        )
        .unwrap();
        let offered = load(&conn, &env(None)).unwrap().view().convertible_currencies;
        assert_eq!(offered.len(), crate::fx::ECB_CURRENCIES.len() + 1);
        assert_eq!(&offered[..3], ["EUR", "ARS", "AUD"]);
        assert!(offered.contains(&"USD".to_owned()) && offered.contains(&"CNY".to_owned()));
    }

    #[test]
    fn bad_values_are_refused_and_change_nothing() {
        let conn = db::open_in_memory().unwrap();
        set(&conn, QUIET_HOURS, "22:00-07:00").unwrap();
        set(&conn, TIME_ZONE, "Europe/Berlin").unwrap();
        for (name, value) in [
            (TIME_ZONE, "Mars/Olympus"),
            (QUIET_HOURS, "22-7"),
            (QUIET_HOURS, "25:00-07:00"),
            (QUIET_HOURS, "07:00-07:00"),
            (ALERTS_PAUSED_UNTIL, "soon"),
            (ALERTS_PAUSED_UNTIL, "-5"),
            ("volume", "11"),
        ] {
            assert!(set(&conn, name, value).is_err(), "{name}={value} must be refused");
        }
        let s = load(&conn, &env(None)).unwrap();
        assert_eq!(s.view().quiet_hours.as_deref(), Some("22:00-07:00"));
        assert_eq!(s.zone, chrono_tz::Europe::Berlin);
        assert_eq!(s.alerts_paused_until, None);
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_the_chosen_zone_and_pauses_expire() {
        let conn = db::open_in_memory().unwrap();
        set(&conn, TIME_ZONE, "Europe/Berlin").unwrap();
        set(&conn, QUIET_HOURS, "22:00-07:00").unwrap();
        let s = load(&conn, &env(None)).unwrap();
        // 21:30 UTC in March is 22:30 in Berlin (UTC+1): quiet.
        assert!(s.silenced(at("2026-03-02T21:30:00Z")).unwrap().contains("quiet hours"));
        // 06:30 UTC is 07:30 in Berlin: not quiet.
        assert_eq!(s.silenced(at("2026-03-02T06:30:00Z")), None);
        assert!(s.silenced(at("2026-03-02T05:59:00Z")).is_some());
        set(&conn, QUIET_HOURS, "none").unwrap();
        set(&conn, ALERTS_PAUSED_UNTIL, "2026-03-02T13:00:00Z").unwrap();
        let s = load(&conn, &env(None)).unwrap();
        assert!(s.silenced(at("2026-03-02T12:30:00Z")).unwrap().contains("paused until 2026-03-02T13:00:00Z"));
        assert_eq!(s.silenced(at("2026-03-02T13:00:00Z")), None, "the pause has ended");
        set(&conn, ALERTS_PAUSED_UNTIL, "none").unwrap();
        assert_eq!(load(&conn, &env(None)).unwrap().alerts_paused_until, None);
    }

    #[test]
    fn close_to_tray_is_on_until_turned_off_and_takes_on_off_or_true_false() {
        let conn = db::open_in_memory().unwrap();
        let s = load(&conn, &env(None)).unwrap();
        assert!(s.close_to_tray, "on by default");
        assert!(!s.start_at_login_offered, "not offered yet");
        for (value, on) in
            [("off", false), ("ON", true), ("false", false), ("true", true), ("0", false), ("default", true)]
        {
            set(&conn, CLOSE_TO_TRAY, value).unwrap();
            assert_eq!(load(&conn, &env(None)).unwrap().view().close_to_tray, on, "close_to_tray={value}");
        }
        set(&conn, START_AT_LOGIN_OFFERED, "true").unwrap();
        assert!(load(&conn, &env(None)).unwrap().view().start_at_login_offered);
        let refused = set(&conn, CLOSE_TO_TRAY, "sometimes").unwrap_err();
        assert!(refused.message().contains("use on or off"), "{}", refused.message());
        // A value edited by hand into something unreadable falls back to the default.
        conn.execute("UPDATE app_settings SET value = 'maybe' WHERE name = ?1", [START_AT_LOGIN_OFFERED]).unwrap();
        assert!(!load(&conn, &env(None)).unwrap().start_at_login_offered);
    }

    #[test]
    fn a_one_time_flag_is_recorded_once_and_can_be_forgotten() {
        let conn = db::open_in_memory().unwrap();
        assert!(mark_once(&conn, TRAY_NOTICE_SHOWN).unwrap(), "the first time");
        assert!(!mark_once(&conn, TRAY_NOTICE_SHOWN).unwrap(), "never again");
        unmark(&conn, TRAY_NOTICE_SHOWN).unwrap();
        assert!(mark_once(&conn, TRAY_NOTICE_SHOWN).unwrap(), "again after being forgotten");
        assert!(set(&conn, TRAY_NOTICE_SHOWN, "off").is_err(), "not a setting anyone sets");
    }
}
