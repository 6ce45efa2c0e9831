//! The injected clock. Core code asks a [`Clock`] for the time, so tests and scripted checks
//! (`BURNRATE_NOW`) can replay any moment.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;
impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "the one reading of the system clock")]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant.
pub struct FixedClock(pub DateTime<Utc>);
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The clock for a process: fixed at `BURNRATE_NOW` (RFC 3339) when that is set, else the system clock.
pub fn from_env_value(value: Option<&str>) -> Result<Box<dyn Clock>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(Box::new(SystemClock)),
        Some(v) => {
            let t = DateTime::parse_from_rfc3339(v).map_err(|e| {
                Error::invalid_input(format!(
                    "BURNRATE_NOW={v:?} is not an RFC 3339 time ({e}); use e.g. 2026-03-31T12:00:00Z"
                ))
            })?;
            Ok(Box::new(FixedClock(t.with_timezone(&Utc))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burnrate_now_fixes_the_clock() {
        let c = from_env_value(Some("2026-03-31T12:00:00+02:00")).unwrap();
        assert_eq!(c.now().to_rfc3339(), "2026-03-31T10:00:00+00:00");
        assert!(from_env_value(Some("yesterday")).is_err());
        assert!(from_env_value(None).is_ok());
    }
}
