//! Sources: a provider account or gateway Burnrate polls, with where its key lives.

use rusqlite::{params, Connection, OptionalExtension};
use url::Url;

use crate::days::ts_to_rfc3339;
use crate::dto::{AddSourceRequest, KeyInput, KeyStorage, SourceView};
use crate::environment::Environment;
use crate::error::{Error, ErrorCode, Result};
use crate::fingerprint::fingerprint;
use crate::ledger::last_run;
use crate::providers::ProviderId;
use crate::secrets::{self, account_for_source, SecretStore};
use crate::settings::Settings;

/// A source as stored (no secret in it).
#[derive(Debug, Clone)]
pub struct Source {
    pub id: i64,
    pub name: String,
    pub provider: ProviderId,
    pub base_url: Url,
    pub key_storage: KeyStorage,
    pub key_env_var: Option<String>,
    pub key_fingerprint: Option<String>,
    pub settings: Settings,
    pub created_at: i64,
}

impl Source {
    /// Fetches the key: from the environment variable, or from the OS secret store.
    pub fn key(&self, env: &dyn Environment, store: &dyn SecretStore) -> Result<String> {
        match (&self.key_storage, &self.key_env_var) {
            (KeyStorage::Env, Some(var)) => secrets::key_from_env(env, var),
            _ => store.get(&account_for_source(&self.name)),
        }
    }

    pub fn view(&self, conn: &Connection) -> Result<SourceView> {
        Ok(SourceView {
            id: self.id,
            name: self.name.clone(),
            provider: self.provider,
            base_url: self.base_url.to_string(),
            key_storage: self.key_storage,
            key_env_var: self.key_env_var.clone(),
            key_fingerprint: self.key_fingerprint.clone(),
            cleartext_warning: crate::net::cleartext_warning(&self.base_url),
            created_at: ts_to_rfc3339(self.created_at),
            settings: self.settings.given().clone(),
            last_sync: last_run(conn, self.id)?,
        })
    }
}

pub fn validate_name(name: &str) -> Result<&str> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(Error::invalid_input(format!(
            "{name:?} is not a usable source name; use 1–64 letters, digits, spaces, '-', '_' or '.', e.g. work-openai"
        )))
    }
}

/// Parses a base URL; only http(s) with a host, no credentials, no query.
pub fn parse_base_url(provider: ProviderId, text: Option<&str>) -> Result<Url> {
    let text = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => provider.default_base_url().ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidUrl,
                format!(
                    "{} has no default address; pass --base-url with your gateway's URL, e.g. http://localhost:4000",
                    provider.label()
                ),
            )
        })?,
    };
    let bad = |why: &str| {
        Error::new(
            ErrorCode::InvalidUrl,
            format!(
                "{text:?} is not a usable base URL ({why}); use e.g. {}",
                provider.default_base_url().unwrap_or("https://relay.example.com")
            ),
        )
    };
    let url = crate::net::http_url(text).map_err(|why| bad(&why))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("put credentials in the key, not the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("remove the ?query or #fragment"));
    }
    Ok(url)
}

/// Adds a source. On any error nothing is saved: the database row and the secret are
/// written together or not at all.
pub fn add(
    conn: &mut Connection,
    env: &dyn Environment,
    store: &dyn SecretStore,
    now: i64,
    req: &AddSourceRequest,
) -> Result<Source> {
    let name = validate_name(&req.name)?.to_owned();
    let base_url = parse_base_url(req.provider, req.base_url.as_deref())?;
    let settings =
        Settings::validate(req.settings.clone().unwrap_or_default(), &req.provider.settings(), req.provider.as_str())?;
    let settings_json = serde_json::to_string(settings.given()).map_err(|e| Error::internal(e.to_string()))?;
    if find(conn, &name)?.is_some() {
        return Err(Error::new(
            ErrorCode::SourceExists,
            format!("a source named {name:?} already exists; choose another name or remove it first"),
        ));
    }
    let (storage, env_var, key) = match &req.key {
        KeyInput::Env { var } => {
            let var = var.trim();
            secrets::validate_env_var_name(var)?;
            let key = secrets::key_from_env(env, var)?;
            (KeyStorage::Env, Some(var.to_owned()), key)
        }
        KeyInput::Secret { value } => (KeyStorage::Keyring, None, secrets::validate_key(value)?.to_owned()),
    };
    let fp = fingerprint(&key);
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO sources (name, provider, base_url, key_storage, key_env_var, key_fingerprint, settings, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            name,
            req.provider.as_str(),
            base_url.as_str(),
            storage_str(storage),
            env_var,
            fp,
            settings_json,
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    if storage == KeyStorage::Keyring {
        store.set(&account_for_source(&name), &key)?;
    }
    if let Err(e) = tx.commit() {
        if storage == KeyStorage::Keyring {
            let _ = store.delete(&account_for_source(&name));
        }
        return Err(e.into());
    }
    Ok(Source {
        id,
        name,
        provider: req.provider,
        base_url,
        key_storage: storage,
        key_env_var: env_var,
        key_fingerprint: Some(fp),
        settings,
        created_at: now,
    })
}

fn storage_str(s: KeyStorage) -> &'static str {
    match s {
        KeyStorage::Keyring => "keyring",
        KeyStorage::Env => "env",
    }
}

const COLUMNS: &str = "id, name, provider, base_url, key_storage, key_env_var, key_fingerprint, created_at, settings";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Source> {
    let invalid = |col: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, e)
    };
    let storage: String = r.get(4)?;
    let provider: ProviderId = r.get::<_, String>(2)?.parse().map_err(|e: Error| invalid(2, Box::new(e)))?;
    let given: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&r.get::<_, String>(8)?).map_err(|e| invalid(8, Box::new(e)))?;
    Ok(Source {
        id: r.get(0)?,
        name: r.get(1)?,
        provider,
        settings: Settings::with_defaults(given, &provider.settings()),
        base_url: Url::parse(&r.get::<_, String>(3)?).map_err(|e| invalid(3, Box::new(e)))?,
        key_storage: if storage == "env" { KeyStorage::Env } else { KeyStorage::Keyring },
        key_env_var: r.get(5)?,
        key_fingerprint: r.get(6)?,
        created_at: r.get(7)?,
    })
}

pub fn find(conn: &Connection, name: &str) -> Result<Option<Source>> {
    Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM sources WHERE name = ?1"), [name.trim()], from_row).optional()?)
}

pub fn get(conn: &Connection, name: &str) -> Result<Source> {
    find(conn, name)?.ok_or_else(|| {
        Error::new(
            ErrorCode::SourceNotFound,
            format!("no source named {:?}; `burnrate source list` shows the names", name.trim()),
        )
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Source>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM sources ORDER BY name"))?;
    let sources = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(sources)
}

/// Removes a source, its ledger rows and its stored key.
pub fn remove(conn: &mut Connection, store: &dyn SecretStore, name: &str) -> Result<()> {
    let source = get(conn, name)?;
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM sources WHERE id = ?1", [source.id])?;
    if source.key_storage == KeyStorage::Keyring {
        // Delete the secret before committing so a store failure leaves everything in place.
        store.delete(&account_for_source(&source.name))?;
    }
    tx.commit()?;
    Ok(())
}

/// Updates the displayed fingerprint after an environment variable changed value.
pub fn update_fingerprint(conn: &Connection, id: i64, fp: &str) -> Result<()> {
    conn.execute("UPDATE sources SET key_fingerprint = ?1 WHERE id = ?2", params![fp, id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use crate::secrets::{MemoryStore, UnavailableStore};
    use std::collections::HashMap;

    const FAKE_KEY: &str = "sk-admin-FAKEFAKEFAKEFAKEFAKEabcd";

    fn req(name: &str, key: KeyInput) -> AddSourceRequest {
        AddSourceRequest { provider: ProviderId::Openai, name: name.into(), base_url: None, key, settings: None }
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM sources", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_keyring_source_keeps_only_a_fingerprint_in_the_ledger() {
        let mut conn = db::open_in_memory().unwrap();
        let store = MemoryStore::default();
        let env = HashMap::new();
        let s = add(&mut conn, &env, &store, 0, &req("work", KeyInput::Secret { value: FAKE_KEY.into() })).unwrap();
        assert_eq!(s.key_fingerprint.as_deref(), Some("sk-…abcd"));
        assert_eq!(s.base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(s.key(&env, &store).unwrap(), FAKE_KEY);
        let dump: String = conn
            .query_row(
                "SELECT group_concat(name || base_url || coalesce(key_fingerprint,'') || settings) FROM sources",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!dump.contains(FAKE_KEY));
        remove(&mut conn, &store, "work").unwrap();
        assert!(store.get(&account_for_source("work")).is_err());
        assert_eq!(count(&conn), 0);
    }

    #[test]
    fn bad_input_is_refused_and_nothing_is_saved() {
        let mut conn = db::open_in_memory().unwrap();
        let store = MemoryStore::default();
        let env: HashMap<String, String> = HashMap::new();
        let cases: Vec<(AddSourceRequest, ErrorCode)> = vec![
            (req("a", KeyInput::Env { var: "MISSING_VAR".into() }), ErrorCode::KeyMissing),
            (req("a", KeyInput::Secret { value: "   ".into() }), ErrorCode::KeyMissing),
            (req("", KeyInput::Secret { value: FAKE_KEY.into() }), ErrorCode::InvalidInput),
            (req("a/../b", KeyInput::Secret { value: FAKE_KEY.into() }), ErrorCode::InvalidInput),
            (
                AddSourceRequest {
                    base_url: Some("ftp://x".into()),
                    ..req("a", KeyInput::Secret { value: FAKE_KEY.into() })
                },
                ErrorCode::InvalidUrl,
            ),
            (
                AddSourceRequest {
                    base_url: Some("not a url".into()),
                    ..req("a", KeyInput::Secret { value: FAKE_KEY.into() })
                },
                ErrorCode::InvalidUrl,
            ),
            (
                AddSourceRequest {
                    provider: ProviderId::Litellm,
                    ..req("a", KeyInput::Secret { value: FAKE_KEY.into() })
                },
                ErrorCode::InvalidUrl,
            ),
        ];
        for (r, code) in cases {
            let e = add(&mut conn, &env, &store, 0, &r).unwrap_err();
            assert_eq!(e.code, code, "{r:?}: {}", e.message());
            assert!(!e.message().contains(FAKE_KEY));
        }
        assert_eq!(count(&conn), 0);
    }

    #[test]
    fn an_unreachable_secret_store_saves_nothing() {
        let mut conn = db::open_in_memory().unwrap();
        let e = add(
            &mut conn,
            &HashMap::new(),
            &UnavailableStore,
            0,
            &req("a", KeyInput::Secret { value: FAKE_KEY.into() }),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::SecretStoreUnavailable);
        assert!(e.message().contains("--key-env"));
        assert_eq!(count(&conn), 0);
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut conn = db::open_in_memory().unwrap();
        let store = MemoryStore::default();
        let env: HashMap<String, String> = [("K".to_string(), FAKE_KEY.to_string())].into();
        add(&mut conn, &env, &store, 0, &req("a", KeyInput::Env { var: "K".into() })).unwrap();
        let e = add(&mut conn, &env, &store, 0, &req("a", KeyInput::Env { var: "K".into() })).unwrap_err();
        assert_eq!(e.code, ErrorCode::SourceExists);
    }
}
