//! What a chart request asks for and what it answers: the picture and the geometry of its bars.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::dto::Dimension;

/// Which chart: spend per day stacked by a dimension, or the month's running total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ChartKind {
    #[default]
    Daily,
    Cumulative,
    /// The 24 UTC hours of the `to` day (today by default).
    Hourly,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ChartTheme {
    #[default]
    Light,
    Dark,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChartQuery {
    #[serde(default)]
    pub kind: ChartKind,
    /// The stacking dimension of a daily chart: key, model or source.
    pub by: Dimension,
    /// Inclusive UTC day `YYYY-MM-DD`; None: 30 days before `to`.
    #[serde(default)]
    #[ts(optional)]
    pub from: Option<String>,
    /// Inclusive UTC day; None: today.
    #[serde(default)]
    #[ts(optional)]
    pub to: Option<String>,
    /// ISO-4217 code; None: the currency with the most spend in the range.
    #[serde(default)]
    #[ts(optional)]
    pub currency: Option<String>,
    /// Series shown by name before the rest is "other" (1–20, default 8).
    #[serde(default)]
    #[ts(optional)]
    pub top: Option<u32>,
    #[serde(default)]
    pub theme: ChartTheme,
    /// Pixels; default 900 × 360.
    #[serde(default)]
    #[ts(optional)]
    pub width: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub height: Option<u32>,
    /// Draw every currency in this one (the `display_currency` setting), each day's rows
    /// converted at that day's rate; `currency` is then ignored. None: one native currency.
    #[serde(default)]
    #[ts(optional)]
    pub convert_to: Option<String>,
}

/// A rendered chart and what the UI needs to explain it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChartView {
    pub svg: String,
    pub width: u32,
    pub height: u32,
    /// The one currency drawn; None when there is nothing to draw.
    pub currency: Option<String>,
    /// Every currency with spend in the range (each can be charted on its own).
    pub currencies: Vec<String>,
    pub from: String,
    pub to: String,
    /// What a day on the axis is, e.g. "UTC days".
    pub days_label: String,
    /// Legend, bottom of the stack first; "other" last when present.
    pub series: Vec<ChartSeries>,
    /// Every drawn bar segment (or point), in SVG pixels, for tooltips and clicks.
    pub bars: Vec<ChartBar>,
    /// Why nothing is drawn and what to do, when nothing is.
    pub empty: Option<String>,
    /// Decimal total of the drawn range.
    pub total: Option<String>,
    /// What the chart leaves out and why, e.g. sources that report whole days in the hourly chart.
    pub note: Option<String>,
    /// Set when the chart is drawn converted (`ChartQuery::convert_to`): the drawn range's
    /// total in `currency` with the span of rate days used, or unknown with "missing rate for
    /// CNY since 2026-07-03" when a day could not be converted (that day is a gap, not a zero).
    #[serde(default)]
    pub converted: Option<crate::fx::ConvertedAmount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChartSeries {
    /// `SOURCE/KEY_ID` (key), the model name, the source name, or "other".
    pub id: String,
    pub label: String,
    /// `#rrggbb`, stable per id.
    pub color: String,
    pub total: String,
    /// Some of this series' amount is a token-based estimate.
    pub estimated: bool,
    /// Converted: some of its days had no rate, so `total` covers the other days only and
    /// the series' whole total is unknown.
    #[serde(default)]
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChartBar {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The UTC hour (0–23) of a bar in the hourly chart; None for whole days.
    pub hour: Option<u32>,
    pub series: String,
    pub label: String,
    /// Decimal, six places.
    pub amount: String,
    #[ts(type = "number")]
    pub amount_micros: i64,
    pub estimated: bool,
    /// In a converted chart: what this bar is in the currencies spent, with the rate day used
    /// for each; empty otherwise.
    #[serde(default)]
    pub native: Vec<NativeAmount>,
    /// A day (or hour) that could not be converted, drawn as a marked gap rather than a zero:
    /// "missing rate for CNY since 2026-07-03". Then `amount` is empty.
    #[serde(default)]
    pub missing: Option<String>,
}

/// An amount as it was spent, behind a converted bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NativeAmount {
    /// Decimal, six places.
    pub amount: String,
    pub currency: String,
    /// The day of the rate it was converted at (`YYYY-MM-DD`); None when it needed no rate
    /// (already in the chart's currency) or had none.
    pub rate_date: Option<String>,
}

/// The file format of an exported chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ChartFormat {
    Svg,
    Png,
}
