//! The composition root: a [`Burnrate`] built from the running process (its environment,
//! clock, OS secret store and data directory). The CLI and the desktop shell both start here,
//! so they read the same variables the same way; tests build a `Burnrate` from parts instead.
//!
//! Variables read: `BURNRATE_DATA_DIR` (unless a data directory is given), `BURNRATE_NOW` (a
//! fixed clock, RFC 3339), `BURNRATE_KEYRING` (`default`, `secret-service`, `keyutils`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::api::Burnrate;
use crate::clock;
use crate::environment::{Environment, ProcessEnv};
use crate::error::Result;
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
