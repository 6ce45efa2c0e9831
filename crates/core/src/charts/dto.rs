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
}

/// The file format of an exported chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ChartFormat {
    Svg,
    Png,
}
