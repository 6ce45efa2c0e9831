//! How long a writer waits for another to finish with the ledger. A leaf: the connection
//! (`db`) waits this long and the error (`error`) that says the wait ran out names it.
//!
//! Several Burnrate processes may write one ledger: the desktop app's poller, `burnrate
//! watch`, a `burnrate sync` or `import` from a terminal. SQLite lets one write at a time;
//! the others wait. A poll's write is one short transaction: a first sync of 90 days × 250
//! keys (22,500 rows) is fetched and written in under a second, so 30 s covers a writer busy
//! with a poll many times larger, or a slow disk, and is still a wait someone at a terminal
//! sits through. A process holding the ledger longer than that is stuck or keeping a
//! transaction open, and saying so beats hanging.
//!
//! One value per process: the composition root ([`crate::process`]) sets it from
//! [`BUSY_TIMEOUT_ENV`], so a machine with a very slow disk can wait longer and tests shorter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The default wait; see the module's documentation for why 30 s.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The variable that overrides [`DEFAULT_BUSY_TIMEOUT`], in milliseconds.
pub const BUSY_TIMEOUT_ENV: &str = "BURNRATE_BUSY_TIMEOUT_MS";

static BUSY_TIMEOUT_MS: AtomicU64 = AtomicU64::new(DEFAULT_BUSY_TIMEOUT.as_millis() as u64);

/// The wait for the write lock in this process.
pub fn busy_timeout() -> Duration {
    Duration::from_millis(BUSY_TIMEOUT_MS.load(Ordering::Relaxed))
}

/// Sets the wait for connections opened from now on.
pub fn set_busy_timeout(wait: Duration) {
    BUSY_TIMEOUT_MS.store(wait.as_millis().min(u128::from(u32::MAX)) as u64, Ordering::Relaxed);
}

/// "30 s", "400 ms": the wait as the busy error states it.
pub fn describe(wait: Duration) -> String {
    if wait.as_millis() % 1000 == 0 {
        format!("{} s", wait.as_secs())
    } else {
        format!("{} ms", wait.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_stated_in_seconds_or_milliseconds() {
        assert_eq!(describe(DEFAULT_BUSY_TIMEOUT), "30 s");
        assert_eq!(describe(Duration::from_millis(400)), "400 ms");
    }
}
