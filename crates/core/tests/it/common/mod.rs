//! A Burnrate over a real data directory with a fixed clock, for the checklist tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use burnrate_core::clock::FixedClock;
use burnrate_core::paths::Paths;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::providers::HttpClient;
use burnrate_core::secrets::MemoryStore;
use burnrate_core::Burnrate;
use chrono::DateTime;

pub const NOW: &str = "2026-03-02T12:00:00Z";
/// The environment variable a linked relay source reads its key from.
pub const SOURCE_KEY_VAR: &str = "CHECK_TEST_RELAY_KEY";

pub struct Core {
    pub dir: tempfile::TempDir,
    pub core: Burnrate,
}

pub fn core_with_env(env: &[(&str, &str)]) -> Core {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let core = Burnrate::new(
        Paths::new(dir.path()),
        Box::new(FixedClock(DateTime::parse_from_rfc3339(NOW).unwrap().with_timezone(&chrono::Utc))),
        Box::new(env),
        Box::new(MemoryStore::default()),
        HttpClient::new(Duration::from_secs(5), RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }).unwrap(),
    );
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
