//! The process environment, injected: core code reads variables only through [`Environment`],
//! so tests supply a map and nothing depends on the real environment by accident. This module
//! and [`crate::clock`] are the only places that touch the process's environment and clock.

use std::collections::HashMap;

/// Reads environment variables. Injected so core code never touches the process environment
/// directly and tests can supply their own.
pub trait Environment: Send + Sync {
    fn var(&self, name: &str) -> Option<String>;
    /// The system's IANA time zone name (e.g. `Europe/Berlin`), when it can be found. Budget
    /// periods follow it when the `time_zone` setting is `local`.
    fn system_time_zone(&self) -> Option<String> {
        None
    }
}

/// The real process environment.
pub struct ProcessEnv;
#[allow(clippy::disallowed_methods, reason = "the one reader of the process environment")]
impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    /// `TZ` when it holds a zone name (POSIX allows a leading ':'), else the system's setting
    /// (`/etc/localtime` on Linux, the registry on Windows, …) through `iana-time-zone`.
    fn system_time_zone(&self) -> Option<String> {
        let from_tz = std::env::var("TZ").ok().map(|v| v.trim().trim_start_matches(':').to_owned());
        from_tz.filter(|v| v.contains('/') || v == "UTC").or_else(|| iana_time_zone::get_timezone().ok())
    }
}

/// A map as the environment (tests); `TZ` in it is the system time zone.
impl Environment for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
    fn system_time_zone(&self) -> Option<String> {
        self.get("TZ").cloned()
    }
}
