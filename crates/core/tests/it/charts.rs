//! Charts from a real ledger file seeded through the CSV import: snapshots of the SVG for fixed
//! data, the geometry the UI uses for tooltips and clicks, and the awkward inputs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use burnrate_core::budgets::AddBudgetRequest;
use burnrate_core::charts::{ChartKind, ChartQuery, ChartTheme, ChartView};
use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput};
use burnrate_core::import::CsvFormat;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::ProviderId;
use burnrate_core::Burnrate;
use chrono::{TimeZone, Utc};

use crate::common::TestCore;

const HEADER: &str = "day,amount,currency,key_id,key_name,model,kind\n";

fn core(dir: &std::path::Path) -> Burnrate {
    let core = TestCore::builder(dir)
        .now("2026-03-10T18:00:00Z")
        .env(&[("CHART_FAKE_KEY", "sk-FAKE-chart-0000")])
        .retry(RetryPolicy::default())
        .build();
    for name in ["work", "lab"] {
        core.add_source(&AddSourceRequest {
            provider: ProviderId::Openai,
            name: name.into(),
            base_url: None,
            key: KeyInput::Env { var: "CHART_FAKE_KEY".into() },
            settings: None,
        })
        .unwrap();
    }
    core
}

fn import(core: &Burnrate, source: &str, lines: &str) {
    core.import_csv(source, CsvFormat::Generic, format!("{HEADER}{lines}").as_bytes()).unwrap();
}

fn query(by: Dimension, from: &str, to: &str) -> ChartQuery {
    ChartQuery {
        kind: ChartKind::Daily,
        by,
        from: Some(from.into()),
        to: Some(to.into()),
        currency: None,
        top: None,
        theme: ChartTheme::Light,
        width: None,
        height: None,
        convert_to: None,
    }
}

fn micros(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 1_000_000 + frac.parse::<i64>().unwrap()
}

/// Three keys over five days in work; in lab a billed key and an estimated one. (On a day a
/// source has billed spend, its estimates are not counted: billed wins, as in every report.)
const FIVE_DAYS: &str = "\
2026-03-01,10.50,USD,key_FAKE_a,Alpha,gpt-5,billed
2026-03-01,2.25,USD,key_FAKE_b,Beta,gpt-5,billed
2026-03-02,12,USD,key_FAKE_a,Alpha,gpt-5,billed
2026-03-02,1.000001,USD,key_FAKE_c,Gamma,gpt-5-mini,billed
2026-03-03,3,USD,key_FAKE_b,Beta,gpt-5,billed
2026-03-04,7.75,USD,key_FAKE_a,Alpha,gpt-5,billed
2026-03-05,0.5,USD,key_FAKE_c,Gamma,gpt-5-mini,billed
";

fn seeded() -> (tempfile::TempDir, Burnrate) {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    import(&core, "work", FIVE_DAYS);
    import(&core, "lab", "2026-03-03,6,USD,key_FAKE_lab,Notebook,gpt-5,billed\n");
    import(&core, "lab", "2026-03-05,4,USD,key_FAKE_scratch,Scratch,gpt-5,estimated\n");
    (dir, core)
}

#[test]
fn daily_chart_svg_snapshots_light_and_dark() {
    let (_dir, core) = seeded();
    let light = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-05")).unwrap();
    insta::assert_snapshot!("daily_by_key_light", light.svg);
    let dark = core
        .chart(&ChartQuery { theme: ChartTheme::Dark, ..query(Dimension::Key, "2026-03-01", "2026-03-05") })
        .unwrap();
    insta::assert_snapshot!("daily_by_key_dark", dark.svg);
    assert_ne!(light.svg, dark.svg);
    assert_eq!(light.bars, dark.bars, "the theme changes colours, not geometry");
}

#[test]
fn bars_carry_the_amounts_and_sum_to_the_ledger() {
    let (_dir, core) = seeded();
    let view = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-05")).unwrap();
    assert_eq!(view.currency.as_deref(), Some("USD"));
    assert_eq!(view.days_label, "UTC days");
    // Per series: the bars add up to the legend's total; all series add up to the chart's.
    let mut per_series: BTreeMap<&str, i64> = BTreeMap::new();
    for b in &view.bars {
        *per_series.entry(&b.series).or_default() += b.amount_micros;
        assert_eq!(micros(&b.amount), b.amount_micros);
    }
    for s in &view.series {
        assert_eq!(per_series[s.id.as_str()], micros(&s.total), "{}", s.id);
    }
    let total: i64 = per_series.values().sum();
    assert_eq!(total, micros(view.total.as_deref().unwrap()));
    assert_eq!(
        total,
        10_500_000 + 2_250_000 + 12_000_000 + 1_000_001 + 3_000_000 + 7_750_000 + 500_000 + 6_000_000 + 4_000_000
    );
    // Keys are per source; the biggest key is at the bottom of each stack.
    let ids: Vec<&str> = view.series.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["work/key_FAKE_a", "lab/key_FAKE_lab", "work/key_FAKE_b", "lab/key_FAKE_scratch", "work/key_FAKE_c"]
    );
    assert_eq!(view.series[0].label, "Alpha");
    // The estimate is flagged on its bar and in the legend; billed bars are not.
    let flags: Vec<(&str, &str, bool)> = view
        .bars
        .iter()
        .filter(|b| b.series.starts_with("lab/"))
        .map(|b| (b.series.as_str(), b.day.as_str(), b.estimated))
        .collect();
    assert_eq!(flags, [("lab/key_FAKE_lab", "2026-03-03", false), ("lab/key_FAKE_scratch", "2026-03-05", true)]);
    assert!(view.series[3].estimated && !view.series[0].estimated);
    // Heights are proportional to amounts (pixels, ±1 for rounding): 12 USD against 6 USD.
    let h = |series: &str, day: &str| view.bars.iter().find(|b| b.series == series && b.day == day).unwrap().height;
    let (twelve, six) = (h("work/key_FAKE_a", "2026-03-02"), h("lab/key_FAKE_lab", "2026-03-03"));
    assert!((twelve - 2 * six).abs() <= 2, "{twelve} vs {six}");
    // Segments of one day stack: Alpha sits on the axis, Beta right on top of it.
    let a = view.bars.iter().find(|b| b.series == "work/key_FAKE_a" && b.day == "2026-03-01").unwrap();
    let b = view.bars.iter().find(|b| b.series == "work/key_FAKE_b" && b.day == "2026-03-01").unwrap();
    assert!((b.y + b.height - a.y).abs() <= 1 && a.x == b.x, "{a:?} {b:?}");
    // Later days are further right.
    assert!(h("work/key_FAKE_a", "2026-03-04") > 0);
    let x = |day: &str| view.bars.iter().find(|b| b.series == "work/key_FAKE_a" && b.day == day).unwrap().x;
    assert!(x("2026-03-01") < x("2026-03-02") && x("2026-03-02") < x("2026-03-04"));
}

#[test]
fn colours_stay_with_their_key_across_ranges_and_charts() {
    let (_dir, core) = seeded();
    let all = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-05")).unwrap();
    // Only Alpha and Gamma have spend on 03-02: other keys, other ranks, same colours.
    let one_day = core.chart(&query(Dimension::Key, "2026-03-02", "2026-03-02")).unwrap();
    let colour = |v: &ChartView, id: &str| v.series.iter().find(|s| s.id == id).unwrap().color.clone();
    assert_eq!(one_day.series.len(), 2);
    for id in ["work/key_FAKE_a", "work/key_FAKE_c"] {
        assert_eq!(colour(&all, id), colour(&one_day, id), "{id}");
    }
    let distinct: std::collections::BTreeSet<&str> = all.series.iter().map(|s| s.color.as_str()).collect();
    assert_eq!(distinct.len(), all.series.len(), "no two series of a chart share a colour");
}

#[test]
fn by_model_and_by_source() {
    let (_dir, core) = seeded();
    let models = core.chart(&query(Dimension::Model, "2026-03-01", "2026-03-05")).unwrap();
    let ids: Vec<&str> = models.series.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["gpt-5", "gpt-5-mini"]);
    let sources = core.chart(&query(Dimension::Source, "2026-03-01", "2026-03-05")).unwrap();
    let totals: Vec<(&str, &str)> = sources.series.iter().map(|s| (s.id.as_str(), s.total.as_str())).collect();
    assert_eq!(totals, [("work", "37.000001"), ("lab", "10.000000")]);
}

#[test]
fn currencies_are_never_added_together() {
    let (_dir, core) = seeded();
    import(&core, "lab", "2026-03-02,500,CNY,key_FAKE_cn,CN key,deepseek-chat,billed\n");
    // 500 CNY is the larger figure, but a chart is one currency: it shows CNY alone.
    let view = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-05")).unwrap();
    assert_eq!(view.currency.as_deref(), Some("CNY"));
    assert_eq!(view.currencies, ["CNY", "USD"]);
    assert_eq!(view.total.as_deref(), Some("500.000000"));
    let usd = core
        .chart(&ChartQuery { currency: Some("usd".into()), ..query(Dimension::Key, "2026-03-01", "2026-03-05") })
        .unwrap();
    assert_eq!(usd.currency.as_deref(), Some("USD"));
    assert!(usd.bars.iter().all(|b| b.series != "lab/key_FAKE_cn"));
    assert!(usd.svg.contains("USD") && !usd.svg.contains("CNY"));
}

#[test]
fn nothing_to_draw_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let view = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-05")).unwrap();
    let message = view.empty.as_deref().unwrap();
    assert!(message.contains("add a source and sync"), "{message}");
    assert!(view.svg.contains("add a source and sync") && view.bars.is_empty() && view.currency.is_none());
    // A range without data beside data elsewhere.
    import(&core, "work", FIVE_DAYS);
    let view = core.chart(&query(Dimension::Key, "2026-02-01", "2026-02-10")).unwrap();
    assert!(view.empty.is_some() && view.bars.is_empty());
    // A currency the range does not have names the ones it has.
    let view = core
        .chart(&ChartQuery { currency: Some("EUR".into()), ..query(Dimension::Key, "2026-03-01", "2026-03-05") })
        .unwrap();
    assert_eq!(view.empty.as_deref(), Some("No spend in EUR in this range; this range has USD"));
    // A bad size is a clear error.
    let e =
        core.chart(&ChartQuery { width: Some(10), ..query(Dimension::Key, "2026-03-01", "2026-03-05") }).unwrap_err();
    assert!(e.message().contains("outside 200–4000"), "{}", e.message());
}

#[test]
fn one_huge_day_and_thousands_of_keys_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    let mut lines = String::new();
    for k in 0..3000 {
        writeln!(lines, "2026-03-0{},{}.25,USD,key_FAKE_{k:04},,gpt-5,billed", 1 + k % 5, 1 + k % 17).unwrap();
    }
    lines.push_str("2026-03-03,1250000,USD,key_FAKE_whale,Whale,gpt-5,billed\n");
    // Past the default daily bound: a source this large raises it.
    core.set_setting("max_daily_amount", "2000000").unwrap();
    import(&core, "work", &lines);
    let view = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-05")).unwrap();
    assert_eq!(view.series.len(), 9, "top 8 + other");
    assert_eq!(view.series[0].id, "work/key_FAKE_whale");
    let other = view.series.last().unwrap();
    assert_eq!((other.id.as_str(), other.label.as_str()), ("other", "2993 others"));
    assert_eq!(other.color, "#8c8c8c");
    // The axis is labelled in whole units with thousands separators, not 1.25e6.
    assert!(view.svg.contains("1,000,000") || view.svg.contains("1,200,000"), "axis labels");
    assert!(!view.svg.contains("e6"));
    let sum: i64 = view.bars.iter().map(|b| b.amount_micros).sum();
    assert_eq!(sum, micros(view.total.as_deref().unwrap()));
}

#[test]
fn cumulative_month_to_date_against_the_budget_with_a_forecast() {
    let (_dir, core) = seeded();
    core.add_budget(&AddBudgetRequest {
        scope: "total".into(),
        period: "month".into(),
        amount: "100".into(),
        currency: None,
        thresholds: None,
    })
    .unwrap();
    let view = core
        .chart(&ChartQuery { kind: ChartKind::Cumulative, ..query(Dimension::Source, "2026-03-01", "2026-03-10") })
        .unwrap();
    assert_eq!((view.from.as_str(), view.to.as_str()), ("2026-03-01", "2026-03-31"));
    // One point per day up to today (03-10), the last one the month's total so far.
    assert_eq!(view.bars.len(), 10);
    assert_eq!(view.bars.last().unwrap().amount, "47.000001");
    assert!(view.bars.windows(2).all(|w| w[0].amount_micros <= w[1].amount_micros && w[0].x < w[1].x));
    assert!(view.svg.contains("budget 100 USD"), "the budget line is labelled");
    assert!(view.svg.contains("forecast"), "the forecast is drawn");
    assert!(
        view.svg.contains("stroke-dasharray") || view.svg.matches("<line").count() > 0 || view.svg.contains("polyline")
    );
}

#[test]
fn png_export_draws_the_text_too() {
    let (_dir, core) = seeded();
    let view = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-05")).unwrap();
    let png = burnrate_core::charts::svg_to_png(&view.svg, 1.0).unwrap();
    let image = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
    assert_eq!((image.width(), image.height()), (900, 360));
    // The legend's labels (right column, beside the swatches) are dark text on white: without a
    // usable font that area would be blank.
    let mut dark = 0;
    for y in 36..140 {
        for x in 736..880 {
            let p = image.pixel(x, y).unwrap();
            if p.red() < 100 && p.green() < 100 && p.blue() < 100 {
                dark += 1;
            }
        }
    }
    assert!(dark > 200, "legend text pixels: {dark}");
}

#[test]
fn saved_charts_land_under_exports_as_svg_or_png() {
    let (dir, core) = seeded();
    let q = query(Dimension::Model, "2026-03-01", "2026-03-05");
    let svg = core.save_chart(&q, burnrate_core::charts::ChartFormat::Svg).unwrap();
    let png = core.save_chart(&q, burnrate_core::charts::ChartFormat::Png).unwrap();
    assert!(svg.starts_with(dir.path().join("exports")));
    assert_eq!(
        svg.file_name().unwrap().to_str().unwrap(),
        "chart-daily-by-model-2026-03-01-2026-03-05-20260310T180000Z.svg"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("gpt-5-mini"));
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
}

#[test]
fn the_ledger_of_a_range_exports_as_csv_and_json_to_the_micro_unit() {
    let (dir, core) = seeded();
    let (from, to) = (Some("2026-03-01".to_owned()), Some("2026-03-05".to_owned()));
    let csv = core.export_ledger(from.clone(), to.clone(), burnrate_core::dto::LedgerFormat::Csv).unwrap();
    let json = core.export_ledger(from, to, burnrate_core::dto::LedgerFormat::Json).unwrap();
    assert!(csv.starts_with(dir.path().join("exports")) && json.extension().unwrap() == "json");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("day,source,provider,key_id,key_name,model,model_name,currency,amount,kind"));
    let body: Vec<&str> = lines.collect();
    assert!(
        body.contains(&"2026-03-02,work,openai,key_FAKE_c,Gamma,gpt-5-mini,gpt-5-mini,USD,1.000001,billed"),
        "{text}"
    );
    assert!(
        body.contains(&"2026-03-05,lab,openai,key_FAKE_scratch,Scratch,gpt-5,gpt-5,USD,4.000000,estimated"),
        "{text}"
    );
    let sum: i64 = body.iter().map(|l| micros(l.split(',').nth(8).unwrap())).sum();
    assert_eq!(sum, 47_000_001, "the same total as the chart and the reports");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(rows.len(), body.len());
    assert!(!text.contains("sk-FAKE"));
}

#[test]
fn hourly_chart_of_today_from_the_sources_that_report_hours() {
    use burnrate_core::days::DayRange;
    use burnrate_core::ledger::write_poll;
    use burnrate_core::money::Currency;
    use burnrate_core::poll::SpendKind;
    use burnrate_core::poll::{BucketWidth, PollResult, SpendRow, SpendWindow};

    let (dir, core) = seeded();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap().timestamp();
    let row = |key: &str, hour: i64, micros: i64| SpendRow {
        key_id: key.into(),
        model: "gpt-5".into(),
        project: String::new(),
        bucket_start: start + hour * 3600,
        currency: Currency::usd(),
        amount_micros: micros,
        input_tokens: Some(1000),
        output_tokens: Some(100),
        requests: Some(1),
    };
    let poll = PollResult {
        windows: vec![SpendWindow {
            width: BucketWidth::Hour,
            kind: SpendKind::Estimated,
            from: start,
            to: start + 86_400,
            rows: vec![
                row("key_FAKE_a", 9, 1_250_000),
                row("key_FAKE_a", 14, 500_000),
                row("key_FAKE_b", 14, 2_000_000),
            ],
        }],
        ..PollResult::default()
    };
    let mut conn = rusqlite::Connection::open(core.paths.db_path()).unwrap();
    let work: i64 = conn.query_row("SELECT id FROM sources WHERE name = 'work'", [], |r| r.get(0)).unwrap();
    write_poll(&mut conn, work, start, start, DayRange::new(day, day).unwrap(), &poll).unwrap();
    // lab has only whole-day spend today: named in the note, not spread over hours.
    import(&core, "lab", "2026-03-10,4,USD,key_FAKE_x,Lab,gpt-5,billed\n");
    let _ = &dir;

    let view = core
        .chart(&ChartQuery { kind: ChartKind::Hourly, to: None, from: None, ..query(Dimension::Key, "", "") })
        .unwrap();
    assert_eq!(view.days_label, "UTC hours");
    assert!(view.svg.contains("Spend by hour on 2026-03-10"), "caption names the day");
    assert!(view.svg.contains("14:00"), "hour ticks");
    let bars: Vec<(Option<u32>, &str, i64, bool)> =
        view.bars.iter().map(|b| (b.hour, b.series.as_str(), b.amount_micros, b.estimated)).collect();
    assert_eq!(
        bars,
        [
            // The bigger series (Beta, 2.00 today) sits on the axis, Alpha (1.75) on top of it.
            (Some(14), "work/key_FAKE_b", 2_000_000, true),
            (Some(9), "work/key_FAKE_a", 1_250_000, true),
            (Some(14), "work/key_FAKE_a", 500_000, true),
        ]
    );
    assert!(view.bars.iter().all(|b| b.day == "2026-03-10"));
    let (b14, a9, a14) = (&view.bars[0], &view.bars[1], &view.bars[2]);
    assert_eq!(a14.x, b14.x, "one stack per hour");
    assert_eq!(a14.y + a14.height, b14.y, "Alpha's 14:00 segment stands on Beta's");
    assert!(a9.x < a14.x, "09:00 is left of 14:00");
    assert_eq!(view.total.as_deref(), Some("3.750000"));
    assert_eq!(view.note.as_deref(), Some("Not split by hour: lab (reported as whole days; see the daily chart)"));

    // Another day without hourly rows says so and still names the daily-only source.
    let other = core
        .chart(&ChartQuery {
            kind: ChartKind::Hourly,
            from: None,
            to: Some("2026-03-01".into()),
            ..query(Dimension::Key, "", "")
        })
        .unwrap();
    assert!(other.bars.is_empty());
    assert_eq!(other.empty.as_deref(), Some("No hourly spend on 2026-03-01; work reported whole days only"));
}

#[test]
fn every_grouping_of_a_workspace_bill_draws_the_same_total() {
    // Anthropic's shape: the bill names no key, its estimates do. Day 1: the estimates fall
    // short of the bill (the rest is "not attributed to a key"); day 2: they exceed it (the
    // rest is negative and hangs from the top of the bar as a faded band).
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path());
    import(&core, "work", "2026-03-01,5,USD,,,claude-sonnet-4,billed\n2026-03-02,5,USD,,,claude-sonnet-4,billed\n");
    import(
        &core,
        "work",
        "2026-03-01,2,USD,key_FAKE_a,Alpha,claude-sonnet-4,estimated\n\
         2026-03-01,1,USD,key_FAKE_b,Beta,claude-haiku-4,estimated\n\
         2026-03-02,4,USD,key_FAKE_a,Alpha,claude-sonnet-4,estimated\n\
         2026-03-02,3,USD,key_FAKE_b,Beta,claude-haiku-4,estimated\n",
    );
    let per_day = |view: &ChartView| {
        let mut days: BTreeMap<String, i64> = BTreeMap::new();
        for b in &view.bars {
            *days.entry(b.day.clone()).or_default() += b.amount_micros;
        }
        days
    };
    let by_source = core.chart(&query(Dimension::Source, "2026-03-01", "2026-03-02")).unwrap();
    let expected = BTreeMap::from([("2026-03-01".to_owned(), 5_000_000), ("2026-03-02".to_owned(), 5_000_000)]);
    assert_eq!(per_day(&by_source), expected);
    for by in [Dimension::Key, Dimension::Model] {
        let view = core.chart(&query(by, "2026-03-01", "2026-03-02")).unwrap();
        assert_eq!(per_day(&view), expected, "by {by:?}");
        assert_eq!(view.total.as_deref(), Some("10.000000"), "by {by:?}");
    }
    let by_key = core.chart(&query(Dimension::Key, "2026-03-01", "2026-03-02")).unwrap();
    let rest: Vec<(&str, i64, bool)> = by_key
        .bars
        .iter()
        .filter(|b| b.series == "work/")
        .map(|b| (b.day.as_str(), b.amount_micros, b.estimated))
        .collect();
    assert_eq!(rest, [("2026-03-01", 2_000_000, false), ("2026-03-02", -2_000_000, false)]);
    let label = &by_key.series.iter().find(|s| s.id == "work/").unwrap().label;
    assert_eq!(label, "work: not attributed to a key");
    // The negative band sits inside its bar: its top is the bar's top, 7 units up.
    let day2: Vec<_> = by_key.bars.iter().filter(|b| b.day == "2026-03-02").collect();
    let top = day2.iter().map(|b| b.y).min().unwrap();
    let band = day2.iter().find(|b| b.amount_micros < 0).unwrap();
    assert_eq!(band.y, top);
}

fn converted_query(kind: ChartKind, by: Dimension) -> ChartQuery {
    ChartQuery { kind, convert_to: Some("EUR".into()), ..query(by, "2026-03-01", "2026-03-10") }
}

/// (day, series, amount) of every bar, sorted.
fn bar_amounts(view: &ChartView) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = view.bars.iter().map(|b| (b.day.clone(), b.series.clone(), b.amount.clone())).collect();
    out.sort();
    out
}

#[test]
fn a_converted_chart_draws_each_day_at_its_own_rate_with_the_native_amounts() {
    let dir = tempfile::tempdir().unwrap();
    let core = crate::headline::usd_and_cny_with_rates(dir.path(), false);
    let native = core.chart(&query(Dimension::Source, "2026-03-01", "2026-03-10")).unwrap();
    let view = core.chart(&converted_query(ChartKind::Daily, Dimension::Source)).unwrap();
    assert_eq!((view.currency.as_deref(), view.currencies.clone()), (Some("EUR"), vec!["CNY".into(), "USD".into()]));
    // The same per-day conversions as the headline's hand computation.
    let s = |d: &str, series: &str, a: &str| (d.to_owned(), series.to_owned(), a.to_owned());
    assert_eq!(
        bar_amounts(&view),
        [
            s("2026-03-06", "deep", "10.000000"),
            s("2026-03-06", "work", "8.000000"),
            s("2026-03-07", "work", "4.000000"),
            s("2026-03-09", "deep", "2.000000"),
            s("2026-03-09", "work", "9.615385"),
            s("2026-03-10", "deep", "1.000000"),
            s("2026-03-10", "work", "2.307692"),
        ]
    );
    assert_eq!(view.total.as_deref(), Some("36.923077"));
    let converted = view.converted.clone().unwrap();
    assert_eq!(
        (converted.amount.as_deref(), converted.rate_date.as_deref(), converted.rate_date_to.as_deref()),
        (Some("36.923077"), Some("2026-03-06"), Some("2026-03-09"))
    );
    // Hover: what was spent and at which day's rate (the weekend used Friday's).
    let sat = view.bars.iter().find(|b| b.day == "2026-03-07").unwrap();
    assert_eq!(sat.native.len(), 1);
    assert_eq!(
        (sat.native[0].amount.as_str(), sat.native[0].currency.as_str(), sat.native[0].rate_date.as_deref()),
        ("5.000000", "USD", Some("2026-03-06"))
    );
    assert!(view.svg.contains("EUR, converted at each day") && view.svg.contains("Daily spend by source"), "caption");
    assert!(view.note.is_none() && view.bars.iter().all(|b| b.missing.is_none()));

    // By key and by hour of today: the same conversions.
    let by_key = core.chart(&converted_query(ChartKind::Daily, Dimension::Key)).unwrap();
    assert_eq!(by_key.total.as_deref(), Some("36.923077"));
    // The month-to-date line reaches the headline's converted month to date.
    let cumulative = core.chart(&converted_query(ChartKind::Cumulative, Dimension::Source)).unwrap();
    assert_eq!(cumulative.bars.last().unwrap().amount, "36.923077");
    assert_eq!(cumulative.total.as_deref(), Some("36.923077"));
    assert!(cumulative.svg.contains("Month to date, EUR, converted"));

    // Without convert_to nothing changed: the native chart carries no conversion.
    assert!(native.converted.is_none() && native.bars.iter().all(|b| b.native.is_empty() && b.missing.is_none()));
    assert_eq!(native.currency.as_deref(), Some("CNY"), "the most spend, as before");
    assert!(!native.svg.contains("converted"));
}

#[test]
fn a_day_without_a_rate_is_a_marked_gap_not_a_zero() {
    let dir = tempfile::tempdir().unwrap();
    let core = crate::headline::usd_and_cny_with_rates(dir.path(), true);
    let view = core.chart(&converted_query(ChartKind::Daily, Dimension::Source)).unwrap();
    let gap: Vec<_> = view.bars.iter().filter(|b| b.day == "2026-03-05").collect();
    assert_eq!(gap.len(), 1, "one marked column, no bar of a partial amount");
    let gap = gap[0];
    assert_eq!(gap.series, burnrate_core::charts::MISSING_RATE);
    assert_eq!(gap.missing.as_deref(), Some("missing rate for CNY since 2026-03-05"));
    assert!(gap.amount.is_empty() && gap.height > 20, "drawn tall, with no amount: {gap:?}");
    assert_eq!((gap.native[0].amount.as_str(), gap.native[0].currency.as_str()), ("5.000000", "CNY"));
    // The other days are drawn as before; the range's total is unknown, not the smaller sum.
    assert_eq!(view.bars.iter().filter(|b| b.missing.is_none()).count(), 7);
    assert_eq!(view.total, None);
    assert_eq!(view.converted.as_ref().unwrap().amount, None);
    let partial: BTreeMap<&str, bool> = view.series.iter().map(|s| (s.id.as_str(), s.partial)).collect();
    assert_eq!(partial, BTreeMap::from([("deep", true), ("work", false)]), "deep's total leaves the 5th out");
    assert!(view.note.as_deref().unwrap().starts_with("missing rate for CNY since 2026-03-05"), "{:?}", view.note);
    assert!(view.svg.contains('?'));
    // The month-to-date line stops before the unknown day instead of running flat through it.
    let cumulative = core.chart(&converted_query(ChartKind::Cumulative, Dimension::Source)).unwrap();
    assert_eq!(cumulative.bars.last().unwrap().day, "2026-03-04");
    assert_eq!(cumulative.total, None);
    assert!(cumulative.note.as_deref().unwrap().contains("missing rate for CNY since 2026-03-05"));
    assert!(cumulative.svg.contains("no rate from Mar 05"), "the legend says where the known line ends");
}
