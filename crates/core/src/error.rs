//! One error type for the whole core. Every error carries an [`ErrorCode`] that the UI and
//! scripts branch on (never the message text), and a message that says what happened and what
//! to do about it. Messages pass through the redactor before they leave the process.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::redact::redact;

/// Stable, machine-readable error codes. Adding a code is fine; renaming one breaks the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    InvalidInput,
    /// The operation is not available for this provider yet.
    Unsupported,
    UnknownProvider,
    InvalidUrl,
    SourceExists,
    SourceNotFound,
    BudgetNotFound,
    ChannelExists,
    ChannelNotFound,
    /// No auto-disable rule has the given id.
    AutoDisableNotFound,
    /// No gateway assessment has the given id.
    AssessmentNotFound,
    /// An evidence file is over the size limit.
    EvidenceTooLarge,
    /// The same evidence is already attached to that question.
    EvidenceExists,
    /// The key is not available: environment variable unset or empty, or the secret store has no entry.
    KeyMissing,
    SecretStoreUnavailable,
    /// Desktop notifications cannot be shown: no session bus, or no notification daemon on it.
    NotificationsUnavailable,
    /// The provider answered 401/403 for this key.
    KeyRejected,
    /// The provider (or the ledger) does not know the API key an operation names.
    KeyNotFound,
    /// A destructive operation was asked for without the confirmation it needs.
    ConfirmationRequired,
    RateLimited,
    ProviderUnavailable,
    UnexpectedResponse,
    /// The provider redirected to another host; the key was not sent there.
    RedirectRefused,
    /// A provider or a file reported an amount beyond the plausibility bounds; nothing was written.
    ImplausibleAmount,
    Timeout,
    Network,
    DataDirUnwritable,
    /// The database was written by a newer Burnrate.
    DbTooNew,
    /// Another process (the app, `burnrate watch`, a `sync`) held the ledger's write lock for
    /// longer than this one waits; nothing was written. Trying again later works.
    LedgerBusy,
    Database,
    Internal,
    /// `burnrate serve` was asked without the bearer token it requires (HTTP 401).
    Unauthorized,
    /// `burnrate serve` has no such page (HTTP 404).
    NotFound,
    /// `burnrate serve` is read-only: a method other than GET or HEAD (HTTP 405).
    MethodNotAllowed,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    message: String,
}

impl Error {
    /// Builds an error; the message is redacted here so no constructor can leak a key.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: redact(&message.into()).into_owned() }
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            use rusqlite::ErrorCode as C;
            match f.code {
                C::DiskFull => {
                    return Error::new(
                        ErrorCode::Database,
                        "the disk is full: nothing was written; free some space and sync again",
                    )
                }
                C::ReadOnly | C::CannotOpen | C::PermissionDenied => {
                    return Error::new(
                        ErrorCode::DataDirUnwritable,
                        format!(
                        "cannot write the database ({e}); check the data directory's permissions or pass --data-dir"
                    ),
                    )
                }
                C::DatabaseBusy | C::DatabaseLocked => {
                    let waited = crate::busy_timeout::describe(crate::busy_timeout::busy_timeout());
                    return Error::new(
                        ErrorCode::LedgerBusy,
                        format!(
                            "another Burnrate process (the desktop app, `burnrate watch` or another `burnrate sync`) \
                             is writing to the ledger and kept it for over {waited}; nothing was written. Try again \
                             once it has finished, or stop it; to wait longer, set {} (milliseconds)",
                            crate::busy_timeout::BUSY_TIMEOUT_ENV
                        ),
                    );
                }
                C::DatabaseCorrupt | C::NotADatabase => {
                    return Error::new(
                        ErrorCode::Database,
                        format!(
                            "the ledger file is damaged ({e}); close the app and any `burnrate watch`, then run \
                             `burnrate doctor`: it backs the file up, salvages what is still readable (sources, \
                             budgets, spend, …) into a fresh ledger and keeps the damaged file aside"
                        ),
                    )
                }
                _ => {}
            }
        }
        Error::new(ErrorCode::Database, format!("database error: {e}"))
    }
}

/// The shape errors take over IPC and in `--json` output: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError { code: e.code, message: e.message }
    }
}
impl From<&Error> for ApiError {
    fn from(e: &Error) -> Self {
        ApiError { code: e.code, message: e.message.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_ledger_points_at_the_doctor() {
        let e =
            Error::from(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT), None));
        assert_eq!(e.code, ErrorCode::Database);
        assert!(e.message().starts_with("the ledger file is damaged ("), "{e}");
        assert!(e.message().contains("run `burnrate doctor`: it backs the file up, salvages"), "{e}");
    }

    #[test]
    fn errors_cross_ipc_as_code_and_message_with_keys_redacted() {
        let e = Error::new(ErrorCode::KeyRejected, "OpenAI rejected sk-proj-FAKEFAKEFAKEFAKE9999 (401)");
        let json = serde_json::to_value(ApiError::from(e)).unwrap();
        assert_eq!(json, serde_json::json!({"code": "key_rejected", "message": "OpenAI rejected sk-…9999 (401)"}));
    }
}
