//! Provider-specific, non-secret settings of a source (a relay's quota unit, a custom
//! endpoint's JSON pointer, …). Each provider declares what it accepts; anything else is
//! refused when the source is added, so a typo never silently does nothing.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::money::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SettingKind {
    Text,
    /// A positive decimal number, e.g. a unit divisor.
    Decimal,
    /// An ISO-4217 code such as USD.
    Currency,
    /// An RFC 6901 JSON pointer such as `/data/balance`.
    JsonPointer,
    /// An HTTP header name.
    Header,
    /// An absolute http(s) URL.
    Url,
}

/// One setting a provider accepts, for validation, the CLI's help and the UI's form.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SettingSpec {
    pub key: String,
    pub label: String,
    pub help: String,
    pub kind: SettingKind,
    pub required: bool,
    /// Used when the setting is absent.
    pub default: Option<String>,
}

impl SettingSpec {
    pub fn new(key: &str, label: &str, kind: SettingKind, help: &str) -> Self {
        SettingSpec { key: key.into(), label: label.into(), help: help.into(), kind, required: false, default: None }
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn default(mut self, value: &str) -> Self {
        self.default = Some(value.into());
        self
    }
}

/// A source's settings as given, with the provider's defaults applied on read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    values: BTreeMap<String, String>,
    #[serde(skip)]
    defaults: BTreeMap<String, String>,
}

impl Settings {
    /// Validates `values` against `specs`: unknown keys, missing required ones and badly
    /// formed values are errors that name the setting and say what is expected.
    pub fn validate(values: BTreeMap<String, String>, specs: &[SettingSpec], provider: &str) -> Result<Self> {
        for key in values.keys() {
            if !specs.iter().any(|s| &s.key == key) {
                let known: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
                return Err(Error::invalid_input(if known.is_empty() {
                    format!("{provider} takes no settings, but {key:?} was given")
                } else {
                    format!("{provider} has no setting {key:?}; it accepts: {}", known.join(", "))
                }));
            }
        }
        for spec in specs {
            match values.get(&spec.key).map(|v| v.trim()) {
                None | Some("") if spec.required => {
                    return Err(Error::invalid_input(format!(
                        "{provider} needs the setting {} ({}); pass --set {}=…",
                        spec.key, spec.help, spec.key
                    )))
                }
                Some(v) if !v.is_empty() => check_kind(spec, v)?,
                _ => {}
            }
        }
        Ok(Self::with_defaults(values, specs))
    }

    /// Settings as stored, with defaults from `specs` (no validation: they were validated on add).
    pub fn with_defaults(values: BTreeMap<String, String>, specs: &[SettingSpec]) -> Self {
        let values =
            values.into_iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (k, v.trim().to_owned())).collect();
        let defaults = specs.iter().filter_map(|s| s.default.clone().map(|d| (s.key.clone(), d))).collect();
        Settings { values, defaults }
    }

    /// The values the user gave (what is stored).
    pub fn given(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).or_else(|| self.defaults.get(key)).map(String::as_str)
    }

    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| {
            Error::invalid_input(format!("the setting {key} is missing; add the source again with --set {key}=…"))
        })
    }

    pub fn decimal(&self, key: &str) -> Result<Option<Decimal>> {
        self.get(key).map(|v| parse_decimal(key, v)).transpose()
    }

    pub fn currency(&self, key: &str) -> Result<Option<Currency>> {
        self.get(key).map(Currency::from_str).transpose()
    }
}

fn parse_decimal(key: &str, v: &str) -> Result<Decimal> {
    let d = Decimal::from_str(v)
        .or_else(|_| Decimal::from_scientific(v))
        .map_err(|_| Error::invalid_input(format!("setting {key}={v:?} is not a number")))?;
    if d <= Decimal::ZERO {
        return Err(Error::invalid_input(format!("setting {key}={v} must be greater than zero")));
    }
    Ok(d)
}

fn check_kind(spec: &SettingSpec, v: &str) -> Result<()> {
    let key = &spec.key;
    match spec.kind {
        SettingKind::Text => Ok(()),
        SettingKind::Decimal => parse_decimal(key, v).map(drop),
        SettingKind::Currency => Currency::from_str(v).map(drop),
        SettingKind::JsonPointer if v.starts_with('/') => Ok(()),
        SettingKind::JsonPointer => Err(Error::invalid_input(format!(
            "setting {key}={v:?} is not a JSON pointer; it starts with '/', e.g. /data/balance"
        ))),
        SettingKind::Header
            if !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(())
        }
        SettingKind::Header => {
            Err(Error::invalid_input(format!("setting {key}={v:?} is not an HTTP header name, e.g. Authorization")))
        }
        SettingKind::Url => crate::net::http_url(v)
            .map(drop)
            .map_err(|why| Error::invalid_input(format!("setting {key}={v:?} is not a usable http(s) URL ({why})"))),
    }
}

/// Parses `key=value` as given on the command line.
pub fn parse_assignment(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(Error::invalid_input(format!("{text:?} is not key=value, e.g. --set quota_per_usd=500000"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<SettingSpec> {
        vec![
            SettingSpec::new("pointer", "Pointer", SettingKind::JsonPointer, "where the number is").required(),
            SettingSpec::new("divisor", "Divisor", SettingKind::Decimal, "units per currency unit").default("1"),
        ]
    }

    #[test]
    fn valid_settings_get_defaults() {
        let s = Settings::validate([("pointer".to_string(), "/data/x".to_string())].into(), &specs(), "custom-json")
            .unwrap();
        assert_eq!(s.get("pointer"), Some("/data/x"));
        assert_eq!(s.decimal("divisor").unwrap(), Some(Decimal::ONE));
        assert_eq!(s.given().len(), 1);
    }

    #[test]
    fn mistakes_are_named() {
        let e = Settings::validate(BTreeMap::new(), &specs(), "custom-json").unwrap_err();
        assert!(e.message().contains("needs the setting pointer"), "{}", e.message());
        let e =
            Settings::validate([("ponter".to_string(), "/x".to_string())].into(), &specs(), "custom-json").unwrap_err();
        assert!(e.message().contains("accepts: pointer, divisor"), "{}", e.message());
        let e = Settings::validate([("pointer".to_string(), "data.x".to_string())].into(), &specs(), "custom-json")
            .unwrap_err();
        assert!(e.message().contains("not a JSON pointer"), "{}", e.message());
        let bad = [("pointer".to_string(), "/x".to_string()), ("divisor".to_string(), "-5".to_string())].into();
        assert!(Settings::validate(bad, &specs(), "custom-json").is_err());
        assert!(parse_assignment("novalue").is_err());
        assert_eq!(parse_assignment("a = b").unwrap(), ("a".into(), "b".into()));
    }
}
