//! Reading spend back: which rows count (billed over estimated), the daily report, its CSV and
//! the reconciliation of billed against estimated.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rusqlite::{params, Connection};

use crate::csv_out::{Cell, CsvTable};
use crate::days::{ts_to_day, DayRange};
use crate::dto::{ConvertedReportRow, Dimension, ReconcileRow, ReportRow};
use crate::error::Result;
use crate::fx::{ConvertedAmount, Converter};
use crate::money::format_micros;
use crate::poll::SpendKind;
use crate::providers::ProviderId;

/// The name of spend without a key when grouping by key: what the provider billed without
/// naming a key, and the part of a bill its per-key estimates do not cover.
pub const NOT_ATTRIBUTED_TO_A_KEY: &str = "not attributed to a key";
/// The same for a grouping by model.
pub const NOT_ATTRIBUTED_TO_A_MODEL: &str = "not attributed to a model";

/// One roll-up row (source, UTC day, key, model, currency, kind) that counts under the report
/// rule; see [`counted_rows`].
#[derive(Debug, Clone)]
pub(crate) struct CountedRow {
    /// The UTC day's start, Unix seconds.
    pub day: i64,
    pub source: i64,
    /// Empty when the spend is not attributed to a key.
    pub key: String,
    /// Empty unless `by_model` was asked (then: empty when not attributed to a model).
    pub model: String,
    pub currency: String,
    pub billed: bool,
    /// Micro-units; negative only for a remainder (below) where the estimates exceed the bill.
    pub amount: i64,
}

/// The rows of the daily roll-ups over `range` that count for a grouping by key and/or model.
///
/// Per source and day the total is always the one a grouping by source counts: what the
/// provider billed, or the token estimates on a day without a bill. Where the bill cannot
/// answer the grouping (Anthropic bills per workspace but estimates per key; OpenAI bills per
/// key but estimates per model) the estimates answer it, marked as such, and the bill minus the
/// estimates follows per currency as a *remainder*: a billed row without key and model. So every grouping adds up, per day and currency, to the same total: nothing dropped,
/// nothing counted twice. Reports, charts, the key table and the budget alerts all read spend
/// through this, so they always agree.
pub(crate) fn counted_rows(
    conn: &Connection,
    by_key: bool,
    by_model: bool,
    range: DayRange,
) -> Result<Vec<CountedRow>> {
    let sql = if by_model {
        "SELECT day, source_id, key_id, model, currency, kind, amount_micros, model != '' FROM spend_daily
         WHERE day >= ?1 AND day < ?2"
    } else {
        "SELECT day, source_id, key_id, '', currency, kind, amount_micros, has_model FROM spend_daily_key
         WHERE day >= ?1 AND day < ?2"
    };
    #[derive(Default)]
    struct Seen {
        billed: bool,
        estimated: bool,
        billed_keyed: bool,
        estimated_keyed: bool,
        billed_modeled: bool,
        estimated_modeled: bool,
    }
    let mut rows = Vec::new();
    let mut seen: HashMap<(i64, i64), Seen> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut q = stmt.query(params![range.start_ts(), range.end_ts()])?;
        while let Some(r) = q.next()? {
            let row = CountedRow {
                day: r.get(0)?,
                source: r.get(1)?,
                key: r.get(2)?,
                model: r.get(3)?,
                currency: r.get(4)?,
                billed: r.get_ref(5)?.as_str().map_err(rusqlite::Error::from)? == "billed",
                amount: r.get(6)?,
            };
            let has_model: bool = r.get(7)?;
            let s = seen.entry((row.source, row.day)).or_default();
            let keyed = !row.key.is_empty();
            if row.billed {
                s.billed = true;
                s.billed_keyed |= keyed;
                s.billed_modeled |= has_model;
            } else {
                s.estimated = true;
                s.estimated_keyed |= keyed;
                s.estimated_modeled |= has_model;
            }
            rows.push(row);
        }
    }
    // Which kind answers the grouping per source and day, and whether a remainder follows.
    let answer = |s: &Seen| -> (bool, bool) {
        let billed_answers = (!by_key || s.billed_keyed || !s.estimated_keyed)
            && (!by_model || s.billed_modeled || !s.estimated_modeled);
        match (s.billed, billed_answers) {
            (false, _) => (false, false),
            (true, true) => (true, false),
            (true, false) => (false, true),
        }
    };
    // Per (source, day, currency): bill minus estimates, where the estimates answer for a bill.
    let mut remainders: BTreeMap<(i64, i64, String), i64> = BTreeMap::new();
    let overflow = crate::money::sum_overflow;
    for row in &rows {
        let (_, remainder) = answer(&seen[&(row.source, row.day)]);
        if remainder {
            let r = remainders.entry((row.source, row.day, row.currency.clone())).or_insert(0);
            let signed = if row.billed { row.amount } else { row.amount.checked_neg().ok_or_else(overflow)? };
            *r = r.checked_add(signed).ok_or_else(overflow)?;
        }
    }
    rows.retain(|row| answer(&seen[&(row.source, row.day)]).0 == row.billed);
    rows.extend(remainders.into_iter().filter(|(_, amount)| *amount != 0).map(|((source, day, currency), amount)| {
        CountedRow { day, source, key: String::new(), model: String::new(), currency, billed: true, amount }
    }));
    Ok(rows)
}

/// Daily totals over the inclusive UTC day range, grouped by the chosen dimensions (hourly
/// buckets roll up into their day). Currencies are never summed together.
///
/// For each source and day only one kind is counted: billed rows, unless the estimates carry a
/// grouped dimension the billed rows lack (OpenAI bills per key but not per model; its token
/// estimates have both). So billed supersedes estimates wherever it can answer, and nothing is
/// counted twice.
///
/// The roll-ups are read with one primary-key range scan and grouped here: reports by key,
/// source or in total read `spend_daily_key` (no model dimension), reports by model read
/// `spend_daily`.
pub fn daily_report(conn: &Connection, by: &[Dimension], range: DayRange) -> Result<Vec<ReportRow>> {
    report_rows(conn, by, range, |_, _, row| Ok(row))
}

/// A daily report with every row also in another currency (`report daily --convert-to EUR`):
/// the rows of [`daily_report`], and the rate they were converted at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedReport {
    pub rows: Vec<ConvertedReportRow>,
    /// The sum of the converted rows (each rounded on its own, so the total is their sum);
    /// unknown when a row lacks a rate, with `missing` saying which currency since when.
    pub total: ConvertedAmount,
}

/// [`daily_report`] with each row converted into `target` at the rate of the row's own day (or
/// the last earlier one, which `rate_date` names), rounded once per row, half to even. The rates
/// are read once for the whole range. A row without a rate keeps `converted_amount` null, and
/// the total says which rate is missing since when; nothing is left out silently.
pub fn daily_report_converted(
    conn: &Connection,
    by: &[Dimension],
    range: DayRange,
    target: &str,
) -> Result<ConvertedReport> {
    let mut converter = Converter::load(conn, target, range)?;
    let target = converter.target().to_owned();
    let (mut sum, mut oldest, mut newest) = (0i64, None::<NaiveDate>, None::<NaiveDate>);
    let rows = report_rows(conn, by, range, |day, micros, row| {
        let converted = converter.convert(micros, &row.currency, day)?;
        if let Some(c) = &converted {
            sum = sum.checked_add(c.micros).ok_or_else(crate::money::sum_overflow)?;
            // Rows already in the target needed no rate: they do not widen the total's rate days
            // (as in fx::ConvertedSum).
            if row.currency != target {
                let used = c.rate_date();
                oldest = Some(oldest.map_or(used, |d| d.min(used)));
                newest = Some(newest.map_or(used, |d| d.max(used)));
            }
        }
        Ok(ConvertedReportRow {
            row,
            converted_amount: converted.map(|c| format_micros(c.micros)),
            converted_currency: target.clone(),
            rate_date: converted.map(|c| c.rate_date().to_string()),
        })
    })?;
    let missing = converter.missing_text();
    let total = ConvertedAmount {
        amount: missing.is_none().then(|| format_micros(sum)),
        currency: target,
        rate_date: oldest.map(|d| d.to_string()),
        rate_date_to: newest.map(|d| d.to_string()),
        missing,
    };
    Ok(ConvertedReport { rows, total })
}

/// The report's rows in output order, each made by `make` from its UTC day, its amount in
/// micro-units and the row (so a conversion needs neither parse back).
fn report_rows<T>(
    conn: &Connection,
    by: &[Dimension],
    range: DayRange,
    mut make: impl FnMut(NaiveDate, i64, ReportRow) -> Result<T>,
) -> Result<Vec<T>> {
    let by_key = by.contains(&Dimension::Key);
    let by_model = by.contains(&Dimension::Model);
    let by_source = by.contains(&Dimension::Source);
    let rows = counted_rows(conn, by_key, by_model, range)?;
    let names = Names::load(conn, by_source, by_key)?;
    // Sorted like the output: day, source name, key id, model, currency, kind. A grouped key or
    // model is `Some("")` where the spend is not attributed to one.
    type Group = (i64, Option<String>, Option<String>, Option<String>, String, SpendKind, i64);
    let mut groups: BTreeMap<Group, i64> = BTreeMap::new();
    for row in rows {
        let kind = if row.billed { SpendKind::Billed } else { SpendKind::Estimated };
        let key = (
            row.day,
            by_source.then(|| names.source_name(row.source)),
            by_key.then(|| row.key.clone()),
            by_model.then_some(row.model),
            row.currency,
            kind,
            // Keys are only unique within a source: keep sources apart when grouping by key.
            if by_key || by_source { row.source } else { 0 },
        );
        let total = groups.entry(key).or_insert(0);
        *total = total.checked_add(row.amount).ok_or_else(crate::money::sum_overflow)?;
    }
    let attributed = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    groups
        .into_iter()
        .map(|((day, source, key_id, model, currency, kind, source_id), amount)| {
            let day = ts_to_day(day);
            let row = ReportRow {
                day: day.to_string(),
                provider: source.as_ref().and_then(|_| names.provider(source_id)),
                source,
                key_name: key_id.as_deref().map(|k| {
                    if k.is_empty() {
                        NOT_ATTRIBUTED_TO_A_KEY.to_owned()
                    } else {
                        names.key_name(source_id, k)
                    }
                }),
                key_id: attributed(&key_id),
                model_name: model
                    .as_deref()
                    .map(|m| if m.is_empty() { NOT_ATTRIBUTED_TO_A_MODEL } else { m }.to_owned()),
                model: attributed(&model),
                currency,
                amount: format_micros(amount),
                kind,
            };
            make(day, amount, row)
        })
        .collect()
}

/// The columns of `report daily --csv`.
const REPORT_COLUMNS: [&str; 10] =
    ["day", "source", "provider", "key_id", "key_name", "model", "model_name", "currency", "amount", "kind"];

/// A daily report as CSV (`report daily --csv`, ledger exports): a header, then one line per row,
/// written by [`crate::csv_out`] (names neutralised, amounts as numbers).
pub fn report_csv(rows: &[ReportRow]) -> String {
    let mut table = CsvTable::new(REPORT_COLUMNS);
    for r in rows {
        table.row(report_cells(r));
    }
    table.finish()
}

/// `report daily --convert-to CUR --csv`: the columns of [`report_csv`], then
/// `converted_amount` (empty when the rate is missing), `converted_currency` and `rate_date`.
pub fn report_csv_converted(rows: &[ConvertedReportRow]) -> String {
    let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9] = REPORT_COLUMNS;
    let mut table =
        CsvTable::new([c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, "converted_amount", "converted_currency", "rate_date"]);
    for r in rows {
        let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9] = report_cells(&r.row);
        table.row([
            c0,
            c1,
            c2,
            c3,
            c4,
            c5,
            c6,
            c7,
            c8,
            c9,
            Cell::decimal(r.converted_amount.as_deref().unwrap_or("")),
            Cell::text(&r.converted_currency),
            opt_text(&r.rate_date),
        ]);
    }
    table.finish()
}

fn report_cells(r: &ReportRow) -> [Cell<'_>; 10] {
    [
        Cell::text(&r.day),
        opt_text(&r.source),
        Cell::text(r.provider.map(|p| p.as_str()).unwrap_or("")),
        opt_text(&r.key_id),
        opt_text(&r.key_name),
        opt_text(&r.model),
        opt_text(&r.model_name),
        Cell::text(&r.currency),
        Cell::decimal(&r.amount),
        Cell::text(r.kind.as_str()),
    ]
}

fn opt_text(v: &Option<String>) -> Cell<'_> {
    Cell::text(v.as_deref().unwrap_or(""))
}

/// Source and key display names, loaded once per report.
pub(crate) struct Names {
    sources: HashMap<i64, (String, Option<ProviderId>)>,
    keys: HashMap<(i64, String), String>,
}

impl Names {
    pub(crate) fn load(conn: &Connection, sources: bool, keys: bool) -> Result<Self> {
        let mut names = Names { sources: HashMap::new(), keys: HashMap::new() };
        if sources {
            let mut stmt = conn.prepare_cached("SELECT id, name, provider FROM sources")?;
            let mut q = stmt.query([])?;
            while let Some(r) = q.next()? {
                let provider: String = r.get(2)?;
                names.sources.insert(r.get(0)?, (r.get(1)?, provider.parse().ok()));
            }
        }
        if keys {
            let mut stmt = conn.prepare_cached(
                "SELECT source_id, provider_key_id, coalesce(display_name, fingerprint) FROM api_keys
                 WHERE coalesce(display_name, fingerprint) IS NOT NULL",
            )?;
            let mut q = stmt.query([])?;
            while let Some(r) = q.next()? {
                names.keys.insert((r.get(0)?, r.get(1)?), r.get(2)?);
            }
        }
        Ok(names)
    }
    pub(crate) fn source_name(&self, id: i64) -> String {
        self.sources.get(&id).map(|(n, _)| n.clone()).unwrap_or_default()
    }
    pub(crate) fn provider(&self, id: i64) -> Option<ProviderId> {
        self.sources.get(&id).and_then(|(_, p)| *p)
    }
    pub(crate) fn key_name(&self, source: i64, key: &str) -> String {
        self.keys.get(&(source, key.to_owned())).cloned().unwrap_or_else(|| key.to_owned())
    }
}

/// Billed against estimated spend per source, day and currency, where both exist: how far the
/// token-based estimates were from what the provider charged.
pub fn reconcile(conn: &Connection, range: DayRange) -> Result<Vec<ReconcileRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT strftime('%Y-%m-%d', s.day, 'unixepoch'), src.name, s.currency,
                sum(CASE WHEN s.kind = 'billed' THEN s.amount_micros END),
                sum(CASE WHEN s.kind = 'estimated' THEN s.amount_micros END)
         FROM spend_daily s JOIN sources src ON src.id = s.source_id
         WHERE s.day >= ?1 AND s.day < ?2
         GROUP BY s.day, s.source_id, s.currency
         HAVING count(DISTINCT s.kind) = 2
         ORDER BY s.day, src.name, s.currency",
    )?;
    let rows = stmt.query_map(params![range.start_ts(), range.end_ts()], |r| {
        let billed: i64 = r.get(3)?;
        let estimated: i64 = r.get(4)?;
        Ok(ReconcileRow {
            day: r.get(0)?,
            source: r.get(1)?,
            currency: r.get(2)?,
            billed: format_micros(billed),
            estimated: format_micros(estimated),
            difference: format_micros(billed - estimated),
        })
    })?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn report_groups_by_dimension_and_never_mixes_currencies() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let range = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap();
        let mut cny = row("2026-03-01", "k2", 7_000_000);
        cny.currency = "CNY".parse().unwrap();
        let p = poll(range, vec![row("2026-03-01", "k1", 1_000_000), row("2026-03-01", "", 500_000), cny]);
        write_poll(&mut conn, id, 1, 2, range, &p).unwrap();

        let totals = daily_report(&conn, &[], range).unwrap();
        assert_eq!(totals.len(), 2, "{totals:?}");
        let usd = totals.iter().find(|r| r.currency == "USD").unwrap();
        assert_eq!(usd.amount, "1.500000");
        assert_eq!(usd.key_id, None);
        assert_eq!(usd.source, None);

        let by_key = daily_report(&conn, &[Dimension::Key], range).unwrap();
        assert_eq!(by_key.len(), 3);
        let unattributed = by_key.iter().find(|r| r.key_id.is_none()).unwrap();
        assert_eq!(unattributed.key_name.as_deref(), Some(NOT_ATTRIBUTED_TO_A_KEY));
        assert_eq!(unattributed.amount, "0.500000");
    }

    #[test]
    fn billed_supersedes_estimates_where_it_can_answer_the_grouping() {
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let day1 = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap();
        let both = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-02").unwrap()).unwrap();
        // Billed per key (no model) for day 1 only; hourly estimates per key and model for both days.
        let billed = SpendWindow {
            width: BucketWidth::Day,
            kind: SpendKind::Billed,
            from: day1.start_ts(),
            to: day1.end_ts(),
            rows: vec![row("2026-03-01", "k1", 10_000_000)],
        };
        let hour = |day: &str, h: i64, model: &str, micros: i64| SpendRow {
            model: model.into(),
            bucket_start: day_start(parse_day(day).unwrap()) + h * 3600,
            ..row(day, "k1", micros)
        };
        let estimated = SpendWindow {
            width: BucketWidth::Hour,
            kind: SpendKind::Estimated,
            from: both.start_ts(),
            to: both.end_ts(),
            rows: vec![
                hour("2026-03-01", 3, "gpt-4o", 6_000_000),
                hour("2026-03-01", 9, "gpt-4o-mini", 3_000_000),
                hour("2026-03-02", 1, "gpt-4o", 2_000_000),
            ],
        };
        let poll = PollResult { windows: vec![billed, estimated], ..Default::default() };
        write_poll(&mut conn, id, 1, 2, both, &poll).unwrap();

        let amounts = |by: &[Dimension]| -> Vec<(String, Option<String>, String, SpendKind)> {
            daily_report(&conn, by, both).unwrap().into_iter().map(|r| (r.day, r.model, r.amount, r.kind)).collect()
        };
        // Totals and per key: day 1 from the bill, day 2 (no bill yet) from estimates.
        let expected = vec![
            ("2026-03-01".to_string(), None, "10.000000".to_string(), SpendKind::Billed),
            ("2026-03-02".to_string(), None, "2.000000".to_string(), SpendKind::Estimated),
        ];
        assert_eq!(amounts(&[]), expected);
        assert_eq!(amounts(&[Dimension::Key]), expected);
        // Per model: the bill has no models, so estimates answer, marked as such, and the rest of
        // the bill follows without a model: the day still adds up to the bill.
        let day = |d: &str| d.to_string();
        let micros = |a: &str| a.to_string();
        assert_eq!(
            amounts(&[Dimension::Model]),
            vec![
                (day("2026-03-01"), None, micros("1.000000"), SpendKind::Billed),
                (day("2026-03-01"), Some("gpt-4o".into()), micros("6.000000"), SpendKind::Estimated),
                (day("2026-03-01"), Some("gpt-4o-mini".into()), micros("3.000000"), SpendKind::Estimated),
                (day("2026-03-02"), Some("gpt-4o".into()), micros("2.000000"), SpendKind::Estimated),
            ]
        );
        let rest = daily_report(&conn, &[Dimension::Model], both).unwrap().remove(0);
        assert_eq!(rest.model_name.as_deref(), Some(NOT_ATTRIBUTED_TO_A_MODEL));
        // Reconciliation keeps the difference where both exist.
        let rec = reconcile(&conn, both).unwrap();
        assert_eq!(rec.len(), 1);
        assert_eq!(
            (rec[0].billed.as_str(), rec[0].estimated.as_str(), rec[0].difference.as_str()),
            ("10.000000", "9.000000", "1.000000")
        );
    }

    #[test]
    fn estimates_above_the_bill_leave_a_negative_rest_and_every_grouping_keeps_the_bill() {
        // Anthropic's shape: billed per workspace (no key), estimated per key and model at list
        // prices that exceed the bill (cache discounts).
        let mut conn = db::open_in_memory().unwrap();
        let id = source(&conn, "a");
        let day1 = DayRange::new(parse_day("2026-03-01").unwrap(), parse_day("2026-03-01").unwrap()).unwrap();
        let billed = SpendWindow {
            width: BucketWidth::Day,
            kind: SpendKind::Billed,
            from: day1.start_ts(),
            to: day1.end_ts(),
            rows: vec![SpendRow { model: "claude".into(), ..row("2026-03-01", "", 5_000_000) }],
        };
        let estimated = SpendWindow {
            kind: SpendKind::Estimated,
            rows: vec![
                SpendRow { model: "claude".into(), ..row("2026-03-01", "k1", 4_000_000) },
                SpendRow { model: "claude".into(), ..row("2026-03-01", "k2", 3_000_000) },
            ],
            ..billed.clone()
        };
        write_poll(&mut conn, id, 1, 2, day1, &PollResult { windows: vec![billed, estimated], ..Default::default() })
            .unwrap();
        let by_key = daily_report(&conn, &[Dimension::Key], day1).unwrap();
        let cells: Vec<(Option<&str>, &str, &str, SpendKind)> = by_key
            .iter()
            .map(|r| (r.key_id.as_deref(), r.key_name.as_deref().unwrap(), r.amount.as_str(), r.kind))
            .collect();
        assert_eq!(
            cells,
            vec![
                (None, NOT_ATTRIBUTED_TO_A_KEY, "-2.000000", SpendKind::Billed),
                (Some("k1"), "k1", "4.000000", SpendKind::Estimated),
                (Some("k2"), "k2", "3.000000", SpendKind::Estimated),
            ]
        );
        for by in [vec![], vec![Dimension::Source], vec![Dimension::Model], vec![Dimension::Key, Dimension::Model]] {
            let sum: i64 = daily_report(&conn, &by, day1)
                .unwrap()
                .iter()
                .map(|r| crate::money::parse_micros(&r.amount).unwrap())
                .sum();
            assert_eq!(sum, 5_000_000, "by {by:?}");
        }
    }

    /// A USD and a CNY source over a weekend and a month without rates, converted into EUR.
    #[test]
    fn converted_rows_use_their_own_days_rate_and_the_total_is_the_sum_of_rounded_rows() {
        let mut conn = db::open_in_memory().unwrap();
        let (usd, cny) = (source(&conn, "usd-books"), source(&conn, "cny-relay"));
        let range = DayRange::new(parse_day("2026-02-27").unwrap(), parse_day("2026-04-06").unwrap()).unwrap();
        let yuan = |day: &str, micros: i64| SpendRow { currency: "CNY".parse().unwrap(), ..row(day, "", micros) };
        let usd_rows = vec![
            row("2026-02-27", "", 10_000_000),
            row("2026-02-28", "", 4_000_000),
            row("2026-04-03", "", 3_333_333),
            row("2026-04-04", "", 1_234_567),
            row("2026-04-06", "", 500_000),
        ];
        write_poll(&mut conn, usd, 1, 2, range, &poll(range, usd_rows)).unwrap();
        let cny_rows = vec![
            yuan("2026-02-28", 100_000_000),
            yuan("2026-03-31", 50_000_000),
            yuan("2026-04-04", 12_345_678),
            yuan("2026-04-06", 8_000_000),
        ];
        write_poll(&mut conn, cny, 1, 2, range, &poll(range, cny_rows)).unwrap();
        // Friday 27 February, then nothing for 34 days, then Thursday 2 April to Easter Monday
        // (Good Friday 3 April has a company rate here; the weekend has none).
        let rates = "date,currency,rate\n2026-02-27,USD,1.0823\n2026-02-27,CNY,7.8123\n2026-04-02,USD,1.0790\n\
                     2026-04-02,CNY,7.8250\n2026-04-03,USD,1.0750\n2026-04-03,CNY,7.8000\n2026-04-06,USD,1.0800\n\
                     2026-04-06,CNY,7.8300\n";
        let now = chrono::DateTime::parse_from_rfc3339("2026-04-10T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        crate::fx::import_csv(&mut conn, rates.as_bytes(), now).unwrap();

        let report = daily_report_converted(&conn, &[], range, "EUR").unwrap();
        type Cells<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
        let cells: Vec<Cells<'_>> = report
            .rows
            .iter()
            .map(|r| {
                assert_eq!(r.converted_currency, "EUR");
                (
                    r.row.day.as_str(),
                    r.row.currency.as_str(),
                    r.row.amount.as_str(),
                    r.converted_amount.as_deref(),
                    r.rate_date.as_deref(),
                )
            })
            .collect();
        // By hand, amount ÷ rate rounded half to even to six places:
        assert_eq!(
            cells,
            vec![
                // 10 / 1.0823 = 9.23958237…
                ("2026-02-27", "USD", "10.000000", Some("9.239582"), Some("2026-02-27")),
                // Saturday: Friday's rates. 100 / 7.8123 = 12.80032768…; 4 / 1.0823 = 3.69583294…
                ("2026-02-28", "CNY", "100.000000", Some("12.800328"), Some("2026-02-27")),
                ("2026-02-28", "USD", "4.000000", Some("3.695833"), Some("2026-02-27")),
                // 32 days after the last rate: missing, not stale.
                ("2026-03-31", "CNY", "50.000000", None, None),
                // 3.333333 / 1.0750 = 3.10077488…
                ("2026-04-03", "USD", "3.333333", Some("3.100775"), Some("2026-04-03")),
                // Holy Saturday: Good Friday's rates. 12.345678 / 7.8 = 1.58277923…; 1.234567 / 1.075 = 1.14843441…
                ("2026-04-04", "CNY", "12.345678", Some("1.582779"), Some("2026-04-03")),
                ("2026-04-04", "USD", "1.234567", Some("1.148434"), Some("2026-04-03")),
                // 8 / 7.83 = 1.02171136…; 0.5 / 1.08 = 0.46296296…
                ("2026-04-06", "CNY", "8.000000", Some("1.021711"), Some("2026-04-06")),
                ("2026-04-06", "USD", "0.500000", Some("0.462963"), Some("2026-04-06")),
            ]
        );
        // One row without a rate makes the total unknown, and says why.
        assert_eq!(report.total.amount, None);
        assert_eq!(report.total.missing.as_deref(), Some("missing rate for CNY since 2026-03-31"));
        // The native rows are exactly the unconverted report's.
        let plain = daily_report(&conn, &[], range).unwrap();
        assert_eq!(report.rows.iter().map(|r| r.row.clone()).collect::<Vec<_>>(), plain);

        // April alone: every rate known. The rows add up to 7.316662, while the exact amounts add
        // up to 7.31666286… (7.316663 rounded): the total is the sum of the rounded rows.
        let april = DayRange::new(parse_day("2026-04-01").unwrap(), parse_day("2026-04-06").unwrap()).unwrap();
        let report = daily_report_converted(&conn, &[Dimension::Source], april, "eur").unwrap();
        assert_eq!(report.total.amount.as_deref(), Some("7.316662"));
        assert_eq!(
            (report.total.rate_date.as_deref(), report.total.rate_date_to.as_deref()),
            (Some("2026-04-03"), Some("2026-04-06"))
        );
        assert_eq!(report.total.missing, None);
        let sum = crate::money::checked_sum(
            report.rows.iter().map(|r| crate::money::parse_micros(r.converted_amount.as_deref().unwrap()).unwrap()),
        )
        .unwrap();
        assert_eq!(sum, 7_316_662);
        assert_eq!(
            report.rows.iter().map(|r| (r.row.day.as_str(), r.row.source.as_deref().unwrap())).collect::<Vec<_>>(),
            [
                ("2026-04-03", "usd-books"),
                ("2026-04-04", "cny-relay"),
                ("2026-04-04", "usd-books"),
                ("2026-04-06", "cny-relay"),
                ("2026-04-06", "usd-books")
            ]
        );

        // Into CNY: CNY rows stay as they are (their own day as rate date), USD goes through EUR.
        let report = daily_report_converted(&conn, &[], april, "CNY").unwrap();
        let friday = &report.rows[0];
        // 3.333333 / 1.0750 × 7.8000 = 24.18604409…
        assert_eq!(
            (friday.converted_amount.as_deref(), friday.rate_date.as_deref()),
            (Some("24.186044"), Some("2026-04-03"))
        );
        let monday_cny = &report.rows[3];
        assert_eq!(
            (monday_cny.row.currency.as_str(), monday_cny.converted_amount.as_deref(), monday_cny.rate_date.as_deref()),
            ("CNY", Some("8.000000"), Some("2026-04-06"))
        );
        // Good Friday has USD spend only: into USD nothing needs a rate, so the total names no rate day.
        let friday = DayRange::new(parse_day("2026-04-03").unwrap(), parse_day("2026-04-03").unwrap()).unwrap();
        let same = daily_report_converted(&conn, &[], friday, "USD").unwrap();
        assert_eq!(same.rows[0].converted_amount.as_deref(), Some("3.333333"));
        assert_eq!(same.rows[0].rate_date.as_deref(), Some("2026-04-03"));
        assert_eq!((same.total.amount.as_deref(), same.total.rate_date.as_deref()), (Some("3.333333"), None));
    }

    #[test]
    fn the_csv_report_keeps_hostile_names_inert_and_amounts_numbers() {
        let hostile = "=HYPERLINK(\"http://x\")";
        let row = ReportRow {
            day: "2026-03-01".into(),
            source: Some("@SUM(A1)".into()),
            provider: Some(ProviderId::Litellm),
            key_id: Some("-2+3".into()),
            key_name: Some("a\rb".into()),
            model: Some(hostile.into()),
            model_name: Some("\tx".into()),
            currency: "USD".into(),
            amount: "-5.000000".into(),
            kind: SpendKind::Billed,
        };
        let text = report_csv(std::slice::from_ref(&row));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            ["day", "source", "provider", "key_id", "key_name", "model", "model_name", "currency", "amount", "kind"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1, "{text:?}");
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                "2026-03-01",
                "'@SUM(A1)",
                "litellm",
                "'-2+3",
                "a\rb",
                "'=HYPERLINK(\"http://x\")",
                "'\tx",
                "USD",
                "-5.000000",
                "billed"
            ]
        );

        // Converted: the same ten columns first, then the three more; a missing rate is empty.
        let converted = [
            ConvertedReportRow {
                row: row.clone(),
                converted_amount: Some("-4.621461".into()),
                converted_currency: "EUR".into(),
                rate_date: Some("2026-02-27".into()),
            },
            ConvertedReportRow { row, converted_amount: None, converted_currency: "EUR".into(), rate_date: None },
        ];
        let text = report_csv_converted(&converted);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header[..10], REPORT_COLUMNS);
        assert_eq!(header[10..], ["converted_amount", "converted_currency", "rate_date"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows[0].get(3), Some("'-2+3"));
        assert_eq!(
            rows[0].iter().skip(8).collect::<Vec<_>>(),
            ["-5.000000", "billed", "-4.621461", "EUR", "2026-02-27"]
        );
        assert_eq!(rows[1].iter().skip(10).collect::<Vec<_>>(), ["", "EUR", ""]);
    }
}
