//! Where API keys live. A source's key is either in the OS secret store (Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows, through the `keyring` crate) or
//! named by an environment variable that is read at use and never stored. Keys never enter
//! SQLite: the ledger holds only how to find the key and its display fingerprint.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::environment::Environment;
use crate::error::{Error, ErrorCode, Result};
use crate::redact::register_secret;

/// The service name under which keys are filed in the OS secret store.
pub const KEYRING_SERVICE: &str = "burnrate";

/// A place to keep secrets by account name.
pub trait SecretStore: Send + Sync {
    fn set(&self, account: &str, secret: &str) -> Result<()>;
    fn get(&self, account: &str) -> Result<String>;
    fn delete(&self, account: &str) -> Result<()>;
}

/// Which OS secret store backend to use. On Linux the Secret Service (GNOME Keyring, KWallet)
/// is the default; the kernel keyutils store is for headless machines and lasts only as long
/// as the login session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringBackend {
    Default,
    #[cfg(target_os = "linux")]
    KeyUtils,
}

impl KeyringBackend {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "" | "default" | "secret-service" => Ok(Self::Default),
            #[cfg(target_os = "linux")]
            "keyutils" => Ok(Self::KeyUtils),
            other => Err(Error::invalid_input(format!(
                "unknown keyring backend {other:?}; use \"secret-service\" or \"keyutils\""
            ))),
        }
    }
}

/// The OS secret store, through the `keyring` crate.
pub struct OsKeyring {
    backend: KeyringBackend,
}

impl OsKeyring {
    pub fn new(backend: KeyringBackend) -> Self {
        OsKeyring { backend }
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        let entry = match self.backend {
            KeyringBackend::Default => keyring::Entry::new(KEYRING_SERVICE, account),
            #[cfg(target_os = "linux")]
            KeyringBackend::KeyUtils => {
                keyring::keyutils::KeyutilsCredential::new_with_target(None, KEYRING_SERVICE, account)
                    .map(|c| keyring::Entry::new_with_credential(Box::new(c)))
            }
        };
        entry.map_err(keyring_error)
    }
}

fn keyring_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoEntry => Error::new(
            ErrorCode::KeyMissing,
            "the OS secret store has no key for this source; remove the source and add it again with its key",
        ),
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => Error::new(
            ErrorCode::SecretStoreUnavailable,
            format!(
                "no OS secret store is reachable ({e}); unlock or start your keyring (e.g. GNOME Keyring), \
                 or keep the key in an environment variable and add the source with --key-env VAR"
            ),
        ),
        other => Error::new(ErrorCode::SecretStoreUnavailable, format!("the OS secret store failed: {other}")),
    }
}

impl SecretStore for OsKeyring {
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.entry(account)?.set_password(secret).map_err(keyring_error)
    }
    fn get(&self, account: &str) -> Result<String> {
        let secret = self.entry(account)?.get_password().map_err(keyring_error)?;
        register_secret(&secret);
        Ok(secret)
    }
    fn delete(&self, account: &str) -> Result<()> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// An in-memory store for tests and for the UI's mocked runs.
#[derive(Default)]
pub struct MemoryStore(Mutex<HashMap<String, String>>);

impl SecretStore for MemoryStore {
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.0.lock().unwrap().insert(account.to_owned(), secret.to_owned());
        Ok(())
    }
    fn get(&self, account: &str) -> Result<String> {
        self.0
            .lock()
            .unwrap()
            .get(account)
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::KeyMissing, "the secret store has no key for this source"))
    }
    fn delete(&self, account: &str) -> Result<()> {
        self.0.lock().unwrap().remove(account);
        Ok(())
    }
}

/// A store that is never reachable, standing in for a machine with no secret service.
pub struct UnavailableStore;
impl SecretStore for UnavailableStore {
    fn set(&self, _: &str, _: &str) -> Result<()> {
        Err(unavailable())
    }
    fn get(&self, _: &str) -> Result<String> {
        Err(unavailable())
    }
    fn delete(&self, _: &str) -> Result<()> {
        Err(unavailable())
    }
}
fn unavailable() -> Error {
    Error::new(
        ErrorCode::SecretStoreUnavailable,
        "no OS secret store is reachable; keep the key in an environment variable and add the source with --key-env VAR",
    )
}

/// The secret store account name for a source. Names are unique, so this is too.
pub fn account_for_source(source_name: &str) -> String {
    format!("source:{source_name}")
}

/// Validates an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn validate_env_var_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{name:?} is not an environment variable name; use letters, digits and underscores, e.g. OPENAI_ADMIN_KEY"
        )))
    }
}

/// Reads a key from an environment variable, failing clearly if it is unset or empty.
pub fn key_from_env(env: &dyn Environment, var: &str) -> Result<String> {
    match env.var(var).map(|v| v.trim().to_owned()) {
        Some(v) if !v.is_empty() => {
            register_secret(&v);
            Ok(v)
        }
        Some(_) => Err(Error::new(
            ErrorCode::KeyMissing,
            format!(
                "environment variable {var} is empty; set it to the API key where Burnrate starts (the app: your \
                 login session, e.g. ~/.profile, then quit and start Burnrate again; a terminal: export {var}=…)"
            ),
        )),
        None => Err(Error::new(
            ErrorCode::KeyMissing,
            format!(
                "environment variable {var} is not set; set it where Burnrate starts (the app: your login session, \
                 e.g. ~/.profile, then quit and start Burnrate again; a terminal: export {var}=<your key>), or store \
                 the key in the OS secret store instead"
            ),
        )),
    }
}

/// Checks a key typed or piped in by the user before it is stored.
pub fn validate_key(key: &str) -> Result<&str> {
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::new(ErrorCode::KeyMissing, "the key is empty; paste the whole key"));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid_input("the key contains spaces or control characters; paste only the key"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_env_vars_say_what_to_do() {
        let env: HashMap<String, String> = [("EMPTY".to_string(), "  ".to_string())].into();
        let e = key_from_env(&env, "NOPE").unwrap_err();
        assert_eq!(e.code, ErrorCode::KeyMissing);
        assert!(e.message().contains("NOPE is not set"), "{}", e.message());
        let e = key_from_env(&env, "EMPTY").unwrap_err();
        assert!(e.message().contains("EMPTY is empty"), "{}", e.message());
    }

    #[test]
    fn env_var_names_are_validated() {
        assert!(validate_env_var_name("OPENAI_ADMIN_KEY").is_ok());
        assert!(validate_env_var_name("1BAD").is_err());
        assert!(validate_env_var_name("HAS-DASH").is_err());
        assert!(validate_env_var_name("").is_err());
    }

    #[test]
    fn an_unreachable_store_names_the_env_var_alternative() {
        let e = UnavailableStore.set("a", "b").unwrap_err();
        assert_eq!(e.code, ErrorCode::SecretStoreUnavailable);
        assert!(e.message().contains("--key-env"));
    }
}
