//! Helpers for driving the real `burnrate` binary against a real data directory and a
//! loopback mock provider.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const FAKE_KEY: &str = "sk-admin-FAKEFAKEFAKEFAKEFAKE0001";

pub fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The UTC day of a Unix time, `YYYY-MM-DD` (civil-from-days; no date crate in these tests).
pub fn utc_day(ts: i64) -> String {
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub struct Cli {
    pub data_dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
    pub fn failed(self) -> Self {
        assert_ne!(self.code, 0, "expected failure\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

impl Cli {
    pub fn new() -> Self {
        Cli {
            data_dir: tempfile::tempdir().unwrap(),
            env: vec![
                ("BURNRATE_TEST_OPENAI_KEY".into(), FAKE_KEY.into()),
                ("BURNRATE_NOW".into(), "2026-03-02T12:00:00Z".into()),
                // Alerts a test's data may fire are recorded, not sent to the machine's desktop.
                ("BURNRATE_NO_NOTIFY".into(), "1".into()),
            ],
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_burnrate"));
        cmd.arg("--data-dir").arg(self.data_dir.path()).args(args);
        cmd.env_remove("BURNRATE_DATA_DIR")
            .env_remove("BURNRATE_LOG")
            .env_remove("BURNRATE_NO_NOTIFY")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn burnrate");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out: Output = child.wait_with_output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(FAKE_KEY), "the key leaked into CLI output:\n{text}");
        }
        run
    }

    /// The rule every screen relies on: grouped by key, model, both or not at all, `report
    /// daily` adds up per day and currency to the same total as grouped by source. Spend a
    /// grouping cannot attribute is its own row, never dropped, never counted twice.
    pub fn assert_one_total_whatever_the_grouping(&self, from: &str, to: &str) {
        let totals = |by: &[&str]| -> std::collections::BTreeMap<(String, String), i64> {
            let mut args = vec!["report", "daily", "--from", from, "--to", to, "--json"];
            for b in by {
                args.extend(["--by", b]);
            }
            let mut out = std::collections::BTreeMap::new();
            for r in self.run(&args).ok().json().as_array().unwrap() {
                let s = |f: &str| r[f].as_str().unwrap().to_owned();
                *out.entry((s("day"), s("currency"))).or_default() += signed_micros(&s("amount"));
                if by.contains(&"key") && r["key_id"].is_null() {
                    assert_eq!(r["key_name"], "not attributed to a key", "{r}");
                }
                if by.contains(&"model") && r["model"].is_null() {
                    assert_eq!(r["model_name"], "not attributed to a model", "{r}");
                }
            }
            out
        };
        let reference = totals(&["source"]);
        assert!(!reference.is_empty(), "no spend from {from} to {to}");
        for by in [&[][..], &["key"], &["model"], &["key", "model"], &["source", "key", "model"]] {
            assert_eq!(totals(by), reference, "grouped by {by:?}");
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.path().join("ledger.sqlite3")
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db_path()).unwrap()
    }

    /// Asserts that no file under the data directory contains the key.
    pub fn assert_key_in_no_file(&self, key: &str) {
        let mut stack = vec![self.data_dir.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    let hit = bytes.windows(key.len()).any(|w| w == key.as_bytes());
                    assert!(!hit, "the key was written to {}", path.display());
                }
            }
        }
    }
}

/// The usage and project endpoints the connector also reads, answering "nothing" (these
/// tests are about costs; tests/provider_openai.rs covers the rest). Priority 1 so they win
/// over a test's catch-all mocks.
pub async fn mount_empty_usage_and_projects(server: &MockServer) {
    let empty_page = r#"{"object":"page","data":[],"has_more":false,"next_page":null}"#;
    for p in ["/v1/organization/usage/completions", "/v1/organization/usage/embeddings"] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_raw(empty_page, "application/json"))
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v1/organization/projects"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"object":"list","data":[],"has_more":false}"#, "application/json"),
        )
        .with_priority(1)
        .mount(server)
        .await;
}

/// A loopback TCP front for the mock: connections are piped to it untouched, except that the
/// next `cut` connections get a response that promises 4000 bytes and hangs up after a few.
/// (wiremock cannot send that: hyper refuses a body shorter than its content-length.)
pub struct TruncatingFront {
    pub url: String,
    pending_cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TruncatingFront {
    pub fn start(upstream: std::net::SocketAddr, partial_body: &'static str) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let pending_cuts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let cuts = pending_cuts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut client) = stream else { continue };
                if cuts.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    let mut buf = [0u8; 8192];
                    let _ = client.read(&mut buf);
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n";
                    let _ = client.write_all(format!("{head}{partial_body}").as_bytes());
                    continue; // dropping the stream hangs up mid-body
                }
                let Ok(server) = std::net::TcpStream::connect(upstream) else { continue };
                let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let (mut s_in, mut c_out) = (server, client);
                    let _ = std::io::copy(&mut s_in, &mut c_out);
                    let _ = c_out.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        TruncatingFront { url, pending_cuts }
    }

    /// Cuts the next new connection's response.
    pub fn cut_next_connection(&self) {
        self.pending_cuts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// "-12.345678" → -12345678.
pub fn signed_micros(text: &str) -> i64 {
    let (sign, digits) = text.strip_prefix('-').map_or((1, text), |t| (-1, t));
    let (units, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(frac.len() <= 6, "{text}");
    sign * (units.parse::<i64>().unwrap() * 1_000_000 + format!("{frac:0<6}").parse::<i64>().unwrap())
}

/// A mock OpenAI organisation serving `costs` as its costs after `delay` (a slow provider, to
/// hold a sync open); every other endpoint answers an empty page.
pub async fn openai_costs_after(costs: String, delay: std::time::Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(costs, "application/json").set_delay(delay))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"object":"page","data":[],"has_more":false,"next_page":null}"#, "application/json"),
        )
        .mount(&server)
        .await;
    server
}

/// Adds an OpenAI source `name` polling `server`, its key read from BURNRATE_TEST_OPENAI_KEY.
pub fn add_openai_source(cli: &Cli, name: &str, server: &MockServer) {
    let url = format!("{}/v1", server.uri());
    cli.run(&["source", "add", "openai", "--name", name, "--base-url", &url, "--key-env", "BURNRATE_TEST_OPENAI_KEY"])
        .ok();
}
