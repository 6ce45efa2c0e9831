//! Budgets: an amount of one currency per day, week or calendar month, over everything, one
//! source, or one key, with the percentages at which an alert fires. Spend in other currencies
//! within the scope counts too, converted at the rate of its own day ([`spend`]).
//!
//! Validation happens before anything is written: a bad scope, period, amount, currency or
//! threshold list is an error and nothing is saved.
//!
//! Periods are the user's local calendar (see [`crate::app_settings`]): a day, a week from Monday
//! to Sunday (ISO 8601), or a calendar month.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension};

mod dto;
mod period;
pub mod spend;

use crate::error::{Error, ErrorCode, Result};
use crate::money::{format_human, parse_micros, Currency};
use crate::providers::ProviderId;
use crate::sources::{self, Source};
pub use dto::{AddBudgetRequest, BudgetScopeKind, BudgetView};
pub use period::{BudgetPeriod, LocalPeriod};

/// Thresholds when the request names none: 50 %, 80 %, 100 % of the amount.
pub const DEFAULT_THRESHOLDS: [u32; 3] = [50, 80, 100];
/// The highest threshold accepted, in percent (ten times the budget).
pub const MAX_THRESHOLD: u32 = 1000;
/// How many thresholds one budget may have.
pub const MAX_THRESHOLDS: usize = 10;

/// What a budget covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Total,
    Source {
        source_id: i64,
        source: String,
    },
    /// One provider key (its id as the provider gives it) of one source.
    Key {
        source_id: i64,
        source: String,
        key_id: String,
    },
}

impl Scope {
    pub fn source_id(&self) -> Option<i64> {
        match self {
            Scope::Total => None,
            Scope::Source { source_id, .. } | Scope::Key { source_id, .. } => Some(*source_id),
        }
    }
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Scope::Key { key_id, .. } => Some(key_id),
            _ => None,
        }
    }
    /// The scope as the CLI writes it: `total`, `source:NAME`, `key:SOURCE/KEY_ID`.
    pub fn spec(&self) -> String {
        match self {
            Scope::Total => "total".into(),
            Scope::Source { source, .. } => format!("source:{source}"),
            Scope::Key { source, key_id, .. } => format!("key:{source}/{key_id}"),
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Scope::Total => "total",
            Scope::Source { .. } => "source",
            Scope::Key { .. } => "key",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Budget {
    pub id: i64,
    pub scope: Scope,
    pub period: BudgetPeriod,
    pub amount_micros: i64,
    pub currency: Currency,
    /// Ascending percentages of the amount.
    pub thresholds: Vec<u32>,
    pub created_at: i64,
}

impl Budget {
    /// "monthly budget of 50.00 USD".
    pub fn describe(&self) -> String {
        format!("{} budget of {}", self.period.adjective(), format_human(self.amount_micros, self.currency.as_str()))
    }
}

/// Parses and checks a budget request against the ledger. Nothing is written.
pub fn validate(conn: &Connection, req: &AddBudgetRequest) -> Result<(Scope, BudgetPeriod, i64, Currency, Vec<u32>)> {
    let scope = resolve_scope(conn, &req.scope)?;
    let period: BudgetPeriod = req.period.parse()?;
    let amount = parse_amount(&req.amount)?;
    let thresholds = validate_thresholds(req.thresholds.as_deref())?;
    let currency = match req.currency.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => c.parse::<Currency>()?,
        None => Currency::usd(),
    };
    let available = currencies_in_scope(conn, &scope)?;
    let listed: Vec<&str> = available.iter().map(Currency::as_str).collect();
    let what = match &scope {
        Scope::Total => "no source".to_owned(),
        Scope::Source { source, .. } => format!("source {source:?}"),
        Scope::Key { source, key_id, .. } => format!("key {key_id} of source {source:?}"),
    };
    if listed.is_empty() {
        return Err(Error::invalid_input(format!(
            "{what} reports any currency yet; add a source first (`burnrate source add`), then the budget"
        )));
    }
    // Spend in the budget's own currency needs no rate (a USD budget over USD spend is counted
    // as always); spend in any other currency is converted into the budget's, so when the scope
    // has any, the budget's currency must be one Burnrate has rates for.
    if let Some(other) = listed.iter().find(|c| **c != currency.as_str()) {
        crate::fx::convertible_currency(conn, currency.as_str()).map_err(|e| {
            let reports = match &scope {
                Scope::Total => "your sources report".to_owned(),
                _ => format!("{what} reports"),
            };
            Error::invalid_input(format!(
                "{reports} {}; a budget in {currency} converts that spend at each day's rate, but {}; \
                 or pass e.g. --currency {other}",
                listed.join(", "),
                e.message(),
            ))
        })?;
    }
    Ok((scope, period, amount, currency, thresholds))
}

/// Adds a budget after validating everything; on any error nothing is saved.
pub fn add(conn: &Connection, now: i64, req: &AddBudgetRequest) -> Result<Budget> {
    let (scope, period, amount_micros, currency, thresholds) = validate(conn, req)?;
    let thresholds_json = serde_json::to_string(&thresholds).map_err(|e| Error::internal(e.to_string()))?;
    conn.execute(
        "INSERT INTO budgets (scope, source_id, key_id, period, amount_micros, currency, thresholds, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            scope.kind(),
            scope.source_id(),
            scope.key_id(),
            period.as_str(),
            amount_micros,
            currency.as_str(),
            thresholds_json,
            now
        ],
    )?;
    Ok(Budget { id: conn.last_insert_rowid(), scope, period, amount_micros, currency, thresholds, created_at: now })
}

pub fn list(conn: &Connection) -> Result<Vec<Budget>> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.id, b.scope, b.source_id, s.name, b.key_id, b.period, b.amount_micros, b.currency, b.thresholds, b.created_at
         FROM budgets b LEFT JOIN sources s ON s.id = b.source_id ORDER BY b.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, i64>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, source_id, source, key_id, period, amount_micros, currency, thresholds, created_at) = row?;
        let corrupt = |what: &str| Error::internal(format!("budget {id} has an unreadable {what}"));
        let scope = match (kind.as_str(), source_id, source, key_id) {
            ("total", _, _, _) => Scope::Total,
            ("source", Some(source_id), Some(source), _) => Scope::Source { source_id, source },
            ("key", Some(source_id), Some(source), Some(key_id)) => Scope::Key { source_id, source, key_id },
            _ => return Err(corrupt("scope")),
        };
        out.push(Budget {
            id,
            scope,
            period: period.parse().map_err(|_| corrupt("period"))?,
            amount_micros,
            currency: currency.parse().map_err(|_| corrupt("currency"))?,
            thresholds: serde_json::from_str(&thresholds).map_err(|_| corrupt("threshold list"))?,
            created_at,
        });
    }
    Ok(out)
}

pub fn get(conn: &Connection, id: i64) -> Result<Budget> {
    list(conn)?.into_iter().find(|b| b.id == id).ok_or_else(|| not_found(id))
}

/// Removes a budget. The alerts it fired stay in the history (their budget becomes unknown).
pub fn remove(conn: &Connection, id: i64) -> Result<()> {
    let n = conn.execute("DELETE FROM budgets WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

fn not_found(id: i64) -> Error {
    Error::new(ErrorCode::BudgetNotFound, format!("there is no budget {id}; see the ids with `burnrate budget list`"))
}

/// Parses a decimal amount; zero and negative amounts are refused.
pub fn parse_amount(text: &str) -> Result<i64> {
    let micros = parse_micros(text).map_err(|_| {
        Error::invalid_input(format!("budget amount {text:?} is not a decimal number, e.g. 50 or 12.50"))
    })?;
    if micros <= 0 {
        return Err(Error::invalid_input(format!(
            "a budget of {} makes no sense; give an amount greater than zero",
            text.trim()
        )));
    }
    Ok(micros)
}

/// Checks thresholds: 1–1000 %, strictly ascending, at most [`MAX_THRESHOLDS`]. None: the defaults.
pub fn validate_thresholds(given: Option<&[i32]>) -> Result<Vec<u32>> {
    let Some(given) = given else { return Ok(DEFAULT_THRESHOLDS.to_vec()) };
    if given.is_empty() {
        return Err(Error::invalid_input("give at least one threshold, e.g. 50,80,100 (percent of the amount)"));
    }
    if given.len() > MAX_THRESHOLDS {
        return Err(Error::invalid_input(format!("give at most {MAX_THRESHOLDS} thresholds")));
    }
    let mut out = Vec::with_capacity(given.len());
    for &t in given {
        let pct = u32::try_from(t).ok().filter(|p| (1..=MAX_THRESHOLD).contains(p)).ok_or_else(|| {
            Error::invalid_input(format!(
                "threshold {t}% is out of range; use 1 to {MAX_THRESHOLD} (percent of the amount)"
            ))
        })?;
        if let Some(&last) = out.last() {
            if pct <= last {
                return Err(Error::invalid_input(format!(
                    "thresholds must be ascending without repeats ({last} then {pct}); e.g. 50,80,100"
                )));
            }
        }
        out.push(pct);
    }
    Ok(out)
}

/// Parses "50,80,100" (spaces and a trailing % allowed) for the CLI.
pub fn parse_threshold_list(text: &str) -> Result<Vec<i32>> {
    text.split(',')
        .map(|part| {
            let p = part.trim().trim_end_matches('%').trim();
            p.parse::<i32>().map_err(|_| {
                Error::invalid_input(format!(
                    "threshold {:?} is not a whole percentage; use e.g. 50,80,100",
                    part.trim()
                ))
            })
        })
        .collect()
}

/// Resolves `total`, `source:NAME`, `key:KEY_ID` or `key:SOURCE/KEY_ID` against the ledger.
pub fn resolve_scope(conn: &Connection, text: &str) -> Result<Scope> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("total") {
        return Ok(Scope::Total);
    }
    let bad = || {
        Error::invalid_input(format!(
            "{text:?} is not a budget scope; use total, source:NAME or key:KEY_ID (or key:SOURCE/KEY_ID)"
        ))
    };
    let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    match kind.trim().to_ascii_lowercase().as_str() {
        "source" => {
            let s = sources::get(conn, rest)?;
            Ok(Scope::Source { source_id: s.id, source: s.name })
        }
        "key" => resolve_key(conn, rest),
        _ => Err(bad()),
    }
}

fn resolve_key(conn: &Connection, text: &str) -> Result<Scope> {
    // Source names cannot contain '/', so a known source before the first '/' is a qualifier.
    if let Some((source, key_id)) = text.split_once('/') {
        if let Some(s) = sources::find(conn, source)? {
            let key_id = key_id.trim();
            if key_known(conn, s.id, key_id)? {
                return Ok(Scope::Key { source_id: s.id, source: s.name, key_id: key_id.to_owned() });
            }
            return Err(unknown_key(text));
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT s.id, s.name FROM sources s
         WHERE EXISTS (SELECT 1 FROM api_keys k WHERE k.source_id = s.id AND k.provider_key_id = ?1)
            OR EXISTS (SELECT 1 FROM spend_daily_key d WHERE d.source_id = s.id AND d.key_id = ?1)
         ORDER BY s.name",
    )?;
    let found: Vec<(i64, String)> =
        stmt.query_map([text], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    match found.as_slice() {
        [] => Err(unknown_key(text)),
        [(source_id, source)] => {
            Ok(Scope::Key { source_id: *source_id, source: source.clone(), key_id: text.to_owned() })
        }
        many => {
            let names: Vec<&str> = many.iter().map(|(_, n)| n.as_str()).collect();
            Err(Error::invalid_input(format!(
                "key id {text} exists in several sources ({}); say which with key:SOURCE/KEY_ID, e.g. key:{}/{text}",
                names.join(", "),
                names[0]
            )))
        }
    }
}

fn key_known(conn: &Connection, source_id: i64, key_id: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM api_keys WHERE source_id = ?1 AND provider_key_id = ?2)
                         OR EXISTS (SELECT 1 FROM spend_daily_key WHERE source_id = ?1 AND key_id = ?2)",
            params![source_id, key_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn unknown_key(text: &str) -> Error {
    Error::new(
        ErrorCode::KeyNotFound,
        format!(
            "no key {text:?} in the ledger; key ids are the provider's (the key_id field of \
             `burnrate report daily --by key --by source --json`); sync first if the key is new"
        ),
    )
}

/// The currencies a provider reports when the ledger has nothing from it yet. DeepSeek keeps a
/// balance in CNY and USD; a custom JSON endpoint uses its configured currency; the others
/// report US dollars.
pub fn provider_currencies(source: &Source) -> Vec<Currency> {
    match source.provider {
        ProviderId::Deepseek => vec!["CNY".parse().expect("valid"), Currency::usd()],
        ProviderId::CustomJson => {
            vec![source.settings.currency("currency").ok().flatten().unwrap_or_else(Currency::usd)]
        }
        ProviderId::Openai
        | ProviderId::Anthropic
        | ProviderId::Openrouter
        | ProviderId::Litellm
        | ProviderId::NewApi
        | ProviderId::Sub2api => vec![Currency::usd()],
    }
}

/// Every currency a budget over `scope` can be in: those in the ledger's spend and balances for
/// the scope, and those its providers report (so a budget can be set before the first sync).
pub fn currencies_in_scope(conn: &Connection, scope: &Scope) -> Result<BTreeSet<Currency>> {
    let mut out = BTreeSet::new();
    let all = sources::list(conn)?;
    for s in all.iter().filter(|s| scope.source_id().is_none_or(|id| id == s.id)) {
        out.extend(provider_currencies(s));
    }
    let (sql, key): (&str, Option<&str>) = match scope {
        Scope::Key { key_id, .. } => (
            "SELECT DISTINCT currency FROM spend_daily_key WHERE source_id = ?1 AND key_id = ?2
             UNION SELECT DISTINCT currency FROM balance_snapshots WHERE source_id = ?1 AND key_id = ?2",
            Some(key_id),
        ),
        _ => (
            "SELECT DISTINCT currency FROM spend_daily_key WHERE ?1 IS NULL OR source_id = ?1
             UNION SELECT DISTINCT currency FROM balance_snapshots WHERE ?1 IS NULL OR source_id = ?1",
            None,
        ),
    };
    let mut stmt = conn.prepare(sql)?;
    let currencies: Vec<String> = match key {
        Some(k) => stmt.query_map(params![scope.source_id(), k], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?,
        None => stmt.query_map(params![scope.source_id()], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?,
    };
    out.extend(currencies.iter().filter_map(|c| c.parse().ok()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::db;

    fn source(conn: &Connection, name: &str, provider: &str) -> i64 {
        conn.execute(
            "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, created_at) VALUES (?1, ?2, 'http://x', 'env', 'K', 0)",
            params![name, provider],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    fn key(conn: &Connection, source_id: i64, key_id: &str) {
        conn.execute(
            "INSERT INTO api_keys (source_id, provider_key_id, display_name, fingerprint) VALUES (?1, ?2, 'Prod', 'sk-…abcd')",
            params![source_id, key_id],
        )
        .unwrap();
    }

    fn req(scope: &str, period: &str, amount: &str) -> AddBudgetRequest {
        AddBudgetRequest {
            scope: scope.into(),
            period: period.into(),
            amount: amount.into(),
            currency: None,
            thresholds: None,
        }
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM budgets", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_valid_budget_is_saved_with_default_thresholds_and_usd() {
        let conn = db::open_in_memory().unwrap();
        let id = source(&conn, "work", "openai");
        key(&conn, id, "key_FAKE1");
        let b = add(&conn, 100, &req("key:key_FAKE1", "month", "50")).unwrap();
        assert_eq!(b.scope, Scope::Key { source_id: id, source: "work".into(), key_id: "key_FAKE1".into() });
        assert_eq!(
            (b.amount_micros, b.currency.as_str(), b.thresholds.clone()),
            (50_000_000, "USD", vec![50, 80, 100])
        );
        let listed = list(&conn).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].scope, b.scope);
        assert_eq!(listed[0].thresholds, vec![50, 80, 100]);
        let total = add(&conn, 100, &req("total", "week", "12.5")).unwrap();
        assert_eq!(total.scope, Scope::Total);
        let by_source = add(&conn, 100, &req("source:work", "day", "1")).unwrap();
        assert_eq!(by_source.scope.spec(), "source:work");
        remove(&conn, total.id).unwrap();
        assert_eq!(count(&conn), 2);
        assert_eq!(remove(&conn, total.id).unwrap_err().code, ErrorCode::BudgetNotFound);
    }

    #[test]
    fn each_bad_input_is_an_error_and_nothing_is_saved() {
        let conn = db::open_in_memory().unwrap();
        let a = source(&conn, "a", "openai");
        let b = source(&conn, "b", "openrouter");
        key(&conn, a, "shared_FAKE");
        key(&conn, b, "shared_FAKE");
        let with = |f: &dyn Fn(&mut AddBudgetRequest)| {
            let mut r = req("total", "month", "50");
            f(&mut r);
            r
        };
        let cases: Vec<(AddBudgetRequest, &str)> = vec![
            (with(&|r| r.amount = "0".into()), "greater than zero"),
            (with(&|r| r.amount = "-5".into()), "greater than zero"),
            (with(&|r| r.amount = "fifty".into()), "not a decimal"),
            (with(&|r| r.currency = Some("ARS".into())), "your sources report USD"),
            (with(&|r| r.currency = Some("ARS".into())), "no exchange rates for ARS"),
            (with(&|r| r.currency = Some("euro".into())), "ISO-4217"),
            (with(&|r| r.thresholds = Some(vec![80, 50])), "ascending"),
            (with(&|r| r.thresholds = Some(vec![50, 50])), "ascending"),
            (with(&|r| r.thresholds = Some(vec![50, 1001])), "out of range"),
            (with(&|r| r.thresholds = Some(vec![0])), "out of range"),
            (with(&|r| r.thresholds = Some(vec![])), "at least one"),
            (with(&|r| r.period = "year".into()), "day, week or month"),
            (with(&|r| r.scope = "key:nope_FAKE".into()), "report daily --by key"),
            (with(&|r| r.scope = "key:shared_FAKE".into()), "key:a/shared_FAKE"),
            (with(&|r| r.scope = "key:a/nope_FAKE".into()), "no key"),
            (with(&|r| r.scope = "source:missing".into()), "missing"),
            (with(&|r| r.scope = "everything".into()), "total, source:NAME"),
        ];
        for (r, expected) in cases {
            let e = add(&conn, 1, &r).expect_err(&format!("{r:?} must be refused"));
            assert!(e.message().contains(expected), "{r:?}: {:?} lacks {expected:?}", e.message());
        }
        assert_eq!(count(&conn), 0);
        // Qualified by source, the shared id resolves.
        let ok = add(&conn, 1, &req("key:b/shared_FAKE", "month", "5")).unwrap();
        assert_eq!(ok.scope.source_id(), Some(b));
    }

    #[test]
    fn currencies_come_from_the_ledger_and_the_providers() {
        let conn = db::open_in_memory().unwrap();
        let ds = source(&conn, "ds", "deepseek");
        source(&conn, "oa", "openai");
        // DeepSeek has no data yet: CNY and USD are both possible.
        let cny = AddBudgetRequest { currency: Some("cny".into()), ..req("source:ds", "month", "100") };
        assert_eq!(add(&conn, 1, &cny).unwrap().currency.as_str(), "CNY");
        // OpenAI reports USD; a EUR budget converts it at each day's rate (the ECB publishes both).
        let eur = AddBudgetRequest { currency: Some("EUR".into()), ..req("source:oa", "month", "100") };
        assert_eq!(add(&conn, 1, &eur).unwrap().currency.as_str(), "EUR");
        // A currency without rates cannot be converted into: refused, until its rates are imported.
        let ars = AddBudgetRequest { currency: Some("ars".into()), ..req("source:oa", "month", "100") };
        let e = add(&conn, 1, &ars).unwrap_err();
        assert!(e.message().contains("source \"oa\" reports USD"), "{}", e.message());
        assert!(e.message().contains("burnrate rates import"), "{}", e.message());
        assert!(e.message().contains("--currency USD"), "{}", e.message());
        // A currency in the ledger's spend needs no rate while it is the only one.
        conn.execute(
            "INSERT INTO spend_daily_key (source_id, day, key_id, currency, kind, amount_micros, has_model) VALUES (?1, 0, 'k', 'XTS', 'billed', 1, 0)",
            [ds],
        )
        .unwrap();
        let xts = AddBudgetRequest { currency: Some("XTS".into()), ..req("source:ds", "month", "100") };
        let e = add(&conn, 1, &xts).unwrap_err();
        assert!(e.message().contains("no exchange rates for XTS"), "{}: DeepSeek reports CNY and USD too", e.message());
        let mut conn = conn;
        crate::fx::import_csv(
            &mut conn,
            b"date,currency,rate\n2026-03-01,ARS,1000\n",
            "2026-03-10T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(add(&conn, 1, &ars).unwrap().currency.as_str(), "ARS");
        let before = count(&conn);
        // A total budget with no source at all cannot name a currency anyone reports.
        let empty = db::open_in_memory().unwrap();
        let e = add(&empty, 1, &req("total", "month", "1")).unwrap_err();
        assert!(e.message().contains("add a source first"), "{}", e.message());
        assert_eq!(count(&conn), before);
    }

    #[test]
    fn periods_are_local_days_monday_weeks_and_calendar_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // 2026-03-01 is a Sunday.
        assert_eq!(
            BudgetPeriod::Week.containing(d("2026-03-01")),
            LocalPeriod { start: d("2026-02-23"), end: d("2026-03-01") }
        );
        assert_eq!(
            BudgetPeriod::Week.containing(d("2026-03-02")),
            LocalPeriod { start: d("2026-03-02"), end: d("2026-03-08") }
        );
        assert_eq!(
            BudgetPeriod::Month.containing(d("2028-02-15")),
            LocalPeriod { start: d("2028-02-01"), end: d("2028-02-29") }
        );
        assert_eq!(BudgetPeriod::Month.containing(d("2026-12-31")).end, d("2026-12-31"));
        assert_eq!(
            BudgetPeriod::Day.containing(d("2026-03-02")),
            LocalPeriod { start: d("2026-03-02"), end: d("2026-03-02") }
        );
        let march = BudgetPeriod::Month.containing(d("2026-03-10"));
        assert_eq!(march.previous(BudgetPeriod::Month), LocalPeriod { start: d("2026-02-01"), end: d("2026-02-28") });
    }

    #[test]
    fn threshold_text_parses_with_percent_signs() {
        assert_eq!(parse_threshold_list("50, 80%,100").unwrap(), vec![50, 80, 100]);
        assert!(parse_threshold_list("50,,80").is_err());
        assert!(parse_threshold_list("half").is_err());
    }
}
