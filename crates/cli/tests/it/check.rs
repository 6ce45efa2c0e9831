//! `burnrate check` end to end against the in-repo fake gateway on loopback: a new assessment,
//! answers, a red flag, attachments, the paid test (refused without --yes off a terminal, then
//! run, with the balance of a linked new-api source giving the multiplier), Markdown and HTML
//! reports, a duplicate, and a tampered evidence file that `check show` flags.

use crate::common;

use common::Cli;
use fake_gateway::{Config, FakeGateway, Mode};

const GW_KEY: &str = "sk-test-FAKE-cli-gateway-key-0000000000077";

fn cli_and_gateway() -> (Cli, FakeGateway) {
    let g = FakeGateway::start(Config {
        key: GW_KEY.into(),
        mode: Mode::Normal,
        multiplier_bp: 15_000,
        ..Config::default()
    });
    let mut cli = Cli::new();
    cli.env.push(("CHECK_GW_KEY".into(), GW_KEY.into()));
    (cli, g)
}

fn run_ok(cli: &Cli, args: &[&str]) -> common::Run {
    let r = cli.run(args).ok();
    assert!(
        !r.stdout.contains(GW_KEY) && !r.stderr.contains(GW_KEY),
        "the gateway key leaked:\n{}\n{}",
        r.stdout,
        r.stderr
    );
    r
}

#[test]
fn from_new_to_report_with_evidence_a_paid_test_and_a_tamper() {
    let (cli, g) = cli_and_gateway();
    run_ok(&cli, &["source", "add", "new-api", "--name", "gw", "--base-url", &g.url, "--key-env", "CHECK_GW_KEY"]);
    let base = format!("{}/v1", g.url);
    let id = run_ok(
        &cli,
        &[
            "check",
            "new",
            "--name",
            "Fake gateway",
            "--base-url",
            &base,
            "--claim",
            "OpenAI-compatible API",
            "--source",
            "gw",
        ],
    )
    .stdout
    .trim()
    .to_owned();
    assert_eq!(id, "1");

    // Every question, by the ids `check show --json` lists.
    let show = run_ok(&cli, &["check", "show", &id, "--json"]).json();
    assert_eq!(show["verdict"]["level"], "incomplete");
    let ids: Vec<String> = show["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(ids.len(), 29);
    for q in &ids {
        let answer = if q == "data.training" { "unknown" } else { "pass" };
        run_ok(&cli, &["check", "answer", &id, q, answer]);
    }
    let r = run_ok(&cli, &["check", "answer", &id, "scope.providers", "pass", "--note", "OpenAI models only"]);
    assert!(
        r.stdout.contains("verdict: Usable as an OpenAI-compatible gateway; authorization not proven"),
        "{}",
        r.stdout
    );
    let r = run_ok(&cli, &["check", "flag", &id, "unlimited", "on"]);
    assert!(r.stdout.contains("verdict: Do not send production traffic"), "{}", r.stdout);
    run_ok(&cli, &["check", "flag", &id, "unlimited", "off"]);
    let bad = cli.run(&["check", "answer", &id, "no.such", "pass"]).failed();
    assert!(bad.stderr.contains("is not a question id"), "{}", bad.stderr);

    let receipt = cli.data_dir.path().join("receipt.pdf");
    std::fs::write(&receipt, b"%PDF-1.4 receipt for 5.00 USD").unwrap();
    let r = run_ok(&cli, &["check", "attach", &id, "payment.receipts", "--file", receipt.to_str().unwrap()]);
    assert!(r.stdout.contains("receipt.pdf") && r.stdout.contains("integrity=ok"), "{}", r.stdout);
    let dup = cli.run(&["check", "attach", &id, "payment.receipts", "--file", receipt.to_str().unwrap()]).failed();
    assert!(dup.stderr.contains("already attached"), "{}", dup.stderr);
    run_ok(
        &cli,
        &["check", "attach", &id, "data.policy", "--url", "https://gateway.example/privacy", "--about", "30 days"],
    );
    run_ok(&cli, &["check", "attach", &id, "tech.support", "--note", "support answered within 2 hours"]);

    // Off a terminal the paid test needs --yes; nothing is sent without it.
    let smoke =
        ["check", "smoke", &id, "--key-env", "CHECK_GW_KEY", "--calls", "6", "--model", "gpt-4o", "--max-usd", "0.10"];
    let refused = cli.run(&smoke).failed();
    assert!(refused.stderr.contains("re-run with --yes"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("plan: 6 paid chat calls (6 × gpt-4o) plus 1 streaming call"),
        "{}",
        refused.stderr
    );
    assert!(g.requests().iter().all(|r| !r.contains("chat")), "{:?}", g.requests());

    let mut with_yes = smoke.to_vec();
    with_yes.push("--yes");
    let r = run_ok(&cli, &with_yes);
    assert!(r.stdout.contains("result: passed"), "{}", r.stdout);
    assert!(r.stdout.contains("paid calls: 7 made, 6 ok"), "{}", r.stdout);
    assert!(r.stdout.contains("expected cost at list prices: 0.00035 USD"), "{}", r.stdout);
    assert!(r.stdout.contains("multiplier 1.50"), "{}", r.stdout);
    assert!(r.stdout.contains("saved as evidence #4 on paid.calls"), "{}", r.stdout);
    let bp: i64 = cli.db().query_row("SELECT multiplier_bp FROM source_price_baselines", [], |r| r.get(0)).unwrap();
    assert!((14_900..=15_100).contains(&bp), "{bp}");

    let md = cli.data_dir.path().join("report.md");
    let r = run_ok(&cli, &["check", "report", &id, "--format", "md", "--out", md.to_str().unwrap()]);
    assert!(r.stdout.contains("wrote"), "{}", r.stdout);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.starts_with("# Gateway check: Fake gateway\n"), "{text}");
    assert!(text.contains("## Verdict: Usable as an OpenAI-compatible gateway; authorization not proven"), "{text}");
    assert!(text.contains("- Unknown: Does it say that your prompts are not used for training?"), "{text}");
    assert!(text.contains("| Price multiplier (billed ÷ expected) | 1.50"), "{text}");
    assert!(text.contains("receipt.pdf"), "{text}");
    let html = cli.data_dir.path().join("report.html");
    run_ok(&cli, &["check", "report", &id, "--format", "html", "--out", html.to_str().unwrap()]);
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>") && text.contains("<style>") && !text.contains("<script"), "{text}");

    let list = run_ok(&cli, &["check", "list", "--json"]).json();
    assert_eq!(list[0]["evidence_count"], 4);
    assert_eq!(list[0]["integrity_problems"], 0);

    let copy = run_ok(&cli, &["check", "duplicate", &id]).stdout.trim().to_owned();
    assert_eq!(copy, "2");

    // Tamper with the stored receipt: both assessments flag it.
    let show = run_ok(&cli, &["check", "show", &id, "--json"]).json();
    let receipt_ev = show["evidence"].as_array().unwrap().iter().find(|e| e["name"] == "receipt.pdf").unwrap().clone();
    let stored = receipt_ev["path"].as_str().unwrap();
    assert!(stored.contains("/evidence/"), "{stored}");
    std::fs::write(stored, b"%PDF-1.4 receipt for 50.00 USD").unwrap();
    let r = run_ok(&cli, &["check", "show", &id]);
    assert!(r.stdout.contains("receipt.pdf") && r.stdout.contains("integrity=CHANGED"), "{}", r.stdout);
    assert!(r.stderr.contains("1 evidence file(s) changed, missing or damaged"), "{}", r.stderr);
    let r = run_ok(&cli, &["check", "show", &copy, "--json"]).json();
    assert_eq!(r["integrity_problems"], 1);
    let r = run_ok(&cli, &["check", "report", &id, "--format", "md", "--out", md.to_str().unwrap()]);
    assert!(r.stderr.contains("changed, missing or damaged"), "{}", r.stderr);
    assert!(std::fs::read_to_string(&md).unwrap().contains("CHANGED since attached"));

    cli.assert_key_in_no_file(GW_KEY);
}

#[test]
fn a_missing_key_variable_and_an_unknown_assessment_are_clear_errors() {
    let (cli, _g) = cli_and_gateway();
    let r = cli.run(&["check", "show", "7"]).failed();
    assert!(r.stderr.contains("no gateway assessment has id 7"), "{}", r.stderr);
    run_ok(&cli, &["check", "new", "--name", "x", "--base-url", "http://127.0.0.1:9/v1"]);
    let r = cli.run(&["check", "smoke", "1", "--key-env", "CHECK_UNSET_VAR", "--yes"]).failed();
    assert!(r.stderr.contains("CHECK_UNSET_VAR is not set"), "{}", r.stderr);
    let r = cli.run(&["check", "new", "--name", "x", "--base-url", "not a url"]).failed();
    assert!(r.stderr.contains("is not a usable URL"), "{}", r.stderr);
}

/// On a terminal (a pty from script(1)) the paid test shows its plan and asks; "n" sends nothing.
#[test]
fn on_a_terminal_the_paid_test_asks_first() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) is not installed");
        return;
    }
    let (cli, g) = cli_and_gateway();
    let base = format!("{}/v1", g.url);
    run_ok(&cli, &["check", "new", "--name", "tty", "--base-url", &base]);
    let cmdline = format!(
        "{} --data-dir {} check smoke 1 --key-env CHECK_GW_KEY --calls 2 --model gpt-4o",
        env!("CARGO_BIN_EXE_burnrate"),
        cli.data_dir.path().display()
    );
    for (answer, sends) in [("n\n", false), ("y\n", true)] {
        let mut child = Command::new("script")
            .args(["-qec", &cmdline, "/dev/null"])
            .envs(cli.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("BURNRATE_DATA_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("send these paid requests? [y/N]"), "{text}");
        assert!(!text.contains(GW_KEY));
        let chats = g.requests().iter().filter(|r| r.contains("chat")).count();
        if sends {
            assert!(out.status.success() && text.contains("result: passed"), "{text}");
            assert_eq!(chats, 5, "2 calls, 1 stream, unknown model, bad key");
        } else {
            assert!(!out.status.success() && text.contains("nothing was sent"), "{text}");
            assert_eq!(chats, 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn recheck_notices_a_changed_terms_page_and_exits_3() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let page = |text: &str| ResponseTemplate::new(200).set_body_raw(format!("<p>{text}</p>"), "text/html");
    Mock::given(method("GET")).and(path("/terms")).respond_with(page("Refunds within 14 days.")).mount(&server).await;
    let cli = Cli::new();
    let id = cli.run(&["check", "new", "--name", "gw", "--base-url", "https://gw.example/v1"]).ok().stdout;
    let id = id.trim();
    let url = format!("{}/terms", server.uri());
    cli.run(&["check", "attach", id, "payment.receipts", "--url", &url]).ok();
    let out = cli.run(&["check", "recheck", id]).ok().stdout;
    assert!(out.contains("first fetch"), "{out}");
    assert!(cli.run(&["check", "recheck"]).ok().stdout.contains(": unchanged"));

    server.reset().await;
    Mock::given(method("GET")).and(path("/terms")).respond_with(page("No refunds.")).mount(&server).await;
    let run = cli.run(&["check", "recheck", id]);
    assert_eq!(run.code, 3, "{} {}", run.stdout, run.stderr);
    assert!(run.stdout.contains("CHANGED"), "{}", run.stdout);
    let alerts = cli.run(&["alerts", "--json"]).ok().json();
    assert_eq!(alerts.as_array().unwrap().iter().filter(|a| a["kind"] == "terms_changed").count(), 1, "{alerts}");
    let show = cli.run(&["check", "show", id, "--json"]).ok().json();
    assert_eq!(show["pages_changed"], 1);
}

#[test]
fn edit_changes_what_is_given_and_keeps_the_rest() {
    let cli = Cli::new();
    let id = cli
        .run(&["check", "new", "--name", "gw", "--base-url", "https://gw.example/v1", "--claim", "Authorized reseller"])
        .ok()
        .stdout;
    let id = id.trim();
    cli.run(&["check", "answer", id, "keys.per_account", "pass"]).ok();
    let out = cli.run(&["check", "edit", id, "--recheck-days", "30"]).ok().stdout;
    assert!(out.contains("Authorized reseller"), "the claim stays: {out}");
    let v = cli.run(&["check", "edit", id, "--claim", "openai_compatible", "--json"]).ok().json();
    assert_eq!(
        (v["claim"]["kind"].as_str(), v["recheck_after_days"].as_u64(), v["name"].as_str()),
        (Some("openai_compatible"), Some(30), Some("gw"))
    );
    let answered = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap())
        .filter(|q| q["answer"] == "pass")
        .count();
    assert_eq!(answered, 1, "answers are kept");
    let bad = cli.run(&["check", "edit", id, "--source", "nope"]).failed();
    assert!(bad.stderr.contains("nope"), "{}", bad.stderr);

    // Detach one evidence item by its id.
    let ev = cli.run(&["check", "attach", id, "scope.providers", "--note", "wrong gateway"]).ok();
    let show = cli.run(&["check", "show", id, "--json"]).ok().json();
    let ev_id = show["evidence"][0]["id"].as_i64().unwrap().to_string();
    assert!(!ev.stdout.is_empty());
    let out = cli.run(&["check", "detach", id, &ev_id]).ok().stdout;
    assert!(out.contains("0 items left"), "{out}");
    assert!(cli.run(&["check", "detach", id, &ev_id]).failed().stderr.contains("has no evidence"));
}
