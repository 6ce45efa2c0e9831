//! Support shared by the core's integration tests: the one harness that builds a [`Burnrate`]
//! over a real data directory ([`TestCore::builder`]), and small helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use burnrate_core::clock::{Clock, FixedClock};
use burnrate_core::paths::Paths;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::HttpClient;
use burnrate_core::secrets::{MemoryStore, SecretStore};
use burnrate_core::Burnrate;
use chrono::DateTime;

pub const NOW: &str = "2026-03-02T12:00:00Z";
/// The environment variable a linked relay source reads its key from.
pub const SOURCE_KEY_VAR: &str = "CHECK_TEST_RELAY_KEY";

/// Builds the [`Burnrate`] a test runs against; the only `Burnrate::new` of the core's tests.
///
/// Defaults: data in `dir`, the clock fixed at [`NOW`], no environment variables, an empty
/// [`MemoryStore`], and an HTTP client with a 5 s timeout that tries each request once.
///
/// ```ignore
/// let core = TestCore::builder(dir.path())
///     .now("2026-03-10T18:00:00Z")
///     .env(&[("CHART_FAKE_KEY", "sk-FAKE-chart-0000")])
///     .retry(RetryPolicy::default())
///     .build();
/// ```
pub struct TestCore;

impl TestCore {
    pub fn builder(dir: &Path) -> TestCoreBuilder {
        TestCoreBuilder {
            dir: dir.to_path_buf(),
            clock: Box::new(FixedClock(at(NOW))),
            env: HashMap::new(),
            secrets: Box::new(MemoryStore::default()),
            http_timeout: Duration::from_secs(5),
            retry: RetryPolicy { max_attempts: 1, ..RetryPolicy::default() },
        }
    }
}

pub struct TestCoreBuilder {
    dir: PathBuf,
    clock: Box<dyn Clock>,
    env: HashMap<String, String>,
    secrets: Box<dyn SecretStore>,
    http_timeout: Duration,
    retry: RetryPolicy,
}

impl TestCoreBuilder {
    /// The clock stands still at `rfc3339`.
    pub fn now(self, rfc3339: &str) -> Self {
        self.clock(FixedClock(at(rfc3339)))
    }

    /// Any clock, e.g. `SystemClock`.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Adds environment variables (the core reads no others).
    pub fn env(mut self, vars: &[(&str, &str)]) -> Self {
        self.env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    pub fn secrets(mut self, store: impl SecretStore + 'static) -> Self {
        self.secrets = Box::new(store);
        self
    }

    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn build(self) -> Burnrate {
        Burnrate::new(
            Paths::new(self.dir),
            self.clock,
            Box::new(self.env),
            self.secrets,
            HttpClient::new(self.http_timeout, self.retry).unwrap(),
        )
    }
}

/// `rfc3339` as a UTC time.
pub fn at(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&chrono::Utc)
}

pub struct Core {
    pub dir: tempfile::TempDir,
    pub core: Burnrate,
}

/// A core at [`NOW`] over a fresh data directory, with these environment variables.
pub fn core_with_env(env: &[(&str, &str)]) -> Core {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path()).env(env).build();
    Core { dir, core }
}

pub fn core() -> Core {
    core_with_env(&[])
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
