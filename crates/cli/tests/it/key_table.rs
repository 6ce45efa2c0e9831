//! `burnrate key list` and `burnrate key env`: the dashboard's key table from the CLI, with the
//! environment label and the rotation period setting, over a real ledger file.

use crate::common;

use common::Cli;

#[test]
fn key_list_shows_spend_and_flags_and_env_labels_stick() {
    let cli = Cli::new();
    // OpenRouter: its keys carry limits of their own, so a key without one is flagged.
    cli.run(&["source", "add", "openrouter", "--name", "books", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let today = cli.run(&["settings", "get", "--json"]).ok(); // the CLI answers before any spend
    assert!(today.stdout.contains("\"key_rotation_days\": 90"), "{}", today.stdout);
    assert!(cli.run(&["key", "list"]).ok().stdout.starts_with("no keys yet"));

    let now = "2026-03-02"; // BURNRATE_NOW of the test CLI
    let csv = format!(
        "day,amount,currency,key_id,key_name,model,kind\n{now},4.5,USD,key_FAKE_a,Alpha,gpt-5,billed\n{now},1.5,USD,key_FAKE_b,Beta,gpt-5,billed\n"
    );
    let file = cli.data_dir.path().join("keys.csv");
    std::fs::write(&file, csv).unwrap();
    cli.run(&["import", "csv", "--source", "books", file.to_str().unwrap()]).ok();

    let table = cli.run(&["key", "list", "--json"]).ok().json();
    let rows = table.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0]["key_id"].as_str(), rows[0]["today"].as_str()), (Some("key_FAKE_a"), Some("4.500000")));
    assert_eq!(rows[0]["share_basis_points"], 7500);

    cli.run(&["key", "env", "--source", "books", "key_FAKE_a", "prod"]).ok();
    let text = cli.run(&["key", "list"]).ok().stdout;
    let alpha = text.lines().find(|l| l.contains("Alpha")).unwrap();
    assert!(alpha.contains("prod") && alpha.contains("4.500000 USD") && alpha.contains("75.00 %"), "{text}");
    assert!(alpha.contains("no limit"), "{alpha}");

    let refused = cli.run(&["key", "env", "--source", "books", "key_FAKE_zz", "dev"]).failed();
    assert!(refused.stderr.contains("has no key"), "{}", refused.stderr);
    let refused = cli.run(&["key", "env", "--source", "books", "key_FAKE_a", "production"]).failed();
    assert!(refused.stderr.contains("possible values"), "{}", refused.stderr);
    cli.run(&["key", "env", "--source", "books", "key_FAKE_a", "none"]).ok();
    assert_eq!(cli.run(&["key", "list", "--json"]).ok().json()[0]["environment"], serde_json::Value::Null);

    cli.run(&["settings", "set", "key_rotation_days", "30"]).ok();
    assert!(cli.run(&["settings", "get", "--json"]).ok().stdout.contains("\"key_rotation_days\": 30"));
    assert!(cli.run(&["settings", "set", "key_rotation_days", "forever"]).failed().stderr.contains("1 to 3650"));
}
