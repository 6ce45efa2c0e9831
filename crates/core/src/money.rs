//! Money is an integer count of micro-units (10⁻⁶) of a named ISO-4217 currency. Never a
//! float: provider amounts are parsed from their decimal text, and sums are only ever taken
//! within one currency.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Error, Result};

pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An upper-case ISO-4217 code such as `USD` or `CNY`. Stored inline: every spend row carries
/// one, and a heap string per row was a measurable part of ingesting large histories.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn usd() -> Self {
        Currency(*b"USD")
    }
    pub fn as_str(&self) -> &str {
        // Only ever built from three ASCII letters.
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Currency").field(&self.as_str()).finish()
    }
}

impl FromStr for Currency {
    type Err = Error;
    /// Accepts any case (`usd` from OpenAI) and normalises to upper case.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        match s.as_bytes() {
            &[a, b, c] if s.bytes().all(|c| c.is_ascii_alphabetic()) => {
                Ok(Currency([a.to_ascii_uppercase(), b.to_ascii_uppercase(), c.to_ascii_uppercase()]))
            }
            _ => Err(Error::invalid_input(format!("{s:?} is not an ISO-4217 currency code such as USD"))),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a decimal string ("12.345678", "-0.5", "1e-3") into micro-units, rounding half away
/// from zero at the sixth place.
pub fn parse_micros(text: &str) -> Result<i64> {
    let text = text.trim();
    let d = Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| Error::invalid_input(format!("{text:?} is not a decimal amount")))?;
    decimal_to_micros(d)
}

/// Scales a decimal amount that is in `1/divisor` units (e.g. cents: divisor 100) to micros.
pub fn parse_scaled_micros(text: &str, divisor: u32) -> Result<i64> {
    let text = text.trim();
    let d = Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| Error::invalid_input(format!("{text:?} is not a decimal amount")))?;
    decimal_to_micros(d / Decimal::from(divisor))
}

/// Converts a JSON number to micros exactly as written in the JSON text. serde_json hands us an
/// `f64`; Rust prints an `f64` as the shortest decimal that round-trips, which is the text the
/// provider sent for any amount with up to 15 significant digits.
pub fn json_number_to_micros(value: f64) -> Result<i64> {
    if !value.is_finite() {
        return Err(Error::invalid_input("amount is not a finite number"));
    }
    parse_micros(&value.to_string())
}

/// Rounds a decimal amount to micros (half away from zero); an error when out of range.
pub fn decimal_to_micros(d: Decimal) -> Result<i64> {
    // Six places or fewer: already exact micros, nothing to round.
    if d.scale() <= 6 {
        let exact = d.mantissa().checked_mul(10i128.pow(6 - d.scale())).and_then(|m| i64::try_from(m).ok());
        if let Some(micros) = exact {
            return Ok(micros);
        }
    }
    let out_of_range = || Error::invalid_input(format!("amount {d} is out of range"));
    // checked: a 28-digit amount overflows Decimal itself when scaled.
    let micros = d
        .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
        .checked_mul(Decimal::from(MICROS_PER_UNIT))
        .ok_or_else(out_of_range)?;
    i64::try_from(micros).map_err(|_| out_of_range())
}

/// Formats micros as a decimal string with six places: `12345678` -> `"12.345678"`.
pub fn format_micros(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06}", abs / MICROS_PER_UNIT as u64, abs % MICROS_PER_UNIT as u64)
}

/// The error of a sum that does not fit: only rows stored before Burnrate refused implausible
/// amounts at ingest can cause it, so it says how to get rid of them.
pub fn sum_overflow() -> Error {
    Error::new(
        crate::error::ErrorCode::ImplausibleAmount,
        "the ledger holds amounts too large to add up, from a sync or import before Burnrate refused implausible \
         amounts; find the source with burnrate report daily --by source --json, then remove it (burnrate source \
         remove NAME) and add it again",
    )
}

/// The sum of `amounts` in micro-units, or [`sum_overflow`] when it does not fit.
pub fn checked_sum(amounts: impl IntoIterator<Item = i64>) -> Result<i64> {
    amounts.into_iter().try_fold(0i64, |sum, m| sum.checked_add(m)).ok_or_else(sum_overflow)
}

/// Formats micros as the shortest exact decimal: `5000000000000` -> `"5000000"`, `1500000` -> `"1.5"`.
pub fn format_decimal_trimmed(micros: i64) -> String {
    let full = format_micros(micros);
    full.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Formats for people: two places (more when the amount is below a cent), with the currency.
pub fn format_human(micros: i64, currency: &str) -> String {
    let full = format_micros(micros);
    let (int, frac) = full.split_once('.').expect("format_micros always has a point");
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_owned() };
    format!("{int}.{frac} {currency}")
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-12_345), "-12,345");
    }

    #[test]
    fn decimal_strings_parse_exactly() {
        assert_eq!(parse_micros("12.345678").unwrap(), 12_345_678);
        assert_eq!(parse_micros("0.06").unwrap(), 60_000);
        assert_eq!(parse_micros("-1.5").unwrap(), -1_500_000);
        assert_eq!(parse_micros("110.00").unwrap(), 110_000_000);
        assert_eq!(parse_micros("1e-3").unwrap(), 1_000);
        assert!(parse_micros("abc").is_err());
        assert!(parse_micros("79228162514264337593543950335").is_err(), "too large: an error, not a panic");
    }

    #[test]
    fn rounding_is_half_away_from_zero_at_the_sixth_place() {
        assert_eq!(parse_micros("0.0000005").unwrap(), 1);
        assert_eq!(parse_micros("0.00000049").unwrap(), 0);
        assert_eq!(parse_micros("-0.0000005").unwrap(), -1);
    }

    #[test]
    fn cents_scale_to_dollars() {
        // Anthropic reports "123.78912" cents: $1.2378912 -> 1.237891
        assert_eq!(parse_scaled_micros("123.78912", 100).unwrap(), 1_237_891);
    }

    #[test]
    fn json_floats_keep_their_written_value() {
        // 0.1 + 0.2 style drift must not appear: each value converts as written.
        assert_eq!(json_number_to_micros(0.06).unwrap(), 60_000);
        assert_eq!(json_number_to_micros(74.5).unwrap(), 74_500_000);
        assert_eq!(json_number_to_micros(0.1).unwrap() + json_number_to_micros(0.2).unwrap(), 300_000);
        assert_eq!(json_number_to_micros(1234567.891234).unwrap(), 1_234_567_891_234);
    }

    #[test]
    fn formatting_round_trips() {
        for m in [0, 1, 999_999, 1_000_000, 12_345_678, -5, -1_000_001] {
            assert_eq!(parse_micros(&format_micros(m)).unwrap(), m);
        }
        assert_eq!(format_micros(12_345_678), "12.345678");
        assert_eq!(format_micros(-5), "-0.000005");
        assert_eq!(format_human(12_340_000, "USD"), "12.34 USD");
        assert_eq!(format_human(5_000, "USD"), "0.005 USD");
    }

    #[test]
    fn currencies_normalise_and_reject_junk() {
        assert_eq!("usd".parse::<Currency>().unwrap().as_str(), "USD");
        assert!("dollars".parse::<Currency>().is_err());
    }
}
