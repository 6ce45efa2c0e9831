//! `/api/v1/report/daily?convert_to=EUR` in process over loopback: the rows
//! `report daily --convert-to EUR --json` prints, null where a rate is missing, and a currency
//! without rates refused with 400. (The converted amounts themselves are checked against hand
//! computations in the ledger's unit tests and the CLI's `report_convert`.)

use crate::common::TestCore;

use std::sync::Arc;

use burnrate_core::dto::{AddSourceRequest, KeyInput, ReportQuery};
use burnrate_core::import::CsvFormat;
use burnrate_core::providers::ProviderId;
use burnrate_core::serve::{ServeOptions, Server};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn the_api_converts_like_the_cli_and_refuses_a_currency_without_rates() {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path())
        .now("2026-04-10T12:00:00Z")
        .env(&[("REPORT_FAKE_KEY", "sk-FAKE-report-0000")])
        .build();
    for (name, spend) in [
        ("usd-books", "2026-02-27,10.000000,USD\n2026-04-04,1.234567,USD\n"),
        ("cny-relay", "2026-03-31,50.000000,CNY\n2026-04-04,12.345678,CNY\n"),
    ] {
        core.add_source(&AddSourceRequest {
            provider: ProviderId::Openai,
            name: name.into(),
            base_url: None,
            key: KeyInput::Env { var: "REPORT_FAKE_KEY".into() },
            settings: None,
        })
        .unwrap();
        let csv = format!("day,amount,currency\n{spend}");
        core.import_csv(name, CsvFormat::Generic, csv.as_bytes()).unwrap();
    }
    core.import_rates(b"date,currency,rate\n2026-02-27,USD,1.0823\n2026-04-03,USD,1.0750\n2026-04-03,CNY,7.8000\n")
        .unwrap();
    let query = ReportQuery { by: vec![], from: Some("2026-02-27".into()), to: Some("2026-04-06".into()) };
    let expected = serde_json::to_value(core.daily_report_converted(&query, "EUR").unwrap().rows).unwrap();

    let core = Arc::new(core);
    let server = Server::bind(core, ServeOptions::new("127.0.0.1:0".parse().unwrap(), None)).await.unwrap();
    let base = format!("http://{}/api/v1/report/daily", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };

    let (status, rows) = get(format!("{base}?from=2026-02-27&to=2026-04-06&convert_to=EUR")).await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows, expected);
    let cells: Vec<(&str, &str, &Value, &Value)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["day"].as_str().unwrap(), r["currency"].as_str().unwrap(), &r["converted_amount"], &r["rate_date"]))
        .collect();
    assert_eq!(
        cells,
        [
            // 10 / 1.0823
            ("2026-02-27", "USD", &json!("9.239582"), &json!("2026-02-27")),
            // No CNY rate on or up to 31 days before 31 March.
            ("2026-03-31", "CNY", &Value::Null, &Value::Null),
            // Saturday: Friday's rates. 12.345678 / 7.8; 1.234567 / 1.075
            ("2026-04-04", "CNY", &json!("1.582779"), &json!("2026-04-03")),
            ("2026-04-04", "USD", &json!("1.148434"), &json!("2026-04-03")),
        ]
    );
    assert!(rows.as_array().unwrap().iter().all(|r| r["converted_currency"] == "EUR"));

    // Without convert_to: the rows as before, no converted fields.
    let (status, plain) = get(format!("{base}?from=2026-02-27&to=2026-04-06")).await;
    assert_eq!(status, 200);
    assert!(plain
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("converted_amount").is_none() && r.get("rate_date").is_none()));
    assert_eq!(plain.as_array().unwrap().len(), 4);

    let (status, body) = get(format!("{base}?convert_to=XYZ")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("burnrate rates import"), "{body}");
    let (status, body) = get(format!("{base}?currency=EUR")).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("convert_to"), "{body}");

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
