//! The bearer token that guards `burnrate serve`: where it comes from (an environment variable
//! named on the command line, or one fixed entry in the OS secret store), and how a presented
//! token is checked (in constant time). The token is registered with the redactor as soon as it
//! is read, so no log line or error can carry it.

use std::net::SocketAddr;

use subtle::ConstantTimeEq;

use crate::api::Burnrate;
use crate::error::{Error, ErrorCode, Result};
use crate::redact::register_secret;
use crate::secrets::validate_env_var_name;

/// The secret store account the token is filed under (service `burnrate`).
pub const TOKEN_ACCOUNT: &str = "serve:token";

/// Shorter tokens are guessable and would not be redacted (the redactor ignores values under
/// 8 characters because they would blank ordinary words).
pub const MIN_TOKEN_CHARS: usize = 16;

/// A token `burnrate serve` requires. Its `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken(String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(…)")
    }
}

impl BearerToken {
    /// Checks a token's shape and registers it with the redactor.
    pub fn new(token: &str) -> Result<Self> {
        let token = token.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(Error::invalid_input(format!(
                "the serve token is shorter than {MIN_TOKEN_CHARS} characters; use a long random one, e.g. \
                 `openssl rand -hex 32`"
            )));
        }
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::invalid_input(
                "the serve token has spaces, control or non-ASCII characters, which an HTTP header cannot carry; \
                 use e.g. `openssl rand -hex 32`",
            ));
        }
        register_secret(token);
        Ok(BearerToken(token.to_owned()))
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`. The comparison takes
    /// the same time wherever the first difference is (only the length can be told apart).
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else { return false };
        let Some(presented) = strip_bearer(value) else { return false };
        bool::from(presented.ct_eq(self.0.as_bytes()))
    }
}

/// The credentials of `Bearer <credentials>` (the scheme is case-insensitive, RFC 9110 §11.1).
fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then(|| rest.trim_ascii())
}

impl Burnrate {
    /// Files the serve token in the OS secret store (`burnrate serve --store-token`).
    pub fn store_serve_token(&self, token: &str) -> Result<()> {
        let token = BearerToken::new(token)?;
        self.secrets.set(TOKEN_ACCOUNT, &token.0)
    }

    /// Removes the stored serve token (nothing to remove is fine).
    pub fn forget_serve_token(&self) -> Result<()> {
        self.secrets.delete(TOKEN_ACCOUNT)
    }

    /// The token `serve` requires: from the environment variable `token_env` when given (it
    /// must be set), else the one in the secret store, else none. An unreachable secret store
    /// counts as none here; [`check_listen`] then refuses any address but loopback.
    pub fn serve_token(&self, token_env: Option<&str>) -> Result<Option<BearerToken>> {
        if let Some(var) = token_env {
            validate_env_var_name(var)?;
            return match self.env.var(var).filter(|t| !t.trim().is_empty()) {
                Some(token) => BearerToken::new(&token).map(Some),
                None => Err(Error::new(
                    ErrorCode::KeyMissing,
                    format!(
                        "environment variable {var} (--token-env) is not set or empty; set it to the token where \
                         `burnrate serve` starts (export {var}=…, or the systemd unit's EnvironmentFile), or drop \
                         --token-env to use the token stored with --store-token"
                    ),
                )),
            };
        }
        match self.secrets.get(TOKEN_ACCOUNT) {
            Ok(token) => BearerToken::new(&token).map(Some),
            Err(e) if matches!(e.code, ErrorCode::KeyMissing | ErrorCode::SecretStoreUnavailable) => {
                tracing::info!(code = ?e.code, "no serve token in the secret store; serving without one");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Refuses to expose the figures beyond this machine without a token.
pub fn check_listen(listen: SocketAddr, token: Option<&BearerToken>) -> Result<()> {
    if token.is_some() || listen.ip().is_loopback() {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "refusing to serve on {listen} without a token: anyone who can reach that address could read your spend. \
         Set a token: store one with `openssl rand -hex 32 | burnrate serve --store-token`, or put it in an \
         environment variable and pass --token-env VAR; or listen on loopback (--listen 127.0.0.1:9464)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-FAKEFAKEFAKEFAKE-0123456789";

    #[test]
    fn only_the_exact_token_after_bearer_is_admitted() {
        let t = BearerToken::new(TOKEN).unwrap();
        assert!(t.admits(Some(format!("Bearer {TOKEN}").as_bytes())));
        assert!(t.admits(Some(format!("bearer  {TOKEN} ").as_bytes())));
        for wrong in [
            String::new(),
            TOKEN.to_owned(),
            format!("Basic {TOKEN}"),
            format!("Bearer {TOKEN}x"),
            format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
            "Bearer ".to_owned(),
        ] {
            assert!(!t.admits(Some(wrong.as_bytes())), "{wrong:?}");
        }
        assert!(!t.admits(None));
    }

    #[test]
    fn short_or_unprintable_tokens_are_refused_and_debug_hides_the_token() {
        assert!(BearerToken::new("short").is_err());
        assert!(BearerToken::new("has a space in it, long enough").is_err());
        let t = BearerToken::new(TOKEN).unwrap();
        assert!(!format!("{t:?}").contains(TOKEN));
        assert!(!crate::redact::redact(&format!("got {TOKEN}")).contains(TOKEN));
    }

    #[test]
    fn only_loopback_may_go_without_a_token() {
        let token = BearerToken::new(TOKEN).unwrap();
        for ok in ["127.0.0.1:9464", "[::1]:9464", "127.0.0.1:0"] {
            check_listen(ok.parse().unwrap(), None).unwrap();
        }
        for open in ["0.0.0.0:9464", "192.168.1.5:9464", "[::]:9464"] {
            let e = check_listen(open.parse().unwrap(), None).unwrap_err();
            assert!(e.message().contains("--token-env"), "{e}");
            assert!(e.message().contains("--store-token"), "{e}");
            check_listen(open.parse().unwrap(), Some(&token)).unwrap();
        }
    }
}
