//! The FOCUS 1.2 export from a real ledger file: OpenAI billed per key and model, Anthropic
//! billed per workspace with token estimates per key. BilledCost must add up to what
//! `report daily --by source` counts as billed, EffectiveCost to the report total, estimates
//! must never be billed, and hostile names must stay inert.

use std::collections::BTreeMap;

use burnrate_core::dto::{AddSourceRequest, Dimension, KeyInput, ReportQuery};
use burnrate_core::focus::FOCUS_COLUMNS;
use burnrate_core::import::CsvFormat;
use burnrate_core::poll::SpendKind;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::ProviderId;
use burnrate_core::Burnrate;

use crate::common::TestCore;

const HEADER: &str = "day,amount,currency,key_id,key_name,model,kind\n";

/// The columns FOCUS 1.2 marks Mandatory (specification/columns/*.md at tag v1.2 of
/// FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec), with whether each may be null.
const MANDATORY: [(&str, bool); 21] = [
    ("BilledCost", false),
    ("BillingAccountId", false),
    ("BillingAccountName", true),
    ("BillingCurrency", false),
    ("BillingPeriodEnd", false),
    ("BillingPeriodStart", false),
    ("ChargeCategory", false),
    ("ChargeClass", true),
    ("ChargeDescription", true),
    ("ChargePeriodEnd", false),
    ("ChargePeriodStart", false),
    ("ContractedCost", false),
    ("EffectiveCost", false),
    ("InvoiceIssuerName", false),
    ("ListCost", false),
    ("PricingQuantity", true),
    ("PricingUnit", true),
    ("ProviderName", false),
    ("PublisherName", false),
    ("ServiceCategory", false),
    ("ServiceName", false),
];

fn micros(text: &str) -> i64 {
    let (sign, text) = text.strip_prefix('-').map_or((1, text), |t| (-1, t));
    let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
    sign * (whole.parse::<i64>().unwrap() * 1_000_000 + format!("{frac:0<6}").parse::<i64>().unwrap())
}

fn seeded() -> (tempfile::TempDir, Burnrate) {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path())
        .now("2026-03-10T18:00:00Z")
        .env(&[("FOCUS_FAKE_KEY", "sk-FAKE-focus-0000")])
        .retry(RetryPolicy::default())
        .build();
    for (provider, name) in [(ProviderId::Openai, "work"), (ProviderId::Anthropic, "claude")] {
        core.add_source(&AddSourceRequest {
            provider,
            name: name.into(),
            base_url: None,
            key: KeyInput::Env { var: "FOCUS_FAKE_KEY".into() },
            settings: None,
        })
        .unwrap();
    }
    let import = |source: &str, lines: &str| {
        core.import_csv(source, CsvFormat::Generic, format!("{HEADER}{lines}").as_bytes()).unwrap();
    };
    import(
        "work",
        "2026-03-01,10.50,USD,key_FAKE_a,=HYPERLINK(\"http://x\"),gpt-5,billed\n\
         2026-03-01,2.25,USD,key_FAKE_b,Beta,gpt-5-mini,billed\n\
         2026-03-02,1.000001,USD,key_FAKE_a,=HYPERLINK(\"http://x\"),gpt-5,billed\n",
    );
    // Anthropic: one bill per workspace and day, estimates per key (they sum to less).
    import(
        "claude",
        "2026-03-01,9,USD,,,,billed\n\
         2026-03-01,4,USD,key_FAKE_k1,Backend,claude-sonnet,estimated\n\
         2026-03-01,3.5,USD,key_FAKE_k2,Batch,claude-haiku,estimated\n\
         2026-03-02,5,USD,,,,billed\n\
         2026-03-02,5,USD,key_FAKE_k1,Backend,claude-sonnet,estimated\n\
         2026-03-03,2,USD,key_FAKE_k2,Batch,claude-haiku,estimated\n",
    );
    core.set_key_environment("claude", "key_FAKE_k1", Some("prod")).unwrap();
    (dir, core)
}

fn read(csv: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows =
        reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_owned)).collect()).collect();
    (header, rows)
}

#[test]
fn focus_export_has_the_mandatory_columns_and_never_bills_an_estimate_or_counts_twice() {
    let (_dir, core) = seeded();
    let (from, to) = (Some("2026-03-01".to_owned()), Some("2026-03-03".to_owned()));
    let csv = core.export_focus(from.clone(), to.clone()).unwrap();
    let (header, rows) = read(&csv);
    assert_eq!(header, FOCUS_COLUMNS);
    for (column, nullable) in MANDATORY {
        assert!(header.iter().any(|h| h == column), "{column} missing");
        if !nullable {
            assert!(rows.iter().all(|r| !r[column].is_empty()), "{column} empty in\n{csv}");
        }
    }
    assert!(header.iter().filter(|h| !MANDATORY.iter().any(|(m, _)| m == h)).all(|h| {
        h.starts_with("x_")
            || [
                "ChargeFrequency",
                "ConsumedQuantity",
                "ConsumedUnit",
                "ResourceId",
                "ResourceName",
                "ServiceSubcategory",
                "SkuId",
                "Tags",
            ]
            .contains(&h.as_str())
    }));
    // Shape of the values the specification fixes.
    for r in &rows {
        assert_eq!(r["ChargeCategory"], "Usage");
        assert_eq!(r["ChargeClass"], "", "null unless a correction");
        assert_eq!(r["ChargeFrequency"], "Usage-Based");
        assert_eq!(r["ServiceCategory"], "AI and Machine Learning");
        assert_eq!(r["BillingCurrency"], "USD");
        for c in ["ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"] {
            let v = &r[c];
            assert!(v.len() == 20 && v.ends_with("T00:00:00Z") && v.as_bytes()[4] == b'-', "{c}={v}");
        }
        assert_eq!(r["BillingPeriodStart"], "2026-03-01T00:00:00Z");
        assert_eq!(r["BillingPeriodEnd"], "2026-04-01T00:00:00Z");
        assert!(!r["PricingQuantity"].is_empty() && !r["PricingUnit"].is_empty(), "usage rows need a quantity");
        assert!(["billed", "estimated"].contains(&r["x_CostKind"].as_str()));
        if r["x_CostKind"] == "estimated" {
            assert_eq!(micros(&r["BilledCost"]), 0, "an estimate presented as billed: {r:?}");
            assert!(micros(&r["EffectiveCost"]) > 0);
            assert!(r["ChargeDescription"].contains("estimated"));
        }
        assert_eq!(r["ListCost"], r["EffectiveCost"]);
        assert_eq!(r["ContractedCost"], r["EffectiveCost"]);
    }
    // Per day and currency: BilledCost = the billed total of `report daily --by source`,
    // EffectiveCost = the total of the report by source, key and model (nothing twice).
    let report =
        |by: Vec<Dimension>| core.daily_report(&ReportQuery { by, from: from.clone(), to: to.clone() }).unwrap();
    let mut billed_by_source: BTreeMap<String, i64> = BTreeMap::new();
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for r in report(vec![Dimension::Source]) {
        let billed = if r.kind == SpendKind::Billed { micros(&r.amount) } else { 0 };
        *billed_by_source.entry(r.day.clone()).or_default() += billed;
        *total.entry(r.day).or_default() += micros(&r.amount);
    }
    let mut detailed: BTreeMap<String, i64> = BTreeMap::new();
    for r in report(vec![Dimension::Source, Dimension::Key, Dimension::Model]) {
        *detailed.entry(r.day).or_default() += micros(&r.amount);
    }
    assert_eq!(total, detailed);
    let mut focus_billed: BTreeMap<String, i64> = BTreeMap::new();
    let mut focus_effective: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        let day = r["ChargePeriodStart"][..10].to_owned();
        *focus_billed.entry(day.clone()).or_default() += micros(&r["BilledCost"]);
        *focus_effective.entry(day).or_default() += micros(&r["EffectiveCost"]);
    }
    assert_eq!(focus_billed, billed_by_source);
    assert_eq!(focus_effective, total);
    // The numbers themselves: 12.75 + 9 billed on the 1st, 1.000001 + 5 on the 2nd, none on
    // the 3rd (an estimate only).
    assert_eq!(focus_billed["2026-03-01"], 21_750_000);
    assert_eq!(focus_billed["2026-03-02"], 6_000_001);
    assert_eq!(focus_billed["2026-03-03"], 0);
    assert_eq!(focus_effective["2026-03-03"], 2_000_000);
    // One row per source, key, model, day and currency.
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        let id =
            (&r["BillingAccountId"], &r["ResourceId"], &r["SkuId"], &r["ChargePeriodStart"], &r["BillingCurrency"]);
        assert!(seen.insert(id), "row twice: {id:?}");
    }
    // Anthropic's bill is carried whole by its unattributed row; its estimates stay per key.
    let claude: Vec<_> = rows.iter().filter(|r| r["BillingAccountId"] == "claude").collect();
    let bill_row = claude
        .iter()
        .find(|r| r["ChargePeriodStart"].starts_with("2026-03-01") && r["ResourceId"].is_empty())
        .expect("the workspace bill row");
    assert_eq!((micros(&bill_row["BilledCost"]), micros(&bill_row["EffectiveCost"])), (9_000_000, 1_500_000));
    assert_eq!(bill_row["ProviderName"], "Anthropic");
    // On the 2nd the estimate equals the bill: no remainder in the report, still a bill row.
    let even = claude
        .iter()
        .find(|r| r["ChargePeriodStart"].starts_with("2026-03-02") && r["ResourceId"].is_empty())
        .expect("a row carrying the bill the estimates match");
    assert_eq!((micros(&even["BilledCost"]), micros(&even["EffectiveCost"])), (5_000_000, 0));
    let k1 = claude.iter().find(|r| r["ResourceId"] == "key_FAKE_k1").unwrap();
    assert_eq!(k1["ResourceName"], "Backend");
    assert_eq!(k1["SkuId"], "claude-sonnet");
    assert_eq!(k1["x_CostKind"], "estimated");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&k1["Tags"]).unwrap(),
        serde_json::json!({"environment": "prod"})
    );
    // A formula-looking key name is neutralised; the secret is nowhere.
    let hostile = rows.iter().find(|r| r["ResourceId"] == "key_FAKE_a").unwrap();
    assert_eq!(hostile["ResourceName"], "'=HYPERLINK(\"http://x\")");
    assert_eq!(hostile["x_CostKind"], "billed");
    assert_eq!(hostile["ProviderName"], "OpenAI");
    assert!(!csv.contains("sk-FAKE"));
}

#[test]
fn the_desktop_export_writes_the_same_focus_rows_under_exports() {
    let (dir, core) = seeded();
    let (from, to) = (Some("2026-03-01".to_owned()), Some("2026-03-03".to_owned()));
    let path = core.export_ledger(from.clone(), to.clone(), burnrate_core::dto::LedgerFormat::Focus).unwrap();
    assert!(path.starts_with(dir.path().join("exports")), "{}", path.display());
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("focus-2026-03-01-2026-03-03-") && name.ends_with(".csv"), "{name}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), core.export_focus(from, to).unwrap());
}
