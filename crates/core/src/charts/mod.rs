//! Charts of spend, rendered in Rust with plotters to SVG, with the geometry of every bar so the
//! UI can show a tooltip and filter on click without re-measuring the picture.
//!
//! * **Daily** ([`ChartKind::Daily`]): stacked bars per UTC day (the days providers report),
//!   one segment per key, model or source; the top N series by total in the range, the rest
//!   summed as "other".
//! * **Hourly** ([`ChartKind::Hourly`]): the same stacked bars over the 24 UTC hours of one
//!   day (today by default), from the providers that report by the hour; the sources that
//!   report whole days only are named in the chart's note instead of being spread over hours.
//! * **Cumulative** ([`ChartKind::Cumulative`]): month-to-date total against the monthly
//!   total-scope budget in that currency (if any), with the month-end forecast dashed.
//!
//! One chart is one currency: amounts in different currencies are never added. Money stays
//! integer micro-units in the data; only the picture's coordinates are floating point.
//! Estimated spend (token counts × list price) is drawn lighter and flagged in the geometry.
//! Colours come from the series id (a hash into a palette legible on light and dark
//! backgrounds), not from its rank, so a key keeps its colour across charts and ranges.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rusqlite::Connection;

mod dto;

pub use dto::{ChartBar, ChartFormat, ChartKind, ChartQuery, ChartSeries, ChartTheme, ChartView, NativeAmount};

use crate::budgets::BudgetPeriod;
use crate::days::{ts_to_day, DayRange};
use crate::dto::Dimension;
use crate::error::{Error, ErrorCode, Result};
use crate::fx::{ConvertedSum, Converter};
use crate::ledger::{counted_rows, Names, NOT_ATTRIBUTED_TO_A_KEY, NOT_ATTRIBUTED_TO_A_MODEL};
use crate::money::format_micros;

/// Series shown by name before the rest is summed as "other".
pub const DEFAULT_TOP: u32 = 8;
const MAX_TOP: u32 = 20;
pub const DEFAULT_WIDTH: u32 = 900;
pub const DEFAULT_HEIGHT: u32 = 360;
/// The series id of everything outside the top N.
pub const OTHER: &str = "other";
/// The series id of a converted chart's marked gap: a day (or hour) without a rate.
pub const MISSING_RATE: &str = "missing-rate";

/// Tableau 10: distinguishable for most colour-vision deficiencies and readable on white and on
/// a near-black background alike.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];
const OTHER_COLOR: RGBColor = RGBColor(0x8c, 0x8c, 0x8c);

struct Theme {
    background: RGBColor,
    text: RGBColor,
    grid: RGBColor,
}

fn theme(t: ChartTheme) -> Theme {
    match t {
        ChartTheme::Light => Theme {
            background: RGBColor(0xff, 0xff, 0xff),
            text: RGBColor(0x1f, 0x23, 0x28),
            grid: RGBColor(0xe3, 0xe6, 0xea),
        },
        ChartTheme::Dark => Theme {
            background: RGBColor(0x16, 0x1a, 0x1f),
            text: RGBColor(0xe6, 0xe9, 0xec),
            grid: RGBColor(0x33, 0x39, 0x40),
        },
    }
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// FNV-1a: a stable hash (std's is randomly seeded per process).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A colour per series id: its hash's palette slot, or the next free one when two series of
/// this chart want the same slot (decided in id order, so the result does not depend on rank).
fn colors(ids: &[String]) -> HashMap<String, RGBColor> {
    let mut sorted: Vec<&String> = ids.iter().filter(|id| id.as_str() != OTHER).collect();
    sorted.sort();
    let mut taken = [false; PALETTE.len()];
    let mut out = HashMap::new();
    for id in sorted {
        let start = (stable_hash(id) % PALETTE.len() as u64) as usize;
        let slot = (0..PALETTE.len()).map(|i| (start + i) % PALETTE.len()).find(|&i| !taken[i]).unwrap_or(start);
        taken[slot] = true;
        out.insert(id.clone(), PALETTE[slot]);
    }
    out.insert(OTHER.to_owned(), OTHER_COLOR);
    out
}

fn draw_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::internal(format!("could not draw the chart: {e:?}"))
}

/// A money axis label without the currency (named in the caption): whole units with thousands
/// separators on an axis that goes past 20, two decimals below.
fn axis_money(units: f64, axis_top: f64) -> String {
    if axis_top < 20.0 {
        return format!("{units:.2}");
    }
    if units >= 1000.0 {
        crate::money::thousands(units.round() as i64)
    } else {
        format!("{units:.0}")
    }
}

/// The frame every chart draws on: one column per day or hour on x (`columns`, centred on
/// 0, 1, …; `x_label(i)` names column i or leaves it blank), money from 0 to `y_top` on y, the
/// caption above and the mesh in the theme's colours.
fn money_frame<'a, 'b>(
    plot: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    t: &Theme,
    caption: String,
    columns: usize,
    x_labels: usize,
    y_top: f64,
    x_label: &dyn Fn(usize) -> Option<String>,
) -> Result<
    ChartContext<
        'a,
        SVGBackend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
> {
    let font = |size: u32| ("sans-serif", size).into_font().color(&t.text);
    let mut chart = ChartBuilder::on(plot)
        .margin(12)
        .caption(caption, font(16))
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5f64..(columns as f64 - 0.5), 0f64..y_top)
        .map_err(draw_error)?;
    // Only whole column positions carry a label; plotters also asks for points between them.
    let label_at = |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 0.01 || i < 0.0 || i as usize >= columns {
            return String::new();
        }
        x_label(i as usize).unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(x_labels)
        .x_label_formatter(&label_at)
        .y_labels(6)
        .y_label_formatter(&|y| axis_money(*y, y_top))
        .axis_style(t.text)
        .light_line_style(t.background)
        .bold_line_style(t.grid)
        .label_style(font(12))
        .draw()
        .map_err(draw_error)?;
    Ok(chart)
}

/// Width of the legend column right of the plot.
const LEGEND_WIDTH: u32 = 190;

/// The legend, drawn in its own column so it never covers a bar: a swatch and a label per
/// series (estimates translucent), plus a note when any amount is an estimate.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, RGBColor, bool)],
    any_estimate: bool,
    t: &Theme,
) -> Result<()> {
    let font = ("sans-serif", 12).into_font().color(&t.text);
    let mut y = 36;
    for (label, color, translucent) in entries {
        let style = if *translucent { color.mix(0.5).filled() } else { color.filled() };
        area.draw(&Rectangle::new([(8, y), (20, y + 12)], style)).map_err(draw_error)?;
        let text: String =
            if label.chars().count() > 24 { label.chars().take(23).chain(['…']).collect() } else { label.clone() };
        area.draw_text(&text, &font, (26, y)).map_err(draw_error)?;
        y += 20;
    }
    if any_estimate {
        area.draw_text("translucent: estimate", &("sans-serif", 11).into_font().color(&t.text), (8, y + 6))
            .map_err(draw_error)?;
    }
    Ok(())
}

/// What one day of one series holds: micros and whether any of it is an estimate; in a
/// converted chart also the native amounts behind it (currency -> micros, rate day).
#[derive(Default, Clone)]
struct Cell {
    micros: i64,
    estimated: bool,
    native: BTreeMap<String, (i64, Option<NaiveDate>)>,
}

impl Cell {
    fn add_native(&mut self, currency: &str, micros: i64, rate_day: Option<NaiveDate>) {
        let entry = self.native.entry(currency.to_owned()).or_insert((0, rate_day));
        entry.0 = entry.0.saturating_add(micros);
        // Rows of one currency and bucket share their day, so their rate day: keep the oldest.
        entry.1 = match (entry.1, rate_day) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn merge(&mut self, other: Cell) {
        self.micros = self.micros.saturating_add(other.micros);
        self.estimated |= other.estimated;
        for (currency, (micros, rate_day)) in other.native {
            self.add_native(&currency, micros, rate_day);
        }
    }
}

fn native_amounts(native: &BTreeMap<String, (i64, Option<NaiveDate>)>) -> Vec<NativeAmount> {
    native
        .iter()
        .map(|(currency, (micros, rate_day))| NativeAmount {
            amount: format_micros(*micros),
            currency: currency.clone(),
            rate_date: rate_day.map(|d| d.to_string()),
        })
        .collect()
}

/// A chart drawn in one currency converted from all: each row at its own day's rate. Buckets
/// with a row that has no rate are gaps (with what was spent in them), never zeros.
struct Conversion {
    converter: Converter,
    total: ConvertedSum,
    /// Native currencies with spend in the range.
    from: BTreeSet<String>,
    /// Bucket start -> the currencies that lacked a rate there, and everything spent in it.
    gaps: BTreeMap<i64, (BTreeSet<String>, Cell)>,
}

impl Conversion {
    fn load(conn: &Connection, target: &str, range: DayRange) -> Result<Self> {
        let converter = Converter::load(conn, target, range)?;
        Ok(Conversion { converter, total: ConvertedSum::default(), from: BTreeSet::new(), gaps: BTreeMap::new() })
    }

    /// One ledger row: its amount in the target currency (None: no rate) and its cell's native part.
    fn convert(&mut self, bucket: i64, micros: i64, currency: &str) -> Result<Option<(i64, Option<NaiveDate>)>> {
        let day = ts_to_day(bucket);
        self.from.insert(currency.to_owned());
        self.total.add(&mut self.converter, micros, currency, day)?;
        Ok(match self.converter.convert_or_lacking(micros, currency, day)? {
            Ok(c) => Some((c.micros, (currency != self.converter.target()).then(|| c.rate_date()))),
            Err(lacking) => {
                self.gaps.entry(bucket).or_default().0.insert(lacking);
                None
            }
        })
    }

    /// Moves every cell of a gap bucket out of the series (a partial bar would understate the
    /// day) into the gap, and drops series left without a cell.
    fn cut_gaps(&mut self, data: &mut BTreeMap<String, Vec<Series>>) {
        for series in data.values_mut() {
            for s in series.iter_mut() {
                for (bucket, gap) in self.gaps.iter_mut() {
                    if let Some(cell) = s.days.remove(bucket) {
                        s.total = s.total.saturating_sub(cell.micros);
                        s.partial = true;
                        gap.1.merge(Cell { micros: 0, ..cell });
                    }
                }
                s.estimated = s.days.values().any(|c| c.estimated);
            }
            // A series with all its days in gaps keeps its legend entry (total unknown).
            series.retain(|s| !s.days.is_empty() || s.partial);
        }
    }

    /// "missing rate for CNY since 2026-07-03" for the currencies a gap lacked.
    fn gap_text(&self, lacking: &BTreeSet<String>) -> String {
        lacking
            .iter()
            .map(|c| match self.converter.missing().get(c) {
                Some(since) => format!("missing rate for {c} since {since}"),
                None => format!("missing rate for {c}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Adds one ledger row to its series' cell, converted when the chart is.
#[allow(clippy::too_many_arguments)]
fn add_row(
    out: &mut BTreeMap<String, BTreeMap<String, Series>>,
    conversion: Option<&mut Conversion>,
    (id, label): (String, String),
    currency: String,
    bucket: i64,
    amount: i64,
    billed: bool,
) -> Result<()> {
    let overflow = crate::money::sum_overflow;
    let (currency, micros, native) = match conversion {
        None => (currency, amount, None),
        Some(c) => {
            let target = c.converter.target().to_owned();
            match c.convert(bucket, amount, &currency)? {
                Some((micros, rate_day)) => (target, micros, Some((currency, amount, rate_day))),
                // Kept in the cell for now; cut_gaps moves it into the gap.
                None => (target, 0, Some((currency, amount, None))),
            }
        }
    };
    let series = out.entry(currency).or_default().entry(id.clone()).or_insert_with(|| Series {
        id,
        label,
        total: 0,
        estimated: false,
        days: BTreeMap::new(),
        partial: false,
    });
    series.total = series.total.checked_add(micros).ok_or_else(overflow)?;
    series.estimated |= !billed;
    let cell = series.days.entry(bucket).or_default();
    cell.micros = cell.micros.checked_add(micros).ok_or_else(overflow)?;
    cell.estimated |= !billed;
    if let Some((currency, amount, rate_day)) = native {
        cell.add_native(&currency, amount, rate_day);
    }
    Ok(())
}

struct Series {
    id: String,
    label: String,
    total: i64,
    estimated: bool,
    /// By bucket start (Unix seconds): a UTC day, or an hour in the hourly chart.
    days: BTreeMap<i64, Cell>,
    /// Converted: some of its spend fell on a day without a rate, so `total` leaves it out.
    partial: bool,
}

/// Chart series per currency code.
type SeriesByCurrency = BTreeMap<String, Vec<Series>>;

/// Chart data read from the ledger: per currency, per series, per day. Converted: one currency,
/// the conversion's target.
fn read_series(
    conn: &Connection,
    by: Dimension,
    range: DayRange,
    convert_to: Option<&str>,
) -> Result<(SeriesByCurrency, Option<Conversion>)> {
    let by_key = by == Dimension::Key;
    let by_model = by == Dimension::Model;
    // A chart reads several statements; one read transaction keeps a sync writing meanwhile
    // from showing half of its poll.
    let tx = crate::db::read_snapshot(conn)?;
    let rows = counted_rows(&tx, by_key, by_model, range)?;
    let names = Names::load(&tx, true, by_key)?;
    let mut conversion = convert_to.map(|target| Conversion::load(&tx, target, range)).transpose()?;
    tx.commit()?;
    let mut out: BTreeMap<String, BTreeMap<String, Series>> = BTreeMap::new();
    for row in rows {
        if row.amount == 0 {
            continue;
        }
        let source = names.source_name(row.source);
        let (id, label) = match by {
            Dimension::Key if row.key.is_empty() => {
                (format!("{source}/"), format!("{source}: {NOT_ATTRIBUTED_TO_A_KEY}"))
            }
            Dimension::Key => (format!("{source}/{}", row.key), names.key_name(row.source, &row.key)),
            Dimension::Model if row.model.is_empty() => (String::new(), NOT_ATTRIBUTED_TO_A_MODEL.to_owned()),
            Dimension::Model => (row.model.clone(), row.model.clone()),
            Dimension::Source => (source.clone(), source),
        };
        add_row(&mut out, conversion.as_mut(), (id, label), row.currency, row.day, row.amount, row.billed)?;
    }
    let mut data = out.into_iter().map(|(currency, series)| (currency, series.into_values().collect())).collect();
    if let Some(c) = conversion.as_mut() {
        c.cut_gaps(&mut data);
    }
    Ok((data, conversion))
}

/// Hourly chart data for one UTC day, per currency, from the spend rows providers report by the
/// hour; and the names of the sources with spend that day in whole-day rows only.
fn read_hourly(
    conn: &Connection,
    by: Dimension,
    day: NaiveDate,
    convert_to: Option<&str>,
) -> Result<(SeriesByCurrency, Vec<String>, Option<Conversion>)> {
    let range = DayRange::new(day, day)?;
    let tx = crate::db::read_snapshot(conn)?;
    let mut conversion = convert_to.map(|target| Conversion::load(&tx, target, range)).transpose()?;
    let names = Names::load(&tx, true, by == Dimension::Key)?;
    let source_ids: Vec<i64> = tx
        .prepare("SELECT id FROM sources ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let mut out: BTreeMap<String, BTreeMap<String, Series>> = BTreeMap::new();
    let mut daily_only = Vec::new();
    {
        // Named source, width and kind: each lookup is a range of the spend primary key.
        let mut hours = tx.prepare_cached(
            "SELECT bucket_start, key_id, model, currency, amount_micros FROM spend
             WHERE source_id = ?1 AND bucket_width = 'hour' AND kind = ?2 AND bucket_start >= ?3 AND bucket_start < ?4",
        )?;
        let mut days = tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM spend WHERE source_id = ?1 AND bucket_width = 'day' AND kind = ?2
                            AND bucket_start >= ?3 AND bucket_start < ?4 AND amount_micros != 0)",
        )?;
        for &source_id in &source_ids {
            let source = names.source_name(source_id);
            let mut hourly = false;
            let mut whole_days = false;
            // Billed hours win over estimated ones for the same source, as in the reports.
            for kind in ["billed", "estimated"] {
                let rows: Vec<(i64, String, String, String, i64)> = hours
                    .query_map(rusqlite::params![source_id, kind, range.start_ts(), range.end_ts()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect::<std::result::Result<_, _>>()?;
                if !rows.is_empty() {
                    hourly = true;
                    for (start, key, model, currency, amount) in rows.into_iter().filter(|r| r.4 != 0) {
                        let (id, label) = match by {
                            Dimension::Key if key.is_empty() => {
                                (format!("{source}/"), format!("{source}: {NOT_ATTRIBUTED_TO_A_KEY}"))
                            }
                            Dimension::Key => (format!("{source}/{key}"), names.key_name(source_id, &key)),
                            Dimension::Model if model.is_empty() => {
                                (String::new(), NOT_ATTRIBUTED_TO_A_MODEL.to_owned())
                            }
                            Dimension::Model => (model.clone(), model),
                            Dimension::Source => (source.clone(), source.clone()),
                        };
                        add_row(&mut out, conversion.as_mut(), (id, label), currency, start, amount, kind == "billed")?;
                    }
                    break;
                }
                whole_days |= days
                    .query_row(rusqlite::params![source_id, kind, range.start_ts(), range.end_ts()], |r| {
                        r.get::<_, bool>(0)
                    })?;
            }
            if !hourly && whole_days {
                daily_only.push(source);
            }
        }
    }
    tx.commit()?;
    let mut data = out.into_iter().map(|(currency, series)| (currency, series.into_values().collect())).collect();
    if let Some(c) = conversion.as_mut() {
        c.cut_gaps(&mut data);
    }
    Ok((data, daily_only, conversion))
}

/// The top `top` series by total (ties by id), the rest folded into one "other" series.
fn top_and_other(mut series: Vec<Series>, top: usize) -> Vec<Series> {
    series.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.id.cmp(&b.id)));
    if series.len() <= top + 1 {
        return series;
    }
    let rest = series.split_off(top);
    let mut other = Series {
        id: OTHER.to_owned(),
        label: format!("{} others", rest.len()),
        total: 0,
        estimated: false,
        days: BTreeMap::new(),
        partial: false,
    };
    for s in rest {
        other.total = other.total.saturating_add(s.total);
        other.estimated |= s.estimated;
        other.partial |= s.partial;
        for (day, cell) in s.days {
            other.days.entry(day).or_default().merge(cell);
        }
    }
    series.push(other);
    series
}

/// Picks the chart's currency: the asked one, else the one with the most spend (ties: code).
fn pick_currency(
    mut by_currency: BTreeMap<String, Vec<Series>>,
    asked: Option<&str>,
) -> (Option<String>, Vec<Series>, Vec<String>) {
    let currencies: Vec<String> = by_currency.keys().cloned().collect();
    let chosen = match asked.map(|c| c.trim().to_ascii_uppercase()) {
        Some(c) => Some(c),
        None => by_currency
            .iter()
            .map(|(c, s)| (c.clone(), s.iter().map(|s| s.total).fold(0i64, i64::saturating_add)))
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(c, _)| c),
    };
    let series = chosen.as_ref().and_then(|c| by_currency.remove(c)).unwrap_or_default();
    (chosen, series, currencies)
}

fn dimension_word(by: Dimension) -> &'static str {
    match by {
        Dimension::Key => "key",
        Dimension::Model => "model",
        Dimension::Source => "source",
    }
}

/// Renders the chart `query` asks for over `range` (inclusive UTC days). `today` is the user's
/// current UTC day (the cumulative chart's month and forecast).
pub fn render(conn: &Connection, query: &ChartQuery, range: DayRange, today: NaiveDate) -> Result<ChartView> {
    match query.kind {
        ChartKind::Daily => daily(conn, query, range),
        ChartKind::Hourly => hourly(conn, query, range.to),
        ChartKind::Cumulative => cumulative(conn, query, today),
    }
}

fn size(query: &ChartQuery) -> Result<(u32, u32)> {
    let w = query.width.unwrap_or(DEFAULT_WIDTH);
    let h = query.height.unwrap_or(DEFAULT_HEIGHT);
    if !(200..=4000).contains(&w) || !(150..=3000).contains(&h) {
        return Err(Error::invalid_input(format!(
            "a chart of {w}×{h} pixels is outside 200–4000 × 150–3000; pick a size in that range"
        )));
    }
    Ok((w, h))
}

fn empty_view(query: &ChartQuery, range: DayRange, message: String, currencies: Vec<String>) -> Result<ChartView> {
    let (w, h) = size(query)?;
    let t = theme(query.theme);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&t.background).map_err(draw_error)?;
        let style = ("sans-serif", 16).into_font().color(&t.text).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw_text(&message, &style, (w as i32 / 2, h as i32 / 2)).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(ChartView {
        svg,
        width: w,
        height: h,
        currency: None,
        currencies,
        from: range.from.to_string(),
        to: range.to.to_string(),
        days_label: if query.kind == ChartKind::Hourly { "UTC hours" } else { "UTC days" }.into(),
        series: Vec::new(),
        bars: Vec::new(),
        empty: Some(message),
        total: None,
        note: None,
        converted: None,
    })
}

/// The time buckets a stacked bar chart draws: whole UTC days, or the 24 hours of one UTC day.
struct Axis {
    starts: Vec<i64>,
    hourly: bool,
}

impl Axis {
    fn days(range: DayRange) -> Self {
        let starts = range.from.iter_days().take_while(|d| *d <= range.to).map(crate::days::day_start).collect();
        Axis { starts, hourly: false }
    }
    fn hours(day: NaiveDate) -> Self {
        let start = crate::days::day_start(day);
        Axis { starts: (0..24).map(|h| start + h * 3600).collect(), hourly: true }
    }
    fn tick(&self, start: i64) -> String {
        if self.hourly {
            format!("{:02}:00", start.rem_euclid(86_400) / 3600)
        } else {
            ts_to_day(start).format("%b %d").to_string()
        }
    }
    fn hour(&self, start: i64) -> Option<u32> {
        self.hourly.then(|| (start.rem_euclid(86_400) / 3600) as u32)
    }
}

/// The currency words of a caption: "EUR", or "EUR, converted at each day's rate".
fn currency_words(currency: &str, converted: bool) -> String {
    if converted {
        format!("{currency}, converted at each day's rate")
    } else {
        currency.to_owned()
    }
}

fn daily(conn: &Connection, query: &ChartQuery, range: DayRange) -> Result<ChartView> {
    let (data, conversion) = read_series(conn, query.by, range, query.convert_to.as_deref())?;
    let empty = format!("No spend from {} to {} — add a source and sync, or pick another range", range.from, range.to);
    let converted = conversion.is_some();
    let words = |currency: &str| currency_words(currency, converted);
    let caption =
        |currency: &str| format!("Daily spend by {}, {} · UTC days", dimension_word(query.by), words(currency));
    stacked(query, range, Axis::days(range), data, conversion, empty, &caption)
}

fn hourly(conn: &Connection, query: &ChartQuery, day: NaiveDate) -> Result<ChartView> {
    let (data, daily_only, conversion) = read_hourly(conn, query.by, day, query.convert_to.as_deref())?;
    let note = (!daily_only.is_empty())
        .then(|| format!("Not split by hour: {} (reported as whole days; see the daily chart)", daily_only.join(", ")));
    let empty = if daily_only.is_empty() {
        format!("No hourly spend on {day} — sources that report by the hour (OpenAI, Anthropic) show here after a sync")
    } else {
        format!("No hourly spend on {day}; {} reported whole days only", daily_only.join(", "))
    };
    let converted = conversion.is_some();
    let words = |currency: &str| currency_words(currency, converted);
    let caption = |currency: &str| {
        format!("Spend by hour on {day}, by {}, {} · UTC hours", dimension_word(query.by), words(currency))
    };
    let mut view = stacked(query, DayRange::new(day, day)?, Axis::hours(day), data, conversion, empty, &caption)?;
    view.note = [note, view.note.take()].into_iter().flatten().reduce(|a, b| format!("{a}. {b}"));
    Ok(view)
}

fn stacked(
    query: &ChartQuery,
    range: DayRange,
    axis: Axis,
    data: BTreeMap<String, Vec<Series>>,
    owned: Option<Conversion>,
    empty: String,
    caption: &dyn Fn(&str) -> String,
) -> Result<ChartView> {
    let conversion = owned.as_ref();
    let top = query.top.unwrap_or(DEFAULT_TOP).clamp(1, MAX_TOP) as usize;
    let asked = match conversion {
        Some(c) => Some(c.converter.target()),
        None => query.currency.as_deref(),
    };
    let (currency, series, currencies) = pick_currency(data, asked);
    // Converted, the chart offers the currencies spent (each can be drawn natively instead).
    let currencies = match conversion {
        Some(c) => c.from.iter().cloned().collect(),
        None => currencies,
    };
    let gaps = conversion.map(|c| &c.gaps);
    let has_gaps = gaps.is_some_and(|g| !g.is_empty());
    let Some(currency) = currency.filter(|_| !series.is_empty() || has_gaps) else {
        let message = if currencies.is_empty() {
            empty
        } else {
            format!(
                "No spend in {} in this range; this range has {}",
                query.currency.as_deref().unwrap_or("-"),
                currencies.join(", ")
            )
        };
        return empty_view(query, range, message, currencies);
    };
    let series = top_and_other(series, top);
    let (w, h) = size(query)?;
    let t = theme(query.theme);
    let ids: Vec<String> = series.iter().map(|s| s.id.clone()).collect();
    let palette = colors(&ids);
    let days = &axis.starts;
    let index: HashMap<i64, usize> = days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    // The positive amounts of each column stacked: a bar's full height. A negative amount (a
    // bill below its own estimates) hangs down from the top as a faded band, so the solid part
    // of the bar is the day's total.
    let mut stacks = vec![0i64; days.len()];
    for s in &series {
        for (day, cell) in &s.days {
            if let Some(&i) = index.get(day) {
                stacks[i] = stacks[i].saturating_add(cell.micros.max(0));
            }
        }
    }
    let max_units = stacks.iter().copied().max().unwrap_or(0) as f64 / 1e6;
    let y_top = if max_units > 0.0 { max_units * 1.08 } else { 1.0 };

    let mut svg = String::new();
    let mut bars = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&t.background).map_err(draw_error)?;
        let (plot, legend) = root.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        let label_every = (days.len() / 10).max(1);
        let x_label = |i: usize| (i % label_every == 0).then(|| axis.tick(days[i]));
        let mut chart = money_frame(&plot, &t, caption(&currency), days.len(), days.len().min(60), y_top, &x_label)?;
        // Buckets that could not be converted: a hatched column over the whole height with a
        // "?", never a short or empty bar that would read as little or nothing spent.
        if let (Some(conversion), Some(gaps)) = (conversion, gaps) {
            for (bucket, (lacking, cell)) in gaps {
                let Some(&i) = index.get(bucket) else { continue };
                let (x0, x1) = (i as f64 - 0.38, i as f64 + 0.38);
                let (ya, yb) = (0.0, y_top * 0.97);
                chart
                    .draw_series([
                        Rectangle::new([(x0, ya), (x1, yb)], t.grid.mix(0.55).filled()),
                        Rectangle::new([(x0, ya), (x1, yb)], t.text.mix(0.5).stroke_width(1)),
                    ])
                    .map_err(draw_error)?;
                let steps = 6;
                let hatch = (0..steps).map(|k| {
                    let y = yb * f64::from(k) / f64::from(steps);
                    PathElement::new(vec![(x0, y), (x1, (y + yb / f64::from(steps)).min(yb))], t.text.mix(0.35))
                });
                chart.draw_series(hatch).map_err(draw_error)?;
                let style = ("sans-serif", 14).into_font().color(&t.text).pos(Pos::new(HPos::Center, VPos::Center));
                let (px, py) = chart.backend_coord(&(i as f64, yb / 2.0));
                plot.draw_text("?", &style, (px, py)).map_err(draw_error)?;
                let (px0, py1) = chart.backend_coord(&(x0, yb));
                let (px1, py0) = chart.backend_coord(&(x1, ya));
                bars.push(ChartBar {
                    x: px0,
                    y: py1,
                    width: px1 - px0,
                    height: (py0 - py1).max(1),
                    day: ts_to_day(*bucket).to_string(),
                    hour: axis.hour(*bucket),
                    series: MISSING_RATE.to_owned(),
                    label: "Not converted".to_owned(),
                    amount: String::new(),
                    amount_micros: 0,
                    estimated: cell.estimated,
                    native: native_amounts(&cell.native),
                    missing: Some(conversion.gap_text(lacking)),
                });
            }
        }

        let mut base = vec![0i64; days.len()];
        let mut top = stacks.clone();
        // Bottom-up in rank order: the biggest series sits on the axis, "other" on top; then the
        // negative bands from the top down.
        for negative in [false, true] {
            for s in &series {
                let color = palette[&s.id];
                let mut rects = Vec::new();
                for (day, cell) in &s.days {
                    let Some(&i) = index.get(day) else { continue };
                    if (cell.micros < 0) != negative {
                        continue;
                    }
                    let (y0, y1) = if negative {
                        top[i] = top[i].saturating_add(cell.micros);
                        (top[i], top[i].saturating_sub(cell.micros))
                    } else {
                        base[i] = base[i].saturating_add(cell.micros);
                        (base[i].saturating_sub(cell.micros), base[i])
                    };
                    let (x0, x1) = (i as f64 - 0.38, i as f64 + 0.38);
                    let (ya, yb) = (y0 as f64 / 1e6, y1 as f64 / 1e6);
                    if negative {
                        rects.push(Rectangle::new([(x0, ya), (x1, yb)], t.background.mix(0.75).filled()));
                        rects.push(Rectangle::new([(x0, ya), (x1, yb)], color.stroke_width(1)));
                    } else {
                        let style = if cell.estimated { color.mix(0.5).filled() } else { color.filled() };
                        rects.push(Rectangle::new([(x0, ya), (x1, yb)], style));
                    }
                    let (px0, py1) = chart.backend_coord(&(x0, y1 as f64 / 1e6));
                    let (px1, py0) = chart.backend_coord(&(x1, y0 as f64 / 1e6));
                    bars.push(ChartBar {
                        x: px0,
                        y: py1,
                        width: px1 - px0,
                        height: (py0 - py1).max(1),
                        day: ts_to_day(*day).to_string(),
                        hour: axis.hour(*day),
                        series: s.id.clone(),
                        label: s.label.clone(),
                        amount: format_micros(cell.micros),
                        amount_micros: cell.micros,
                        estimated: cell.estimated,
                        native: native_amounts(&cell.native),
                        missing: None,
                    });
                }
                chart.draw_series(rects).map_err(draw_error)?;
            }
        }
        let entries: Vec<(String, RGBColor, bool)> =
            series.iter().map(|s| (s.label.clone(), palette[&s.id], false)).collect();
        draw_legend(&legend, &entries, series.iter().any(|s| s.estimated), &t)?;
        root.present().map_err(draw_error)?;
    }
    let total = series.iter().map(|s| s.total).fold(0i64, i64::saturating_add);
    let note = has_gaps.then(|| {
        let missing = conversion.and_then(|c| c.converter.missing_text()).unwrap_or_default();
        format!("{missing}: those days are marked with ?, not drawn as zero; import the rates to fill them")
    });
    Ok(ChartView {
        svg,
        width: w,
        height: h,
        converted: owned.map(|c| c.total.finish(&currency)),
        currency: Some(currency),
        currencies,
        from: range.from.to_string(),
        to: range.to.to_string(),
        days_label: if axis.hourly { "UTC hours" } else { "UTC days" }.into(),
        series: series
            .iter()
            .map(|s| ChartSeries {
                id: s.id.clone(),
                label: s.label.clone(),
                color: hex(palette[&s.id]),
                total: format_micros(s.total),
                estimated: s.estimated,
                partial: s.partial,
            })
            .collect(),
        bars,
        empty: None,
        // Unknown when a day could not be converted: never the smaller sum of the rest.
        total: (!has_gaps).then(|| format_micros(total)),
        note,
    })
}

/// Month-to-date cumulative spend (all sources, one currency) against the monthly total
/// budget, with the month-end forecast.
fn cumulative(conn: &Connection, query: &ChartQuery, today: NaiveDate) -> Result<ChartView> {
    // Converted: every currency's days in the target at each day's rate. The line stops before
    // the first day without a rate: the running total from there on is unknown, not flat.
    let converted =
        query.convert_to.as_deref().map(|target| crate::headline::converted_month(conn, today, target)).transpose()?;
    let (mut outlooks, currencies, first_gap, converted) = match converted {
        Some(m) => {
            let first_gap = m.missing_days.iter().find(|d| **d >= m.outlook.month_start).copied();
            let has_spend = !m.from.is_empty();
            let outlooks = if has_spend { vec![m.outlook] } else { Vec::new() };
            let note = first_gap.and_then(|_| m.month_to_date.missing.clone()).map(|missing| {
                format!("{missing}: the line stops before that day, as the total from there on is unknown")
            });
            (outlooks, m.from, first_gap, Some((m.month_to_date, note)))
        }
        None => {
            let outlooks = crate::headline::month_outlooks(conn, today)?;
            let currencies = outlooks.iter().map(|o| o.currency.clone()).collect();
            (outlooks, currencies, None, None)
        }
    };
    // The asked currency, else the one with the most spend (ties: code), as in the other charts.
    let asked = if converted.is_some() { None } else { query.currency.as_deref() };
    let chosen = match asked.map(|c| c.trim().to_ascii_uppercase()) {
        Some(c) => outlooks.iter().position(|o| o.currency == c),
        None => outlooks
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| {
                let total =
                    |o: &crate::headline::MonthOutlook| o.daily.values().fold(0i64, |s, m| s.saturating_add(*m));
                total(a).cmp(&total(b)).then_with(|| b.currency.cmp(&a.currency))
            })
            .map(|(i, _)| i),
    };
    let Some(outlook) = chosen.map(|i| outlooks.swap_remove(i)) else {
        let month_start = today.with_day(1).expect("day 1 exists");
        let month = DayRange::new(month_start, BudgetPeriod::Month.containing(today).end)?;
        let message = "No spend this month yet — add a source and sync".to_owned();
        return empty_view(query, month, message, currencies);
    };
    let crate::headline::MonthOutlook { currency, daily, estimated, budget, projection, month_start, month_end } =
        outlook;
    let budget_micros = budget.as_ref().map(|b| b.amount_micros);

    let (w, h) = size(query)?;
    let t = theme(query.theme);
    let days: Vec<NaiveDate> = month_start.iter_days().take_while(|d| *d <= month_end).collect();
    let mut points = Vec::new();
    let mut running = 0i64;
    for (i, day) in days.iter().enumerate().take_while(|(_, d)| **d <= today && first_gap.is_none_or(|g| **d < g)) {
        running = running.saturating_add(daily.get(day).copied().unwrap_or(0));
        points.push((i, *day, running));
    }
    let forecast_end = projection.as_ref().map(|f| f.projected_micros);
    let max = [Some(running), forecast_end, budget_micros].into_iter().flatten().max().unwrap_or(0);
    let y_top = if max > 0 { max as f64 / 1e6 * 1.1 } else { 1.0 };
    let n = days.len() as f64;
    let color = PALETTE[0];
    let mut svg = String::new();
    let mut bars = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&t.background).map_err(draw_error)?;
        let (plot, legend) = root.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        let words = currency_words(&currency, converted.is_some());
        let caption = format!("Month to date, {words} · {}", month_start.format("%B %Y"));
        let x_label = |i: usize| (i % 5 == 0).then(|| days[i].format("%d").to_string());
        let mut chart = money_frame(&plot, &t, caption, days.len(), days.len(), y_top, &x_label)?;
        let mut entries =
            vec![(if estimated { "spent (incl. estimates)".to_owned() } else { "spent".to_owned() }, color, false)];
        let line: Vec<(f64, f64)> = points.iter().map(|(i, _, m)| (*i as f64, *m as f64 / 1e6)).collect();
        chart.draw_series(LineSeries::new(line.clone(), color.stroke_width(3))).map_err(draw_error)?;
        chart.draw_series(line.iter().map(|p| Circle::new(*p, 3, color.filled()))).map_err(draw_error)?;
        for (i, day, m) in &points {
            let (px, py) = chart.backend_coord(&(*i as f64, *m as f64 / 1e6));
            bars.push(ChartBar {
                x: px - 4,
                y: py - 4,
                width: 8,
                height: 8,
                day: day.to_string(),
                hour: None,
                series: "spent".into(),
                label: "Spent so far".into(),
                amount: format_micros(*m),
                amount_micros: *m,
                estimated,
                native: Vec::new(),
                missing: None,
            });
        }
        if let (Some(f), Some(last)) = (&projection, points.last()) {
            let end = (n - 1.0, f.projected_micros as f64 / 1e6);
            let start = (last.0 as f64, last.2 as f64 / 1e6);
            let orange = PALETTE[1];
            chart
                .draw_series(DashedLineSeries::new(vec![start, end], 6, 4, orange.stroke_width(2)))
                .map_err(draw_error)?;
            entries.push((format!("forecast {} {currency}", axis_money(end.1, y_top)), orange, false));
        }
        if let Some(gap) = first_gap {
            // Where the known total ends: a dashed mark over the first day without a rate.
            let x = days.iter().position(|d| *d == gap).unwrap_or(0) as f64;
            let grey = OTHER_COLOR;
            chart
                .draw_series(DashedLineSeries::new(vec![(x, 0.0), (x, y_top * 0.97)], 4, 4, grey.stroke_width(2)))
                .map_err(draw_error)?;
            let style = ("sans-serif", 14).into_font().color(&t.text).pos(Pos::new(HPos::Center, VPos::Center));
            let (px, py) = chart.backend_coord(&(x, y_top / 2.0));
            plot.draw_text("?", &style, (px + 10, py)).map_err(draw_error)?;
            entries.push((format!("no rate from {}", gap.format("%b %d")), grey, false));
        }
        if let Some(b) = budget_micros {
            let red = PALETTE[2];
            let y = b as f64 / 1e6;
            chart
                .draw_series(LineSeries::new(vec![(-0.5, y), (n - 0.5, y)], red.stroke_width(2)))
                .map_err(draw_error)?;
            entries.push((format!("budget {} {currency}", axis_money(y, y_top)), red, false));
        }
        draw_legend(&legend, &entries, false, &t)?;
        root.present().map_err(draw_error)?;
    }
    let label = match (first_gap, points.last()) {
        (Some(_), Some((_, last, _))) => format!("Spent until {last}"),
        _ => "Spent so far".to_owned(),
    };
    let series = vec![ChartSeries {
        id: "spent".into(),
        label,
        color: hex(color),
        total: format_micros(running),
        estimated,
        partial: first_gap.is_some(),
    }];
    let (converted, note) = match converted {
        Some((amount, note)) => (Some(amount), note),
        None => (None, None),
    };
    Ok(ChartView {
        svg,
        width: w,
        height: h,
        currency: Some(currency),
        currencies,
        from: month_start.to_string(),
        to: month_end.to_string(),
        days_label: "UTC days".into(),
        series,
        bars,
        empty: None,
        total: first_gap.is_none().then(|| format_micros(running)),
        note,
        converted,
    })
}

/// Rasterises a chart's SVG to PNG at `scale` × its size (2 for a sharp image on HiDPI
/// screens). Text is drawn with the system's sans-serif font.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // The SVG asks for "sans-serif", which fontdb maps to Arial unless told otherwise: point it
    // at a sans-serif family this system has, or text would silently not be drawn.
    let installed: BTreeSet<String> =
        fonts.faces().flat_map(|f| f.families.iter().map(|(name, _)| name.clone())).collect();
    let sans = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "FreeSans", "Cantarell"]
        .into_iter()
        .find(|f| installed.contains(*f))
        .map(str::to_owned)
        .or_else(|| installed.iter().next().cloned())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::Unsupported,
                "no fonts are installed, so a PNG would have no text; export SVG instead",
            )
        })?;
    fonts.set_sans_serif_family(sans);
    let tree =
        usvg::Tree::from_str(svg, &options).map_err(|e| Error::internal(format!("chart SVG unreadable: {e}")))?;
    let size = tree.size().to_int_size().scale_by(scale).ok_or_else(|| Error::invalid_input("bad PNG scale"))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::invalid_input(format!("a {}×{} PNG is too large", size.width(), size.height())))?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| Error::internal(format!("could not encode the PNG: {e}")))
}

/// The ids of the distinct series a chart shows (for tests and callers comparing charts).
pub fn series_ids(view: &ChartView) -> BTreeSet<String> {
    view.series.iter().map(|s| s.id.clone()).collect()
}
