//! What the LiteLLM modules share: the endpoints' names, the page guard and the error for an
//! answer Burnrate cannot use.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::{Error, ErrorCode, Result};
use crate::money::decimal_to_micros;

pub(super) const ACTIVITY: &str = "GET /user/daily/activity";
pub(super) const KEY_LIST: &str = "GET /key/list";
pub(super) const KEY_INFO: &str = "GET /key/info";
/// A guard against a server that never stops saying more pages follow.
pub(super) const MAX_PAGES: i64 = 10_000;

pub(super) fn unreadable(endpoint: &str, detail: String) -> Error {
    Error::new(
        ErrorCode::UnexpectedResponse,
        format!("LiteLLM proxy sent a response Burnrate cannot use at {endpoint} ({detail}); nothing was written"),
    )
}

/// The float as the shortest decimal that round-trips, i.e. the number as the proxy wrote it.
pub(super) fn decimal(v: f64) -> Result<Decimal> {
    if !v.is_finite() {
        return Err(unreadable(ACTIVITY, format!("spend {v} is not a number")));
    }
    // Most amounts have at most six decimals. If `m / 10⁶` reads back as `v`, it has the value
    // of the shortest round-trip decimal: that one has no more digits, so no more decimals
    // either, and below 10⁹ two six-decimal numbers never share a float. Only the scale of the
    // result (trailing zeros) can differ, and nothing here depends on it.
    if v.abs() < 1e9 {
        let m = (v * 1e6).round();
        if m / 1e6 == v {
            return Ok(Decimal::new(m as i64, 6));
        }
    }
    // Printed on the stack: this runs for every entry of every page.
    let mut text = ShortText::default();
    let parsed = match write!(text, "{v}") {
        Ok(()) => Decimal::from_str(text.as_str()),
        Err(_) => Decimal::from_str(&v.to_string()),
    };
    parsed.map_err(|_| unreadable(ACTIVITY, format!("spend {v} is out of range")))
}

pub(super) fn micros(d: Decimal) -> Result<i64> {
    decimal_to_micros(d)
}

/// A `fmt::Write` target on the stack for short texts; writing more than fits is an error.
pub(super) struct ShortText {
    buf: [u8; 40],
    len: usize,
}

impl Default for ShortText {
    fn default() -> Self {
        ShortText { buf: [0; 40], len: 0 }
    }
}

impl ShortText {
    fn as_str(&self) -> &str {
        // Only whole `str`s are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for ShortText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
