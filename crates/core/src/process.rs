//! The composition root: a [`Burnrate`] built from the running process (its environment,
//! clock, OS secret store and data directory). The CLI and the desktop shell both start here,
//! so they read the same variables the same way; tests build a `Burnrate` from parts instead.
//!
//! Variables read: `BURNRATE_DATA_DIR` (unless a data directory is given), `BURNRATE_NOW` (a
//! fixed clock, RFC 3339), `BURNRATE_KEYRING` (`default`, `secret-service`, `keyutils`),
//! `BURNRATE_BUSY_TIMEOUT_MS` (how long to wait for another process writing the ledger; see
//! [`crate::busy_timeout`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::api::Burnrate;
use crate::busy_timeout::{self, BUSY_TIMEOUT_ENV};
use crate::clock;
use crate::environment::{Environment, ProcessEnv};
use crate::error::{Error, Result};
use crate::notify::Notifier;
use crate::paths::Paths;
use crate::providers::http::{HttpClient, RetryPolicy};
use crate::secrets::{KeyringBackend, OsKeyring};

/// What a process decides for itself; everything else comes from its environment.
pub struct ProcessOptions {
    /// The data directory given on the command line; None: `BURNRATE_DATA_DIR`, else the
    /// platform's data directory.
    pub data_dir: Option<PathBuf>,
    /// How long to wait for a provider before giving up on a request.
    pub http_timeout: Duration,
    pub retry: RetryPolicy,
    /// Where alerts are shown; None: recorded only (servers, scripts, `--no-notify`).
    pub notifier: Option<Arc<dyn Notifier>>,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            data_dir: None,
            http_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            notifier: None,
        }
    }
}

impl Burnrate {
    /// Builds the operations for this process. Fails with a message naming the variable when
    /// `BURNRATE_NOW` or `BURNRATE_KEYRING` holds something unusable, or when no data
    /// directory can be found.
    pub fn from_process(options: ProcessOptions) -> Result<Burnrate> {
        let env = ProcessEnv;
        let data_dir = options.data_dir.or_else(|| env.var("BURNRATE_DATA_DIR").map(PathBuf::from));
        let backend = KeyringBackend::parse(&env.var("BURNRATE_KEYRING").unwrap_or_default())?;
        if let Some(wait) = busy_timeout_from_env(env.var(BUSY_TIMEOUT_ENV).as_deref())? {
            busy_timeout::set_busy_timeout(wait);
        }
        let core = Burnrate::new(
            Paths::resolve(data_dir)?,
            clock::from_env_value(env.var("BURNRATE_NOW").as_deref())?,
            Box::new(env),
            Box::new(OsKeyring::new(backend)),
            HttpClient::new(options.http_timeout.max(Duration::from_secs(1)), options.retry)?,
        );
        Ok(match options.notifier {
            Some(notifier) => core.with_notifier(notifier),
            None => core,
        })
    }
}

/// The wait `BURNRATE_BUSY_TIMEOUT_MS` asks for: None when unset or empty, an error naming the
/// variable when it is not a whole number of milliseconds (up to about 49 days).
fn busy_timeout_from_env(value: Option<&str>) -> Result<Option<Duration>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<u32>().map(|ms| Some(Duration::from_millis(u64::from(ms)))).map_err(|_| {
            Error::invalid_input(format!(
                "{BUSY_TIMEOUT_ENV}={v:?} is not a number of milliseconds; unset it to wait the default {}",
                busy_timeout::describe(busy_timeout::DEFAULT_BUSY_TIMEOUT)
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_timeout_variable_holds_milliseconds_or_is_refused_by_name() {
        assert_eq!(busy_timeout_from_env(None).unwrap(), None);
        assert_eq!(busy_timeout_from_env(Some(" ")).unwrap(), None);
        assert_eq!(busy_timeout_from_env(Some(" 400 ")).unwrap(), Some(Duration::from_millis(400)));
        assert_eq!(busy_timeout_from_env(Some("0")).unwrap(), Some(Duration::ZERO));
        for bad in ["soon", "-5", "1.5", "99999999999"] {
            let e = busy_timeout_from_env(Some(bad)).unwrap_err();
            assert!(e.message().starts_with("BURNRATE_BUSY_TIMEOUT_MS="), "{bad}: {e}");
            assert!(e.message().ends_with("the default 30 s"), "{bad}: {e}");
        }
    }
}
