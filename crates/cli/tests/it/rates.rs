//! `burnrate rates …` end to end: the real binary and a real ledger file, with the ECB played
//! by a loopback server serving a hand-written file in its documented shape (a weekend and the
//! Easter holidays missing).

use crate::common;

use common::Cli;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// After the fixture's newest day (2026-04-08), so none of its days is in the future.
const NOW: &str = "2026-04-10T12:00:00Z";

fn cli_at(now: &str) -> Cli {
    let mut cli = Cli::new();
    cli.env.retain(|(k, _)| k != "BURNRATE_NOW");
    cli.env.push(("BURNRATE_NOW".into(), now.into()));
    cli
}

fn rows(run: &common::Run) -> Vec<(String, String, String, String)> {
    let list: Vec<Value> = serde_json::from_value(run.json()).unwrap();
    list.iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_else(|| panic!("{k} is not a string in {r}")).to_owned();
            (s("day"), s("currency"), s("rate"), s("source"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rates_sync_fetches_the_ecb_history_once_a_day_and_list_shows_it() {
    let ecb = MockServer::start().await;
    let file = common::fixture("ecb/eurofxref-hist-90d.xml");
    Mock::given(method("GET"))
        .and(path("/eurofxref/eurofxref-hist.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(file))
        .expect(1)
        .mount(&ecb)
        .await;
    let mut cli = cli_at(NOW);
    cli.env.push(("BURNRATE_ECB_URL".into(), format!("{}/eurofxref/", ecb.uri())));

    let run = cli.run(&["rates", "sync"]).ok();
    assert!(
        run.stdout.contains("fetched eurofxref-hist.xml: 28 rates over 7 days; newest rates from 2026-04-08"),
        "{}",
        run.stdout
    );
    // Within the day: not asked again (the mock expects exactly one request).
    let again = cli.run(&["rates", "sync", "--json"]).ok().json();
    assert_eq!(again["fetched"], json!(false));
    assert_eq!(again["newest_day"], json!("2026-04-08"));
    ecb.verify().await;

    let usd = rows(
        &cli.run(&["rates", "list", "--currency", "usd", "--from", "2026-04-02", "--to", "2026-04-07", "--json"]).ok(),
    );
    assert_eq!(
        usd,
        [("2026-04-02", "1.0812"), ("2026-04-07", "1.0840")].map(|(d, r)| (
            d.to_owned(),
            "USD".to_owned(),
            r.to_owned(),
            "ecb".to_owned()
        ))
    );
    let table = cli.run(&["rates", "list", "--from", "2026-04-08"]).ok().stdout;
    assert!(table.contains("DAY") && table.contains("163.20") && table.contains("0.8500"), "{table}");
    assert_eq!(table.lines().count(), 5, "a header and four currencies:\n{table}");
}

#[test]
fn an_unreachable_ecb_is_an_error_that_says_what_still_works() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut cli = cli_at(NOW);
    cli.env.push(("BURNRATE_ECB_URL".into(), format!("http://{gone}/")));
    let run = cli.run(&["rates", "sync"]).failed();
    assert!(run.stderr.contains("cannot reach the ECB's exchange rates"), "{}", run.stderr);
    assert!(run.stderr.contains("no rates are stored yet"), "{}", run.stderr);
    // The failure is remembered, and `rates status` says what the app says.
    let status = cli.run(&["rates", "status"]).ok();
    assert!(status.stdout.contains("no rates stored"), "{}", status.stdout);
    assert!(status.stdout.contains("not in use: nothing is converted"), "{}", status.stdout);
    assert!(status.stdout.contains("last fetch failed at 2026-04-10T12:00:00Z: cannot reach"), "{}", status.stdout);
    cli.run(&["settings", "set", "display_currency", "EUR"]).ok();
    let json = cli.run(&["rates", "status", "--json"]).ok().json();
    assert_eq!(json["needed"], serde_json::json!(true));
    assert_eq!(json["newest_day"], serde_json::Value::Null);
}

#[test]
fn rates_import_takes_a_spreadsheet_csv_whole_or_not_at_all() {
    let cli = cli_at(NOW);
    let bad = cli.data_dir.path().join("bad.csv");
    std::fs::write(&bad, "date,currency,rate\r\n2026-04-01,CNY,7.83\r\n2026-04-02,CNY,0\r\n2026-05-01,CNY,7.9\r\n")
        .unwrap();
    let run = cli.run(&["rates", "import", bad.to_str().unwrap()]).failed();
    assert!(run.stderr.contains("line 3: rate 0 is not above zero"), "{}", run.stderr);
    assert!(run.stderr.contains("line 4: date 2026-05-01 is in the future"), "{}", run.stderr);
    assert_eq!(rows(&cli.run(&["rates", "list", "--json"]).ok()), [], "nothing of a bad file is written");

    let good = cli.data_dir.path().join("good.csv");
    std::fs::write(&good, "\u{feff}date,currency,rate\r\n2026-04-01,cny,7.8300\r\n2026-04-02,ARS,950.25\r\n").unwrap();
    let run = cli.run(&["rates", "import", good.to_str().unwrap()]).ok();
    assert!(run.stdout.contains("imported 2 rates"), "{}", run.stdout);
    let listed = rows(&cli.run(&["rates", "list", "--json"]).ok());
    assert_eq!(
        listed,
        [("2026-04-01", "CNY", "7.8300"), ("2026-04-02", "ARS", "950.25")].map(|(d, c, r)| (
            d.to_owned(),
            c.to_owned(),
            r.to_owned(),
            "import".to_owned()
        ))
    );
    let run = cli.run(&["rates", "list", "--from", "2026-04-03", "--to", "2026-04-01"]).failed();
    assert!(run.stderr.contains("swap them"), "{}", run.stderr);
}
