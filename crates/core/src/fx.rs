//! Dated exchange rates: daily reference rates against EUR (the European Central Bank's base),
//! kept in `fx_rates`, so an amount is read in another currency at the rate of its own day
//! and a changed rate never rewrites history. The ledger itself is never converted.
//!
//! Rates come from the ECB's published XML files ([`sync_ecb`]) or a CSV file of a company's
//! own rates ([`import_csv`]); an imported rate wins over the ECB's for the same day. A day
//! without a rate (weekend, TARGET holiday) uses the last earlier one, at most
//! [`MAX_RATE_AGE_DAYS`] back, and [`DatedRate::rate_day`] says which day that was.
//!
//! Rates are [`Decimal`]s, never floats. A conversion is computed exactly (integer arithmetic
//! on the rates' digits) and rounded once, half to even, to the target's micro-units.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::events::{BytesStart, Event};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::days::{day_start, ts_to_day};
use crate::error::{Error, ErrorCode, Result};
use crate::net;
use crate::providers::HttpClient;

/// The currency every stored rate is quoted against: `rate` units of a currency buy 1 EUR.
pub const BASE: &str = "EUR";
/// Where the ECB publishes its reference rates (the files are joined onto it).
pub const DEFAULT_ECB_URL: &str = "https://www.ecb.europa.eu/stats/eurofxref/";
/// Environment variable that points `rates sync` at another copy of the ECB's files (a mirror,
/// or a test's loopback server).
pub const ECB_URL_ENV: &str = "BURNRATE_ECB_URL";
/// Every rate since 1999: fetched the first time, so old spend can be converted too.
pub const ECB_FULL_HISTORY: &str = "eurofxref-hist.xml";
/// The last 90 days: fetched on every later sync (the ECB revises nothing older).
pub const ECB_90_DAYS: &str = "eurofxref-hist-90d.xml";
/// The oldest a rate may be and still stand in for a day without one. The ECB's longest gap
/// (Easter, Christmas) is four days; a month lets a company import one rate per month. Older
/// than that the rate is missing, never silently stale.
pub const MAX_RATE_AGE_DAYS: i64 = 31;
/// Seconds after a successful ECB fetch before [`sync_ecb`] asks again (unless forced).
const ECB_REFRESH_SECS: i64 = 86_400;

/// A rate and the day it is from (earlier than the day asked for on weekends and holidays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatedRate {
    /// Units of the currency per 1 EUR.
    pub rate: Decimal,
    pub rate_day: NaiveDate,
}

/// An amount converted at the rates of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converted {
    /// The amount in the target currency's micro-units, rounded once, half to even.
    pub micros: i64,
    /// The day of the source currency's rate that was used.
    pub rate_day_from: NaiveDate,
    /// The day of the target currency's rate that was used.
    pub rate_day_to: NaiveDate,
    /// The two rates used (units per EUR), kept so [`Converted::rate`] is computed only by the
    /// few callers that show it, not for every row of a report.
    rate_from: Decimal,
    rate_to: Decimal,
}

/// One stored rate, as `rates list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateRow {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub currency: String,
    /// Units of `currency` per 1 EUR, as decimal text (never a float).
    pub rate: String,
    /// `ecb` or `import`.
    pub source: String,
}

/// What [`sync_ecb`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcbSync {
    /// False when the ECB was already asked within the last day and was not asked again.
    pub fetched: bool,
    /// The file fetched (or last fetched).
    pub file: String,
    /// Rates read from the file (0 when nothing was fetched).
    pub rates: usize,
    /// Days the file covered.
    pub days: usize,
    /// The newest day with an ECB rate now stored, `YYYY-MM-DD`.
    pub newest_day: Option<String>,
    /// When the ECB was last fetched, Unix seconds.
    pub fetched_at: i64,
}

/// `text` as a stored currency code: three ASCII letters, upper-cased. Says what is wrong.
fn currency_code(text: &str) -> std::result::Result<String, String> {
    let t = text.trim();
    if t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(t.to_ascii_uppercase())
    } else {
        Err(format!("{t:?} is not a currency code; use three letters (ISO 4217), e.g. USD"))
    }
}

/// `text` as a rate: a positive decimal. Says what is wrong.
fn positive_rate(text: &str) -> std::result::Result<Decimal, String> {
    let t = text.trim();
    let rate = Decimal::from_str(t).map_err(|_| format!("rate {t:?} is not a decimal number such as 1.0823"))?;
    if rate <= Decimal::ZERO {
        return Err(format!("rate {t} is not above zero; a rate is how many units of the currency buy 1 EUR"));
    }
    Ok(rate)
}

/// `text` as a day no later than `today`. Says what is wrong.
fn past_day(text: &str, today: NaiveDate) -> std::result::Result<NaiveDate, String> {
    let t = text.trim();
    // chrono also reads 2026-4-1; the files Burnrate reads always pad, so an unpadded date is a typo.
    let day = (t.len() == 10)
        .then(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("date {t:?} is not YYYY-MM-DD"))?;
    if day > today {
        return Err(format!("date {day} is in the future (today is {today}, UTC)"));
    }
    Ok(day)
}

/// Reads the ECB's reference-rate XML (`eurofxref-daily.xml`, `eurofxref-hist.xml`,
/// `eurofxref-hist-90d.xml`, all the same shape):
/// ```text
/// <gesmes:Envelope …><gesmes:subject>Reference rates</gesmes:subject>…
///   <Cube><Cube time='2026-03-02'><Cube currency='USD' rate='1.0823'/>…</Cube>…</Cube>
/// </gesmes:Envelope>
/// ```
/// Returns (day, currency, units per EUR) in file order. A zero or negative rate, a bad
/// currency code, a day after `today` or a file without a single rate is an error for the
/// whole file: a half-believed file is never stored.
pub fn parse_ecb_xml(xml: &str, today: NaiveDate) -> Result<Vec<(NaiveDate, String, Decimal)>> {
    let bad = |why: String| {
        Error::new(
            ErrorCode::UnexpectedResponse,
            format!(
                "the ECB's rates file cannot be read ({why}); nothing was stored. Check {ECB_URL_ENV} if it is set"
            ),
        )
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut out = Vec::new();
    let mut saw_envelope = false;
    // One entry per open <Cube>: whether it set the day its children are rates of.
    let mut open_cubes: Vec<bool> = Vec::new();
    let mut day: Option<NaiveDate> = None;
    // Elements open: a file cut off mid-transfer ends with some still open.
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| bad(format!("at byte {}: {e}", reader.error_position())))?;
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        match event {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Envelope" => saw_envelope = true,
            Event::Start(e) if e.local_name().as_ref() == "Cube" => {
                let sets_day = cube(&e, today, &mut day, &mut out).map_err(bad)?;
                open_cubes.push(sets_day);
            }
            Event::Empty(e) if e.local_name().as_ref() == "Cube" => {
                let mut scratch = day;
                cube(&e, today, &mut scratch, &mut out).map_err(bad)?;
            }
            Event::End(e) if e.local_name().as_ref() == "Cube" => {
                // Closing a day's Cube ends that day: a rate after it belongs to no day.
                let closes_day = open_cubes.pop() == Some(true);
                day = day.filter(|_| !closes_day);
            }
            Event::Eof if depth > 0 => return Err(bad("it ends early; the download was cut off".into())),
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_envelope {
        return Err(bad("it is not a gesmes:Envelope; the address may serve an error page".into()));
    }
    if out.is_empty() {
        return Err(bad("it holds no rates".into()));
    }
    Ok(out)
}

/// One `<Cube>`: `time='…'` opens a day (true is returned), `currency='…' rate='…'` is a rate
/// of the open day, appended to `out`; a Cube with neither is the outer wrapper.
fn cube(
    e: &BytesStart<'_>,
    today: NaiveDate,
    day: &mut Option<NaiveDate>,
    out: &mut Vec<(NaiveDate, String, Decimal)>,
) -> std::result::Result<bool, String> {
    let (mut time, mut currency, mut rate) = (None, None, None);
    for attr in e.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        // Dates, codes and numbers never need XML escapes; one that has them is not the ECB's.
        let value = attr.value.into_owned();
        match attr.key.local_name().as_ref() {
            "time" => time = Some(value),
            "currency" => currency = Some(value),
            "rate" => rate = Some(value),
            _ => {}
        }
    }
    if let Some(time) = time {
        *day = Some(past_day(&time, today)?);
        return Ok(true);
    }
    match (currency, rate) {
        (Some(c), Some(r)) => {
            let on = day.ok_or_else(|| format!("a rate for {c} is outside any <Cube time='…'>"))?;
            let code = currency_code(&c)?;
            if code == BASE {
                return Err(format!("it lists a rate for {BASE}, the base currency"));
            }
            let rate = positive_rate(&r).map_err(|why| format!("{on} {code}: {why}"))?;
            out.push((on, code, rate));
            Ok(false)
        }
        (Some(c), None) => Err(format!("the {c} entry has no rate")),
        (None, Some(_)) => Err("a rate has no currency".into()),
        (None, None) => Ok(false),
    }
}

/// Stores rates in one transaction. ECB rates replace earlier ECB rates of the same day but
/// never an imported one (a company's own rate was set on purpose); imported rates replace
/// whatever was there.
fn store(tx: &Transaction<'_>, rows: &[(NaiveDate, String, Decimal)], source: &str, now: i64) -> Result<()> {
    let sql = if source == "ecb" {
        "INSERT INTO fx_rates (day, currency, rate, source, fetched_at) VALUES (?1, ?2, ?3, 'ecb', ?4)
         ON CONFLICT (day, currency) DO UPDATE SET rate = excluded.rate, fetched_at = excluded.fetched_at
         WHERE fx_rates.source = 'ecb'"
    } else {
        "INSERT INTO fx_rates (day, currency, rate, source, fetched_at) VALUES (?1, ?2, ?3, 'import', ?4)
         ON CONFLICT (day, currency) DO UPDATE SET rate = excluded.rate, source = 'import',
         fetched_at = excluded.fetched_at"
    };
    let mut stmt = tx.prepare_cached(sql)?;
    for (day, currency, rate) in rows {
        stmt.execute(params![day_start(*day), currency, rate.to_string(), now])?;
    }
    Ok(())
}

/// Imports a CSV of rates: a header `date,currency,rate`, then one rate per line (units of the
/// currency per 1 EUR on that UTC day). A UTF-8 BOM and CRLF line ends are fine. Every bad line
/// is reported with its number and what is wrong, and then nothing is written: the whole file
/// or nothing. Returns how many rates were stored.
pub fn import_csv(conn: &mut Connection, bytes: &[u8], now: DateTime<Utc>) -> Result<usize> {
    let rows = parse_rates_csv(bytes, now.date_naive())?;
    let tx = conn.transaction()?;
    store(&tx, &rows, "import", now.timestamp())?;
    tx.commit()?;
    Ok(rows.len())
}

/// Most bad lines listed in one error; the rest are counted.
const MAX_LISTED_ERRORS: usize = 10;

fn parse_rates_csv(bytes: &[u8], today: NaiveDate) -> Result<Vec<(NaiveDate, String, Decimal)>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::invalid_input(format!(
            "the rates file is not UTF-8 text (at byte {}); save it as UTF-8 CSV",
            e.valid_up_to()
        ))
    })?;
    let mut errors: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    // (day, currency) -> (line, rate): the same rate twice is harmless, two different ones are not.
    let mut seen: HashMap<(NaiveDate, String), (usize, Decimal)> = HashMap::new();
    let mut header_seen = false;
    // Lines are split here rather than by a CSV reader so every message names the line as an
    // editor numbers it (blank lines and CRLF included). No field of date,currency,rate can hold
    // a comma; quotes a spreadsheet put around a field are dropped.
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let fields: Vec<&str> = raw
            .trim_end_matches('\r')
            .split(',')
            .map(|f| {
                let f = f.trim();
                f.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(f).trim()
            })
            .collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let header: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
            if header != ["date", "currency", "rate"] {
                return Err(Error::invalid_input(format!(
                    "line {line}: the header is {:?}; the first line must be date,currency,rate",
                    fields.join(",")
                )));
            }
            continue;
        }
        if fields.len() != 3 {
            errors.push(format!("line {line}: {} fields; each line is date,currency,rate", fields.len()));
            continue;
        }
        let parsed = past_day(fields[0], today).and_then(|day| {
            let code = currency_code(fields[1])?;
            if code == BASE {
                return Err(format!("{BASE} is the base currency; its rate is always 1"));
            }
            Ok((day, code, positive_rate(fields[2])?))
        });
        match parsed {
            Ok((day, code, rate)) => match seen.get(&(day, code.clone())) {
                Some((first, earlier)) if *earlier != rate => errors.push(format!(
                    "line {line}: {code} on {day} is {rate} here but {earlier} on line {first}; keep one"
                )),
                Some(_) => {}
                None => {
                    seen.insert((day, code.clone()), (line, rate));
                    rows.push((day, code, rate));
                }
            },
            Err(why) => errors.push(format!("line {line}: {why}")),
        }
    }
    if !header_seen {
        return Err(Error::invalid_input(
            "the rates file is empty; it needs the header date,currency,rate and one rate per line",
        ));
    }
    if !errors.is_empty() {
        let more = errors.len().saturating_sub(MAX_LISTED_ERRORS);
        let mut message = errors.into_iter().take(MAX_LISTED_ERRORS).collect::<Vec<_>>().join("; ");
        if more > 0 {
            message.push_str(&format!("; and {more} more"));
        }
        return Err(Error::invalid_input(format!("{message}. Nothing was imported; fix the file and import it again")));
    }
    if rows.is_empty() {
        return Err(Error::invalid_input("the rates file has a header but no rates; nothing was imported"));
    }
    Ok(rows)
}

/// The rate of `currency` on `day`, or the last one before it (weekends, holidays), at most
/// [`MAX_RATE_AGE_DAYS`] back; None when there is none that recent. EUR is 1 on every day.
pub fn rate_on(conn: &Connection, currency: &str, day: NaiveDate) -> Result<Option<DatedRate>> {
    let code = currency_code(currency).map_err(Error::invalid_input)?;
    if code == BASE {
        return Ok(Some(DatedRate { rate: Decimal::ONE, rate_day: day }));
    }
    let until = day_start(day);
    let found: Option<(i64, String)> = conn
        .query_row(
            "SELECT day, rate FROM fx_rates WHERE currency = ?1 AND day <= ?2 AND day >= ?3 ORDER BY day DESC LIMIT 1",
            params![code, until, until - MAX_RATE_AGE_DAYS * 86_400],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    found
        .map(|(ts, text)| {
            let rate = positive_rate(&text).map_err(|why| {
                Error::new(
                    ErrorCode::Database,
                    format!("the stored {code} rate of {} is damaged: {why}", ts_to_day(ts)),
                )
            })?;
            Ok(DatedRate { rate, rate_day: ts_to_day(ts) })
        })
        .transpose()
}

/// `amount_micros` of `from` in `to` at the rates of `day` (each the day's or the last earlier
/// one): amount ÷ rate(from) × rate(to), both rates per EUR. Computed exactly and rounded once,
/// half to even, to micro-units of `to`. None when either rate is missing. Same currency: the
/// amount itself.
pub fn convert(
    conn: &Connection,
    amount_micros: i64,
    from: &str,
    to: &str,
    day: NaiveDate,
) -> Result<Option<Converted>> {
    let from = currency_code(from).map_err(Error::invalid_input)?;
    // One conversion is a converter over one day: the same look-back and the same rounding.
    Converter::load(conn, to, crate::days::DayRange::new(day, day)?)?.convert(amount_micros, &from, day)
}

/// The currencies the ECB publishes reference rates for (and EUR, its base): a display currency
/// or budget currency must be one of these or have imported rates, so a typo is caught when it
/// is set instead of showing every amount as "missing rate".
pub const ECB_CURRENCIES: [&str; 31] = [
    "EUR", "USD", "JPY", "BGN", "CZK", "DKK", "GBP", "HUF", "PLN", "RON", "SEK", "CHF", "ISK", "NOK", "TRY", "AUD",
    "BRL", "CAD", "CNY", "HKD", "IDR", "ILS", "INR", "KRW", "MXN", "MYR", "NZD", "PHP", "SGD", "THB", "ZAR",
];

/// `text` as a currency amounts can be converted into: three letters that the ECB publishes or
/// that have stored (imported) rates. The error says how to get rates for it.
pub fn convertible_currency(conn: &Connection, text: &str) -> Result<String> {
    let code = currency_code(text).map_err(Error::invalid_input)?;
    if ECB_CURRENCIES.contains(&code.as_str()) {
        return Ok(code);
    }
    let stored: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM fx_rates WHERE currency = ?1)", [&code], |r| r.get(0))?;
    if stored {
        return Ok(code);
    }
    Err(Error::invalid_input(format!(
        "Burnrate has no exchange rates for {code}: the ECB does not publish it and none were imported; \
         import them with `burnrate rates import FILE.csv` (date,currency,rate per EUR)"
    )))
}

impl Converted {
    /// Units of the target per unit of the source, to ten places (for showing; the conversion
    /// itself is exact).
    pub fn rate(&self) -> Decimal {
        self.rate_to.checked_div(self.rate_from).unwrap_or_default().round_dp(10).normalize()
    }

    /// The day of the rate that was used, as reports show it: the non-EUR leg's rate day (the
    /// older of the two for a cross rate), so a weekend's amount says it used Friday's rate.
    pub fn rate_date(&self) -> NaiveDate {
        self.rate_day_from.min(self.rate_day_to)
    }
}

/// A figure also shown in the display currency: the sum of its rows, each converted at the rate
/// of its own day and rounded once, so the converted total is the sum of the converted rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ConvertedAmount {
    /// Decimal string with six places in `currency`; None when a rate was missing for any part
    /// (then `missing` says which): unknown, never a partial sum shown as the whole.
    pub amount: Option<String>,
    pub currency: String,
    /// The oldest rate day used (`YYYY-MM-DD`); None when nothing needed a rate.
    pub rate_date: Option<String>,
    /// The newest rate day used; equal to `rate_date` for a single day.
    pub rate_date_to: Option<String>,
    /// "missing rate for CNY since 2026-07-03": what kept `amount` unknown.
    pub missing: Option<String>,
}

/// Sums amounts of different currencies and days into one converted figure.
#[derive(Debug, Default)]
pub struct ConvertedSum {
    micros: i64,
    oldest: Option<NaiveDate>,
    newest: Option<NaiveDate>,
    missing: std::collections::BTreeMap<String, NaiveDate>,
}

impl ConvertedSum {
    /// Adds `micros` of `currency` spent on `day`, converted by `converter`.
    pub fn add(&mut self, converter: &mut Converter, micros: i64, currency: &str, day: NaiveDate) -> Result<()> {
        if currency == converter.target() {
            self.micros = self.micros.checked_add(micros).ok_or_else(crate::money::sum_overflow)?;
            return Ok(());
        }
        match converter.convert_or_lacking(micros, currency, day)? {
            Ok(c) => {
                self.micros = self.micros.checked_add(c.micros).ok_or_else(crate::money::sum_overflow)?;
                let used = c.rate_date();
                self.oldest = Some(self.oldest.map_or(used, |d| d.min(used)));
                self.newest = Some(self.newest.map_or(used, |d| d.max(used)));
            }
            Err(lacking) => {
                let first = self.missing.entry(lacking).or_insert(day);
                *first = (*first).min(day);
            }
        }
        Ok(())
    }

    /// The converted figure in `target`.
    pub fn finish(self, target: &str) -> ConvertedAmount {
        let missing = (!self.missing.is_empty()).then(|| {
            self.missing
                .iter()
                .map(|(c, since)| format!("missing rate for {c} since {since}"))
                .collect::<Vec<_>>()
                .join("; ")
        });
        ConvertedAmount {
            amount: missing.is_none().then(|| crate::money::format_micros(self.micros)),
            currency: target.to_owned(),
            rate_date: self.oldest.map(|d| d.to_string()),
            rate_date_to: self.newest.map(|d| d.to_string()),
            missing,
        }
    }
}

/// Converts many amounts into one currency, each at the rate of its own day, from rates read
/// once (a report of a million rows asks the database once, not a million times). Remembers,
/// per currency, the earliest day it had no rate for, so callers can say "missing rate for CNY
/// since 2026-07-03" instead of leaving the amount out silently.
#[derive(Debug, Clone)]
pub struct Converter {
    target: String,
    /// Per currency: rates by day, from [`MAX_RATE_AGE_DAYS`] before the range to its end.
    rates: HashMap<String, std::collections::BTreeMap<NaiveDate, Decimal>>,
    missing: std::collections::BTreeMap<String, NaiveDate>,
}

impl Converter {
    /// Reads the rates needed to convert into `target` amounts of days within `range`.
    pub fn load(conn: &Connection, target: &str, range: crate::days::DayRange) -> Result<Self> {
        let target = currency_code(target).map_err(Error::invalid_input)?;
        let mut rates: HashMap<String, std::collections::BTreeMap<NaiveDate, Decimal>> = HashMap::new();
        let mut stmt = conn.prepare_cached("SELECT day, currency, rate FROM fx_rates WHERE day >= ?1 AND day < ?2")?;
        let mut q = stmt.query(params![range.start_ts() - MAX_RATE_AGE_DAYS * 86_400, range.end_ts()])?;
        while let Some(r) = q.next()? {
            let (ts, currency, text): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let rate = positive_rate(&text).map_err(|why| {
                Error::new(
                    ErrorCode::Database,
                    format!("the stored {currency} rate of {} is damaged: {why}", ts_to_day(ts)),
                )
            })?;
            rates.entry(currency).or_default().insert(ts_to_day(ts), rate);
        }
        Ok(Converter { target, rates, missing: Default::default() })
    }

    /// The currency amounts are converted into.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn rate_on(&self, currency: &str, day: NaiveDate) -> Option<DatedRate> {
        if currency == BASE {
            return Some(DatedRate { rate: Decimal::ONE, rate_day: day });
        }
        let oldest = day - chrono::Days::new(MAX_RATE_AGE_DAYS as u64);
        self.rates
            .get(currency)?
            .range(oldest..=day)
            .next_back()
            .map(|(rate_day, rate)| DatedRate { rate: *rate, rate_day: *rate_day })
    }

    /// `micros` of `from` spent on `day`, in the target currency: see [`convert`]. None (and
    /// remembered in [`Converter::missing`]) when a rate is missing for that day.
    pub fn convert(&mut self, micros: i64, from: &str, day: NaiveDate) -> Result<Option<Converted>> {
        Ok(self.convert_or_lacking(micros, from, day)?.ok())
    }

    /// Like [`Converter::convert`], but a missing rate is `Err(currency)`: the currency (the
    /// source's or the target's) that has no rate for `day`.
    pub fn convert_or_lacking(
        &mut self,
        micros: i64,
        from: &str,
        day: NaiveDate,
    ) -> Result<std::result::Result<Converted, String>> {
        if from == self.target {
            return Ok(Ok(Converted {
                micros,
                rate_day_from: day,
                rate_day_to: day,
                rate_from: Decimal::ONE,
                rate_to: Decimal::ONE,
            }));
        }
        let (rf, rt) = (self.rate_on(from, day), self.rate_on(&self.target, day));
        let (Some(rf), Some(rt)) = (rf, rt) else {
            let lacking = if rf.is_none() { from.to_owned() } else { self.target.clone() };
            let first = self.missing.entry(lacking.clone()).or_insert(day);
            *first = (*first).min(day);
            return Ok(Err(lacking));
        };
        let micros = cross(micros, rf.rate, rt.rate).ok_or_else(|| {
            Error::new(
                ErrorCode::ImplausibleAmount,
                format!("{micros} micro-units of {from} in {} is beyond what Burnrate can hold", self.target),
            )
        })?;
        Ok(Ok(Converted {
            micros,
            rate_day_from: rf.rate_day,
            rate_day_to: rt.rate_day,
            rate_from: rf.rate,
            rate_to: rt.rate,
        }))
    }

    /// Per currency, the earliest day an amount could not be converted for want of a rate.
    pub fn missing(&self) -> &std::collections::BTreeMap<String, NaiveDate> {
        &self.missing
    }

    /// "missing rate for CNY since 2026-07-03; …": what a figure that left amounts out says.
    /// None when nothing was missing.
    pub fn missing_text(&self) -> Option<String> {
        (!self.missing.is_empty()).then(|| {
            self.missing
                .iter()
                .map(|(currency, since)| format!("missing rate for {currency} since {since}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// amount × to ÷ from, exactly (the rates' digits as integers), rounded half to even. None on
/// overflow. With from = mf·10^-sf and to = mt·10^-st: amount·mt·10^sf ÷ (mf·10^st).
fn cross(amount: i64, from: Decimal, to: Decimal) -> Option<i64> {
    let ten = |scale: u32| 10i128.checked_pow(scale);
    let num = i128::from(amount).checked_mul(to.mantissa())?.checked_mul(ten(from.scale())?)?;
    let den = from.mantissa().checked_mul(ten(to.scale())?)?;
    if den <= 0 {
        return None;
    }
    let (q, r) = (num.div_euclid(den), num.rem_euclid(den));
    // div_euclid floors (den > 0), so 0 <= r < den: round up past half, and at exactly half to even.
    let up = match (2 * r).cmp(&den) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => q % 2 != 0,
        std::cmp::Ordering::Less => false,
    };
    i64::try_from(if up { q + 1 } else { q }).ok()
}

/// Stored rates, oldest first, optionally within days and for one currency.
pub fn list(
    conn: &Connection,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    currency: Option<&str>,
) -> Result<Vec<RateRow>> {
    let code = currency.map(currency_code).transpose().map_err(Error::invalid_input)?;
    let mut stmt = conn.prepare(
        "SELECT day, currency, rate, source FROM fx_rates
         WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR currency = ?3) ORDER BY day, currency",
    )?;
    let rows =
        stmt.query_map(params![from.map_or(i64::MIN, day_start), to.map_or(i64::MAX, day_start), code], |r| {
            Ok(RateRow {
                day: ts_to_day(r.get(0)?).to_string(),
                currency: r.get(1)?,
                rate: r.get(2)?,
                source: r.get(3)?,
            })
        })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the ECB was last fetched, and which file.
fn last_ecb_fetch(conn: &Connection) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row("SELECT fetched_at, file FROM fx_sync WHERE source = 'ecb'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn newest_ecb_day(conn: &Connection) -> Result<Option<NaiveDate>> {
    let ts: Option<i64> = conn.query_row("SELECT max(day) FROM fx_rates WHERE source = 'ecb'", [], |r| r.get(0))?;
    Ok(ts.map(ts_to_day))
}

/// Fetches the ECB's rates from `base_url` and stores them: the whole history the first time,
/// then the last 90 days. Asks at most once a day (a fetch less than a day old is kept) unless
/// `force`. When the ECB cannot be reached the error says so and how old the stored rates are;
/// they keep working. No transaction is open while waiting for the network.
pub async fn sync_ecb(
    conn: &mut Connection,
    client: &HttpClient,
    base_url: &str,
    now: DateTime<Utc>,
    force: bool,
) -> Result<EcbSync> {
    let last = last_ecb_fetch(conn)?;
    if let Some((at, file)) = &last {
        if !force && now.timestamp() - at < ECB_REFRESH_SECS && *at <= now.timestamp() {
            return Ok(EcbSync {
                fetched: false,
                file: file.clone(),
                rates: 0,
                days: 0,
                newest_day: newest_ecb_day(conn)?.map(|d| d.to_string()),
                fetched_at: *at,
            });
        }
    }
    let file = if last.is_some() { ECB_90_DAYS } else { ECB_FULL_HISTORY };
    match fetch_and_store(conn, client, base_url, file, now).await {
        Ok(done) => Ok(done),
        Err(e) => {
            // Remembered so the app can say why its rates are old, and the poller waits before
            // asking again; a failure to remember must not hide the fetch's own error.
            if let Err(record) = conn.execute(
                "INSERT INTO fx_sync_failure (source, failed_at, message) VALUES ('ecb', ?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET failed_at = excluded.failed_at, message = excluded.message",
                params![now.timestamp(), e.message()],
            ) {
                tracing::warn!("cannot record the failed exchange-rate fetch: {record}");
            }
            Err(e)
        }
    }
}

async fn fetch_and_store(
    conn: &mut Connection,
    client: &HttpClient,
    base_url: &str,
    file: &str,
    now: DateTime<Utc>,
) -> Result<EcbSync> {
    let mut base = net::http_url(base_url).map_err(|why| {
        Error::new(ErrorCode::InvalidUrl, format!("the ECB address {base_url:?} is not usable: {why}"))
    })?;
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let url = base.join(file).map_err(|e| Error::internal(format!("cannot join {file} onto {base}: {e}")))?;
    let body = match client.get_public("the ECB's exchange rates", url).await {
        Ok(body) => body,
        Err(e) => {
            let cached = match newest_ecb_day(conn)? {
                Some(day) => format!("; the stored rates keep being used (the newest is from {day})"),
                None => "; no rates are stored yet, so nothing can be converted until a sync succeeds".into(),
            };
            return Err(Error::new(e.code, format!("{}{cached}", e.message())));
        }
    };
    let rows = parse_ecb_xml(&body, now.date_naive())?;
    let days = rows.iter().map(|(d, _, _)| *d).collect::<std::collections::HashSet<_>>().len();
    let tx = conn.transaction()?;
    store(&tx, &rows, "ecb", now.timestamp())?;
    tx.execute(
        "INSERT INTO fx_sync (source, fetched_at, file) VALUES ('ecb', ?1, ?2)
         ON CONFLICT (source) DO UPDATE SET fetched_at = excluded.fetched_at, file = excluded.file",
        params![now.timestamp(), file],
    )?;
    tx.execute("DELETE FROM fx_sync_failure WHERE source = 'ecb'", [])?;
    tx.commit()?;
    Ok(EcbSync {
        fetched: true,
        file: file.into(),
        rates: rows.len(),
        days,
        newest_day: newest_ecb_day(conn)?.map(|d| d.to_string()),
        fetched_at: now.timestamp(),
    })
}

/// After a failed fetch, how long the poller waits before asking the ECB again.
const ECB_RETRY_SECS: i64 = 3_600;

/// How old the stored rates are and whether fetching them works: what the app shows next to
/// converted figures, so a user offline for a week sees that its rates are a week old.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RatesStatus {
    /// Amounts are converted somewhere (a display currency, or spend and budgets in more than
    /// one currency), so the poller keeps the rates fresh.
    pub needed: bool,
    /// The newest day with a stored rate (ECB or imported), `YYYY-MM-DD`; None: no rates.
    pub newest_day: Option<String>,
    /// Whole days from `newest_day` to today (UTC). The ECB publishes on working days around
    /// 16:00 CET, so 1 to 4 is normal.
    #[ts(type = "number | null")]
    pub age_days: Option<i64>,
    /// The last successful ECB fetch (RFC 3339).
    pub fetched_at: Option<String>,
    /// The last failed fetch since then (RFC 3339) and what went wrong, with what to do.
    pub failed_at: Option<String>,
    pub last_error: Option<String>,
}

/// Whether any amount needs converting: a display currency is set (`display_set`), or the
/// spend of the last 90 days and the budgets are in more than one currency. Only then does the
/// poller contact the ECB; a single-currency user's Burnrate never does.
pub fn needed(conn: &Connection, now: DateTime<Utc>, display_set: bool) -> Result<bool> {
    if display_set {
        return Ok(true);
    }
    let since = day_start(now.date_naive()) - 90 * 86_400;
    let currencies: i64 = conn.query_row(
        "SELECT count(DISTINCT currency) FROM (
             SELECT currency FROM spend_daily_key WHERE day >= ?1 UNION SELECT currency FROM budgets)",
        [since],
        |r| r.get(0),
    )?;
    Ok(currencies > 1)
}

/// See [`RatesStatus`]; `display_set` as for [`needed`].
pub fn status(conn: &Connection, now: DateTime<Utc>, display_set: bool) -> Result<RatesStatus> {
    let newest: Option<i64> = conn.query_row("SELECT max(day) FROM fx_rates", [], |r| r.get(0))?;
    let failure: Option<(i64, String)> = conn
        .query_row("SELECT failed_at, message FROM fx_sync_failure WHERE source = 'ecb'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let rfc = crate::days::ts_to_rfc3339;
    Ok(RatesStatus {
        needed: needed(conn, now, display_set)?,
        newest_day: newest.map(|d| ts_to_day(d).to_string()),
        age_days: newest.map(|d| (now.date_naive() - ts_to_day(d)).num_days().max(0)),
        fetched_at: last_ecb_fetch(conn)?.map(|(at, _)| rfc(at)),
        failed_at: failure.as_ref().map(|(at, _)| rfc(*at)),
        last_error: failure.map(|(_, message)| message),
    })
}

/// The poller's daily fetch: asks the ECB when rates are [`needed`], at most once a day after
/// a success and once an hour after a failure. None when it did not ask. `display_set` as for
/// [`needed`].
pub async fn sync_if_due(
    conn: &mut Connection,
    client: &HttpClient,
    base_url: &str,
    now: DateTime<Utc>,
    display_set: bool,
) -> Result<Option<EcbSync>> {
    if !needed(conn, now, display_set)? {
        return Ok(None);
    }
    let failed_at: Option<i64> =
        conn.query_row("SELECT failed_at FROM fx_sync_failure WHERE source = 'ecb'", [], |r| r.get(0)).optional()?;
    if failed_at.is_some_and(|at| (0..ECB_RETRY_SECS).contains(&(now.timestamp() - at))) {
        return Ok(None);
    }
    let done = sync_ecb(conn, client, base_url, now, false).await?;
    Ok(done.fetched.then_some(done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn fixture() -> String {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ecb/eurofxref-hist-90d.xml");
        std::fs::read_to_string(path).unwrap()
    }
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-04-10T12:00:00Z").unwrap().with_timezone(&Utc)
    }
    fn ledger_with_fixture() -> Connection {
        let mut conn = db::open_in_memory().unwrap();
        let rows = parse_ecb_xml(&fixture(), now().date_naive()).unwrap();
        let tx = conn.transaction().unwrap();
        store(&tx, &rows, "ecb", 0).unwrap();
        tx.commit().unwrap();
        conn
    }
    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM fx_rates", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_ecb_file_is_read_day_by_day_with_its_gaps() {
        let rows = parse_ecb_xml(&fixture(), now().date_naive()).unwrap();
        let days: std::collections::BTreeSet<_> = rows.iter().map(|r| r.0).collect();
        // Newest first in the file; the weekend of 28-29 March and Good Friday 3 April to
        // Easter Monday 6 April are absent.
        assert_eq!(
            days.into_iter().collect::<Vec<_>>(),
            ["2026-03-27", "2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02", "2026-04-07", "2026-04-08"].map(day)
        );
        assert!(rows.contains(&(day("2026-04-08"), "USD".into(), dec("1.0850"))));
        assert!(rows.contains(&(day("2026-04-02"), "JPY".into(), dec("162.45"))));
        assert_eq!(rows.len(), 28);
    }

    #[test]
    fn a_bad_ecb_file_is_refused_whole() {
        let today = now().date_naive();
        let wrap = |cubes: &str| {
            format!(
                "<?xml version='1.0' encoding='UTF-8'?><gesmes:Envelope xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01' \
                 xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>{cubes}</Cube></gesmes:Envelope>"
            )
        };
        for (cubes, why) in [
            ("<Cube time='2026-04-01'><Cube currency='USD' rate='0'/></Cube>", "not above zero"),
            ("<Cube time='2026-04-01'><Cube currency='USD' rate='-1.2'/></Cube>", "not above zero"),
            ("<Cube time='2026-04-01'><Cube currency='US1' rate='1.2'/></Cube>", "not a currency code"),
            ("<Cube time='2026-04-11'><Cube currency='USD' rate='1.2'/></Cube>", "in the future"),
            ("<Cube time='2026-4-1'><Cube currency='USD' rate='1.2'/></Cube>", "not YYYY-MM-DD"),
            ("<Cube time='2026-04-01'><Cube currency='USD' rate='abc'/></Cube>", "not a decimal"),
            ("<Cube currency='USD' rate='1.2'/>", "outside any"),
            ("", "no rates"),
        ] {
            let err = parse_ecb_xml(&wrap(cubes), today).unwrap_err();
            assert!(err.message().contains(why), "{cubes}: {}", err.message());
        }
        let err = parse_ecb_xml("<html><body>Service unavailable</body></html>", today).unwrap_err();
        assert!(err.message().contains("not a gesmes:Envelope"), "{}", err.message());
        let cut = "<gesmes:Envelope><Cube><Cube time='2026-04-01'><Cube currency='USD' rate='1.08'/>";
        assert!(parse_ecb_xml(cut, today).unwrap_err().message().contains("ends early"));
    }

    #[test]
    fn a_day_without_a_rate_uses_the_last_earlier_one_and_says_which() {
        let conn = ledger_with_fixture();
        let on = |c: &str, d: &str| rate_on(&conn, c, day(d)).unwrap();
        assert_eq!(on("USD", "2026-04-08"), Some(DatedRate { rate: dec("1.0850"), rate_day: day("2026-04-08") }));
        // Good Friday to Easter Monday: Thursday's rate, and the day says so.
        for gap in ["2026-04-03", "2026-04-04", "2026-04-05", "2026-04-06"] {
            assert_eq!(on("USD", gap), Some(DatedRate { rate: dec("1.0812"), rate_day: day("2026-04-02") }), "{gap}");
        }
        for weekend in ["2026-03-28", "2026-03-29"] {
            assert_eq!(on("JPY", weekend), Some(DatedRate { rate: dec("161.20"), rate_day: day("2026-03-27") }));
        }
        assert_eq!(on("usd", "2026-04-07").unwrap().rate_day, day("2026-04-07"));
        assert_eq!(on("USD", "2026-03-26"), None, "nothing before the first day");
        assert_eq!(on("USD", "2026-05-09").unwrap().rate_day, day("2026-04-08"), "31 days back at most");
        assert_eq!(on("USD", "2026-05-10"), None, "older than 31 days is missing, not stale");
        assert_eq!(on("CHF", "2026-04-08"), None);
        assert_eq!(on("EUR", "2026-01-01"), Some(DatedRate { rate: Decimal::ONE, rate_day: day("2026-01-01") }));
    }

    #[test]
    fn conversions_match_a_hand_computation() {
        let conn = ledger_with_fixture();
        let conv = |micros, from: &str, to: &str, d: &str| convert(&conn, micros, from, to, day(d)).unwrap();
        // 100 USD on 8 April: 100 / 1.0850 = 92.165898617... EUR -> 92.165899.
        let c = conv(100_000_000, "USD", "EUR", "2026-04-08").unwrap();
        assert_eq!(c.micros, 92_165_899);
        assert_eq!((c.rate_day_from, c.rate_day_to), (day("2026-04-08"), day("2026-04-08")));
        // 12.34 USD in CNY on Easter Sunday (Thursday's rates): 12.34 / 1.0812 * 7.8417
        // = 89.4992397336293007769... -> 89.499240.
        let c = conv(12_340_000, "USD", "CNY", "2026-04-05").unwrap();
        assert_eq!(c.micros, 89_499_240);
        assert_eq!((c.rate_day_from, c.rate_day_to), (day("2026-04-02"), day("2026-04-02")));
        // 1000 CNY in USD on 7 April: 1000 / 7.8500 * 1.0840 = 138.0891719745... -> 138.089172.
        assert_eq!(conv(1_000_000_000, "CNY", "USD", "2026-04-07").unwrap().micros, 138_089_172);
        // Negative amounts (refunds) round the same way, mirrored.
        assert_eq!(conv(-100_000_000, "USD", "EUR", "2026-04-08").unwrap().micros, -92_165_899);
        // Same currency: the amount itself, even without rates.
        assert_eq!(conv(5, "CHF", "chf", "2026-04-08").unwrap().micros, 5);
        assert_eq!(conv(5, "CHF", "EUR", "2026-04-08"), None, "no CHF rate");
    }

    #[test]
    fn a_tie_rounds_half_to_even_once() {
        // Exact ties both ways, on the cross function's digits.
        assert_eq!(cross(3, dec("1"), dec("1.5")), Some(4), "4.5 -> 4");
        assert_eq!(cross(5, dec("1"), dec("1.5")), Some(8), "7.5 -> 8");
        assert_eq!(cross(-3, dec("1"), dec("1.5")), Some(-4), "-4.5 -> -4");
        assert_eq!(cross(1, dec("2"), dec("1")), Some(0), "0.5 -> 0");
        assert_eq!(cross(3, dec("2"), dec("1")), Some(2), "1.5 -> 2");
        // Through the ledger: GBP is 0.8500 per EUR; 10 micro-EUR = 8.5 micro-GBP -> 8, 30 -> 25.5 -> 26.
        let conn = ledger_with_fixture();
        assert_eq!(convert(&conn, 10, "EUR", "GBP", day("2026-04-01")).unwrap().unwrap().micros, 8);
        assert_eq!(convert(&conn, 30, "EUR", "GBP", day("2026-04-01")).unwrap().unwrap().micros, 26);
        // Rounded once, never at EUR on the way: 1 micro-USD is 0.92 micro-EUR, which rounded first would
        // become 1 micro-EUR and then 163 micro-JPY; the direct cross is 1 / 1.0850 * 163.20 = 150.41 -> 150.
        assert_eq!(convert(&conn, 1, "USD", "JPY", day("2026-04-08")).unwrap().unwrap().micros, 150);
        assert_eq!(cross(i64::MAX, dec("0.0001"), dec("1000000")), None, "overflow is refused, not wrapped");
    }

    #[test]
    fn the_converter_agrees_with_convert_and_remembers_missing_rates() {
        let conn = ledger_with_fixture();
        let range = crate::days::DayRange::new(day("2026-03-27"), day("2026-04-10")).unwrap();
        let mut c = Converter::load(&conn, "EUR", range).unwrap();
        // Every day of the range, weekends and Easter included, agrees with the one-off lookup.
        let mut d = range.from;
        while d <= range.to {
            for (amount, from) in [(1_234_567, "USD"), (98_765_432, "CNY"), (5, "JPY")] {
                assert_eq!(
                    c.convert(amount, from, d).unwrap(),
                    convert(&conn, amount, from, "EUR", d).unwrap(),
                    "{from} {d}"
                );
            }
            d = d.succ_opt().unwrap();
        }
        // Easter (Good Friday 04-03 to Easter Monday 04-06) uses Thursday's rate and says so.
        let easter = c.convert(1_000_000, "USD", day("2026-04-05")).unwrap().unwrap();
        assert_eq!(easter.rate_date(), day("2026-04-02"));
        assert_eq!(c.missing_text(), None);
        // Before the first stored rate (more than 31 days before it) nothing converts, and it is remembered.
        let mut early =
            Converter::load(&conn, "USD", crate::days::DayRange::new(day("2026-01-01"), day("2026-04-08")).unwrap())
                .unwrap();
        assert_eq!(early.convert(1_000_000, "CNY", day("2026-01-05")).unwrap(), None);
        assert_eq!(early.convert(1_000_000, "CNY", day("2026-01-03")).unwrap(), None);
        assert_eq!(
            early.convert(1_000_000, "EUR", day("2026-01-02")).unwrap(),
            None,
            "the target's own rate is missing"
        );
        assert_eq!(
            early.missing_text().unwrap(),
            "missing rate for CNY since 2026-01-03; missing rate for USD since 2026-01-02"
        );
        assert_eq!(
            early.convert(7, "USD", day("2026-01-02")).unwrap().unwrap().micros,
            7,
            "same currency needs no rate"
        );
    }

    #[test]
    fn a_converted_sum_is_the_sum_of_rounded_rows_or_unknown() {
        let conn = ledger_with_fixture();
        let range = crate::days::DayRange::new(day("2026-01-01"), day("2026-04-08")).unwrap();
        let mut c = Converter::load(&conn, "EUR", range).unwrap();
        let mut sum = ConvertedSum::default();
        let rows =
            [(1_000_001, "USD", "2026-04-07"), (3_333_333, "CNY", "2026-04-04"), (2_000_000, "EUR", "2026-04-08")];
        let mut expected = 0;
        for (m, cur, d) in rows {
            sum.add(&mut c, m, cur, day(d)).unwrap();
            expected += convert(&conn, m, cur, "EUR", day(d)).unwrap().unwrap().micros;
        }
        let total = sum.finish("EUR");
        assert_eq!(total.amount, Some(crate::money::format_micros(expected)));
        assert_eq!(
            (total.rate_date.as_deref(), total.rate_date_to.as_deref()),
            (Some("2026-04-02"), Some("2026-04-07"))
        );
        assert_eq!(total.missing, None);

        let mut sum = ConvertedSum::default();
        sum.add(&mut c, 1_000_000, "USD", day("2026-04-07")).unwrap();
        sum.add(&mut c, 1_000_000, "CNY", day("2026-02-01")).unwrap();
        let total = sum.finish("EUR");
        assert_eq!(total.amount, None, "a part without a rate makes the total unknown, not smaller");
        assert_eq!(total.missing.as_deref(), Some("missing rate for CNY since 2026-02-01"));
    }

    #[test]
    fn a_display_currency_must_have_rates() {
        let mut conn = db::open_in_memory().unwrap();
        assert_eq!(convertible_currency(&conn, " cny ").unwrap(), "CNY");
        assert_eq!(convertible_currency(&conn, "EUR").unwrap(), "EUR");
        let err = convertible_currency(&conn, "ARS").unwrap_err();
        assert!(err.message().contains("no exchange rates for ARS"), "{}", err.message());
        assert!(convertible_currency(&conn, "EURO").is_err());
        import_csv(&mut conn, b"date,currency,rate\n2026-04-01,ARS,950.5\n", now()).unwrap();
        assert_eq!(convertible_currency(&conn, "ars").unwrap(), "ARS");
    }

    #[test]
    fn a_rates_file_with_bad_lines_names_each_and_writes_nothing() {
        let mut conn = db::open_in_memory().unwrap();
        let file = "\u{feff}date,currency,rate\r\n2026-04-01,USD,1.08\r\n2026-04-01,US,1.08\r\n\r\n2026-04-02,CNY,0\r\n\
                    2026-04-02,JPY,-3\r\n2026-04-02,GBP,abc\r\n2026-13-01,USD,1.1\r\n2026-04-11,USD,1.1\r\n2026-04-03,USD\r\n";
        let err = import_csv(&mut conn, file.as_bytes(), now()).unwrap_err();
        let m = err.message();
        for expected in [
            "line 3: \"US\" is not a currency code",
            "line 5: rate 0 is not above zero",
            "line 6: rate -3 is not above zero",
            "line 7: rate \"abc\" is not a decimal",
            "line 8: date \"2026-13-01\" is not YYYY-MM-DD",
            "line 9: date 2026-04-11 is in the future",
            "line 10: 2 fields",
            "Nothing was imported",
        ] {
            assert!(m.contains(expected), "missing {expected:?} in {m}");
        }
        assert!(!m.contains("line 2"), "line 2 is fine: {m}");
        assert_eq!(count(&conn), 0);

        let err = import_csv(&mut conn, b"day,code,rate\n2026-04-01,USD,1.08\n", now()).unwrap_err();
        assert!(err.message().contains("line 1: the header"), "{}", err.message());
        let err = import_csv(&mut conn, b"date,currency,rate\n2026-04-01,EUR,1\n", now()).unwrap_err();
        assert!(err.message().contains("line 2: EUR is the base currency"), "{}", err.message());
        let err = import_csv(&mut conn, b"date,currency,rate\n2026-04-01,USD,1.08\n2026-04-01,usd,1.09\n", now())
            .unwrap_err();
        assert!(
            err.message().contains("line 3: USD on 2026-04-01 is 1.09 here but 1.08 on line 2"),
            "{}",
            err.message()
        );
        assert!(import_csv(&mut conn, b"", now()).is_err());
        assert!(import_csv(&mut conn, b"date,currency,rate\r\n", now()).is_err());
        assert_eq!(count(&conn), 0);
    }

    #[test]
    fn imported_rates_are_used_and_win_over_the_ecb() {
        let mut conn = ledger_with_fixture();
        let n = import_csv(
            &mut conn,
            b"\xEF\xBB\xBFdate,currency,rate\r\n2026-04-08,USD,1.1000\r\n2026-04-01,ars,950.5\r\n",
            now(),
        )
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(rate_on(&conn, "USD", day("2026-04-08")).unwrap().unwrap().rate, dec("1.1000"));
        assert_eq!(rate_on(&conn, "ARS", day("2026-04-04")).unwrap().unwrap().rate_day, day("2026-04-01"));
        // A later ECB sync of the same day does not undo the company's own rate.
        let rows = parse_ecb_xml(&fixture(), now().date_naive()).unwrap();
        let tx = conn.transaction().unwrap();
        store(&tx, &rows, "ecb", 1).unwrap();
        tx.commit().unwrap();
        assert_eq!(rate_on(&conn, "USD", day("2026-04-08")).unwrap().unwrap().rate, dec("1.1000"));
        let listed = list(&conn, Some(day("2026-04-08")), Some(day("2026-04-08")), Some("usd")).unwrap();
        assert_eq!(
            listed,
            [RateRow {
                day: "2026-04-08".into(),
                currency: "USD".into(),
                rate: "1.1000".into(),
                source: "import".into()
            }]
        );
    }
}

#[cfg(test)]
mod sync_tests {
    use super::*;
    use crate::db;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn xml() -> String {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ecb/eurofxref-hist-90d.xml");
        std::fs::read_to_string(path).unwrap()
    }

    /// The full history first, nothing again within a day, the 90-day file after; an ECB that
    /// stops answering is an error that says the stored rates keep working, and they do.
    #[tokio::test]
    async fn the_ecb_is_asked_once_a_day_and_its_absence_keeps_the_cached_rates() {
        let ecb = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/stats/eurofxref/eurofxref-hist.xml"))
            .respond_with(ResponseTemplate::new(200).set_body_string(xml()))
            .expect(1)
            .mount(&ecb)
            .await;
        Mock::given(method("GET"))
            .and(path("/stats/eurofxref/eurofxref-hist-90d.xml"))
            .respond_with(ResponseTemplate::new(200).set_body_string(xml()))
            .expect(1)
            .mount(&ecb)
            .await;
        let base = format!("{}/stats/eurofxref", ecb.uri());
        let client = HttpClient::default_client().unwrap();
        let mut conn = db::open_in_memory().unwrap();

        let first = sync_ecb(&mut conn, &client, &base, at("2026-04-10T08:00:00Z"), false).await.unwrap();
        assert_eq!((first.fetched, first.file.as_str(), first.rates, first.days), (true, ECB_FULL_HISTORY, 28, 7));
        assert_eq!(first.newest_day.as_deref(), Some("2026-04-08"));
        let again = sync_ecb(&mut conn, &client, &base, at("2026-04-11T07:59:59Z"), false).await.unwrap();
        assert!(!again.fetched, "asked twice within a day");
        let later = sync_ecb(&mut conn, &client, &base, at("2026-04-11T08:00:00Z"), false).await.unwrap();
        assert_eq!((later.fetched, later.file.as_str()), (true, ECB_90_DAYS));
        ecb.verify().await;

        // wiremock keeps dropped servers in a pool; a port nothing listens on any more is unreachable.
        let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let gone = format!("http://{gone}/stats/eurofxref/");
        let err = sync_ecb(&mut conn, &client, &gone, at("2026-04-12T09:00:00Z"), true).await.unwrap_err();
        assert!(matches!(err.code, ErrorCode::Network | ErrorCode::Timeout), "{err:?}");
        assert!(err.message().contains("the stored rates keep being used (the newest is from 2026-04-08)"), "{err:?}");
        let usd = rate_on(&conn, "USD", NaiveDate::from_ymd_opt(2026, 4, 9).unwrap()).unwrap().unwrap();
        assert_eq!((usd.rate, usd.rate_day.to_string()), (Decimal::from_str("1.0850").unwrap(), "2026-04-08".into()));
    }

    /// A 200 answer that is not the ECB's XML (a captive portal, an error page) stores nothing.
    #[tokio::test]
    async fn an_answer_that_is_not_the_ecb_file_stores_nothing() {
        let ecb = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<html>Please log in</html>"))
            .mount(&ecb)
            .await;
        let mut conn = db::open_in_memory().unwrap();
        let client = HttpClient::default_client().unwrap();
        let err = sync_ecb(&mut conn, &client, &ecb.uri(), at("2026-04-10T08:00:00Z"), false).await.unwrap_err();
        assert!(err.message().contains("not a gesmes:Envelope"), "{err:?}");
        let stored: i64 = conn.query_row("SELECT count(*) FROM fx_rates", [], |r| r.get(0)).unwrap();
        let synced: i64 = conn.query_row("SELECT count(*) FROM fx_sync", [], |r| r.get(0)).unwrap();
        assert_eq!((stored, synced), (0, 0));
    }
}
