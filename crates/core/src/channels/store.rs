//! Alert channels as stored: what is not secret in `alert_channels`, the URL or password in the
//! OS secret store (account `channel:NAME`) or an environment variable read at each send.

use rusqlite::{params, Connection, OptionalExtension};
use url::Url;

use super::dto::{AddChannelRequest, ChannelKind, ChannelView, EmailSettings, ExecSettings, SecretStorage, SmtpTls};
use crate::alerts::AlertKind;
use crate::days::ts_to_rfc3339;
use crate::dto::KeyInput;
use crate::environment::Environment;
use crate::error::{Error, ErrorCode, Result};
use crate::secrets::{self, SecretStore};

/// Exec commands are killed after this long unless the channel says otherwise.
pub const DEFAULT_EXEC_TIMEOUT_SECS: u32 = 30;
/// `alert_kinds` of a channel that takes every kind, present and future.
pub const ALL_KINDS: &str = "*";
pub const MAX_EXEC_TIMEOUT_SECS: u32 = 600;

/// A channel as the sender needs it (its secret is fetched separately, at send time).
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub secret_storage: SecretStorage,
    pub secret_env_var: Option<String>,
    pub target: String,
    pub email: Option<EmailSettings>,
    pub exec: Option<ExecSettings>,
    pub alert_kinds: Vec<AlertKind>,
    pub quiet_hours: bool,
    pub created_at: i64,
}

/// The secret store account of a channel. Channel names are unique, so this is too.
pub fn account_for_channel(name: &str) -> String {
    format!("channel:{name}")
}

fn validate_name(name: &str) -> Result<&str> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(Error::invalid_input(format!(
            "{name:?} is not a usable channel name; use 1–64 letters, digits, spaces, '-', '_' or '.', e.g. team-slack"
        )))
    }
}

/// Checks a channel URL: http(s) with a host. The URL is a secret (it carries the token), so
/// errors never repeat it.
pub fn parse_channel_url(kind: ChannelKind, text: &str) -> Result<Url> {
    let bad = |why: &str| {
        let example = match kind {
            ChannelKind::Slack => "https://hooks.slack.com/services/…",
            ChannelKind::Discord => "https://discord.com/api/webhooks/…",
            ChannelKind::Ntfy => "https://ntfy.sh/your-topic",
            _ => "https://alerts.example.com/burnrate",
        };
        Error::new(
            ErrorCode::InvalidUrl,
            format!("the {} URL is not usable ({why}); use e.g. {example}", kind.as_str()),
        )
    };
    let url = crate::net::http_url(text).map_err(|why| bad(&why))?;
    if kind == ChannelKind::Ntfy && url.path_segments().and_then(|mut s| s.next_back()).is_none_or(str::is_empty) {
        return Err(bad("it names no topic; end it with /your-topic"));
    }
    Ok(url)
}

/// What may be shown of a URL: its scheme, host and port, the rest elided.
pub fn url_target(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let elided = if url.path().len() > 1 || url.query().is_some() { "/…" } else { "" };
    format!("{}://{}{port}{elided}", url.scheme(), url.host_str().unwrap_or_default())
}

fn validate_email(settings: &EmailSettings) -> Result<EmailSettings> {
    let host = settings.host.trim();
    if host.is_empty() || host.contains(['/', ' ', ':']) {
        return Err(Error::invalid_input(format!(
            "{host:?} is not an SMTP server name; give the host only, e.g. smtp.example.com (the port goes in --smtp-port)"
        )));
    }
    if settings.tls == SmtpTls::None && !crate::net::is_loopback_host(host) {
        return Err(Error::invalid_input(format!(
            "refusing to send the SMTP password and alerts unencrypted to {host}; use --smtp-tls starttls or tls \
             (plain SMTP is only for a relay on this machine, e.g. localhost)"
        )));
    }
    let mailbox = |text: &str, what: &str| -> Result<String> {
        text.trim().parse::<lettre::message::Mailbox>().map(|m| m.to_string()).map_err(|_| {
            Error::invalid_input(format!("{text:?} is not an e-mail address for {what}; use e.g. alerts@example.com"))
        })
    };
    let to = settings.to.iter().map(|t| mailbox(t, "--to")).collect::<Result<Vec<_>>>()?;
    if to.is_empty() {
        return Err(Error::invalid_input("an e-mail channel needs at least one recipient: --to you@example.com"));
    }
    Ok(EmailSettings {
        host: host.to_owned(),
        port: settings.port,
        tls: settings.tls,
        username: settings.username.as_ref().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()),
        from: mailbox(&settings.from, "--from")?,
        to,
    })
}

fn validate_exec(settings: &ExecSettings) -> Result<ExecSettings> {
    let command = settings.command.trim();
    if command.is_empty() {
        return Err(Error::invalid_input("an exec channel needs a command, e.g. --command '/usr/local/bin/page-me'"));
    }
    if command.chars().any(|c| c.is_control()) {
        return Err(Error::invalid_input("the command contains control characters; give it on one line"));
    }
    let timeout = settings.timeout_seconds.unwrap_or(DEFAULT_EXEC_TIMEOUT_SECS);
    if !(1..=MAX_EXEC_TIMEOUT_SECS).contains(&timeout) {
        return Err(Error::invalid_input(format!(
            "a command timeout of {timeout} s is out of range; give 1 to {MAX_EXEC_TIMEOUT_SECS} seconds"
        )));
    }
    Ok(ExecSettings { command: command.to_owned(), timeout_seconds: Some(timeout) })
}

/// The checked request: the secret to keep (if any), and the row to insert.
struct Checked {
    name: String,
    storage: SecretStorage,
    env_var: Option<String>,
    secret: Option<String>,
    target: String,
    settings: serde_json::Value,
}

fn check(env: &dyn Environment, req: &AddChannelRequest) -> Result<Checked> {
    let name = validate_name(&req.name)?.to_owned();
    let kind = req.kind;
    // The secret's value, read once to validate it (an env var is read again at each send).
    let (storage, env_var, value) = match &req.secret {
        Some(KeyInput::Env { var }) => {
            let var = var.trim();
            secrets::validate_env_var_name(var)?;
            (SecretStorage::Env, Some(var.to_owned()), Some(secrets::key_from_env(env, var)?))
        }
        Some(KeyInput::Secret { value }) if !value.trim().is_empty() => {
            (SecretStorage::Keyring, None, Some(value.trim().to_owned()))
        }
        _ => (SecretStorage::None, None, None),
    };
    let (target, settings) = match kind {
        k if k.secret_is_url() => {
            let Some(url) = &value else {
                return Err(Error::invalid_input(format!(
                    "a {} channel needs its URL: --url URL, or --url-env VAR to read it from an environment variable",
                    k.as_str()
                )));
            };
            crate::redact::register_secret(url);
            (url_target(&parse_channel_url(k, url)?), serde_json::json!({}))
        }
        ChannelKind::Email => {
            let email = req
                .email
                .as_ref()
                .ok_or_else(|| Error::invalid_input("an e-mail channel needs --smtp-host, --from and --to"))?;
            let email = validate_email(email)?;
            if value.is_some() && email.username.is_none() {
                return Err(Error::invalid_input("an SMTP password was given without a login; add --smtp-user NAME"));
            }
            if value.is_none() && email.username.is_some() {
                return Err(Error::invalid_input(
                    "an SMTP login needs its password: --password-env VAR, or --password-stdin to keep it in the OS secret store",
                ));
            }
            (email.to.join(", "), serde_json::to_value(&email).map_err(|e| Error::internal(e.to_string()))?)
        }
        _ => {
            let exec = req.exec.as_ref().ok_or_else(|| {
                Error::invalid_input("an exec channel needs a command, e.g. --command '/usr/local/bin/page-me'")
            })?;
            let exec = validate_exec(exec)?;
            if value.is_some() {
                return Err(Error::invalid_input(
                    "an exec channel has no URL or password; pass what it needs in its own environment",
                ));
            }
            (exec.command.clone(), serde_json::to_value(&exec).map_err(|e| Error::internal(e.to_string()))?)
        }
    };
    let secret = if storage == SecretStorage::Keyring { value } else { None };
    Ok(Checked { name, storage, env_var, secret, target, settings })
}

/// Adds a channel. On any error nothing is kept: the row and the secret are written together.
pub fn add(
    conn: &mut Connection,
    env: &dyn Environment,
    store: &dyn SecretStore,
    now: i64,
    req: &AddChannelRequest,
) -> Result<Channel> {
    let c = check(env, req)?;
    if find(conn, &c.name)?.is_some() {
        return Err(Error::new(
            ErrorCode::ChannelExists,
            format!("a channel named {:?} already exists; choose another name or remove it first", c.name),
        ));
    }
    // Every kind is stored as "*", so kinds added in later versions reach the channel too.
    let chosen = req.alert_kinds.clone().filter(|k| !k.is_empty() && !AlertKind::ALL.iter().all(|a| k.contains(a)));
    let kinds: Vec<&str> = match &chosen {
        Some(kinds) => kinds.iter().map(|k| k.as_str()).collect(),
        None => vec![ALL_KINDS],
    };
    let kinds_json = serde_json::to_string(&kinds).map_err(|e| Error::internal(e.to_string()))?;
    let storage = match c.storage {
        SecretStorage::Keyring => "keyring",
        SecretStorage::Env => "env",
        SecretStorage::None => "none",
    };
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO alert_channels (name, kind, secret_storage, secret_env_var, target, settings, alert_kinds, quiet_hours, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![c.name, req.kind.as_str(), storage, c.env_var, c.target, c.settings.to_string(), kinds_json, req.quiet_hours, now],
    )?;
    if let Some(secret) = &c.secret {
        store.set(&account_for_channel(&c.name), secret)?;
    }
    if let Err(e) = tx.commit() {
        if c.secret.is_some() {
            let _ = store.delete(&account_for_channel(&c.name));
        }
        return Err(e.into());
    }
    get(conn, &c.name)
}

const SELECT: &str =
    "SELECT id, name, kind, secret_storage, secret_env_var, target, settings, alert_kinds, quiet_hours, created_at
                      FROM alert_channels";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Channel> {
    let kind: String = r.get(2)?;
    let storage: String = r.get(3)?;
    let settings: String = r.get(6)?;
    let kinds: String = r.get(7)?;
    let kind = ChannelKind::parse(&kind).unwrap_or(ChannelKind::Webhook);
    let settings: serde_json::Value = serde_json::from_str(&settings).unwrap_or_default();
    let kinds: Vec<String> = serde_json::from_str(&kinds).unwrap_or_default();
    Ok(Channel {
        id: r.get(0)?,
        name: r.get(1)?,
        kind,
        secret_storage: match storage.as_str() {
            "keyring" => SecretStorage::Keyring,
            "env" => SecretStorage::Env,
            _ => SecretStorage::None,
        },
        secret_env_var: r.get(4)?,
        target: r.get(5)?,
        email: (kind == ChannelKind::Email).then(|| serde_json::from_value(settings.clone()).ok()).flatten(),
        exec: (kind == ChannelKind::Exec).then(|| serde_json::from_value(settings).ok()).flatten(),
        alert_kinds: if kinds.iter().any(|k| k == ALL_KINDS) {
            AlertKind::ALL.to_vec()
        } else {
            kinds.iter().filter_map(|k| AlertKind::parse(k)).collect()
        },
        quiet_hours: r.get(8)?,
        created_at: r.get(9)?,
    })
}

pub fn find(conn: &Connection, name: &str) -> Result<Option<Channel>> {
    Ok(conn.query_row(&format!("{SELECT} WHERE name = ?1"), [name.trim()], row).optional()?)
}

pub fn get(conn: &Connection, name: &str) -> Result<Channel> {
    find(conn, name)?.ok_or_else(|| {
        Error::new(
            ErrorCode::ChannelNotFound,
            format!("no alert channel named {:?}; see them with: burnrate channel list", name.trim()),
        )
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Channel>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY name"))?;
    let rows = stmt.query_map([], row)?;
    rows.collect::<rusqlite::Result<_>>().map_err(Into::into)
}

/// Removes a channel, its queued deliveries and its stored secret.
pub fn remove(conn: &mut Connection, store: &dyn SecretStore, name: &str) -> Result<()> {
    let channel = get(conn, name)?;
    if channel.secret_storage == SecretStorage::Keyring {
        store.delete(&account_for_channel(&channel.name))?;
    }
    conn.execute("DELETE FROM alert_channels WHERE id = ?1", [channel.id])?;
    Ok(())
}

/// The channel's secret (URL or SMTP password), fetched at send time. None: it has none.
pub fn secret(channel: &Channel, env: &dyn Environment, store: &dyn SecretStore) -> Result<Option<String>> {
    match (channel.secret_storage, &channel.secret_env_var) {
        (SecretStorage::Env, Some(var)) => secrets::key_from_env(env, var).map(Some),
        (SecretStorage::Keyring, _) => store.get(&account_for_channel(&channel.name)).map(Some).map_err(|e| {
            Error::new(
                e.code,
                format!(
                    "the secret of alert channel {:?} cannot be read: {} (remove the channel and add it again)",
                    channel.name,
                    e.message()
                ),
            )
        }),
        _ => Ok(None),
    }
}

/// A channel with its delivery counts, for lists.
pub fn view(conn: &Connection, channel: &Channel) -> Result<ChannelView> {
    let (pending, failed): (u32, u32) = conn.query_row(
        "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'failed')
         FROM alert_deliveries WHERE channel_id = ?1",
        [channel.id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let last: Option<(i64, bool, Option<String>)> = conn
        .query_row(
            "SELECT a.attempted_at, a.ok, a.error FROM alert_delivery_attempts a
             JOIN alert_deliveries d ON d.id = a.delivery_id
             WHERE d.channel_id = ?1 ORDER BY a.attempted_at DESC, a.id DESC LIMIT 1",
            [channel.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(ChannelView {
        name: channel.name.clone(),
        kind: channel.kind,
        target: channel.target.clone(),
        secret_storage: channel.secret_storage,
        secret_env_var: channel.secret_env_var.clone(),
        alert_kinds: channel.alert_kinds.clone(),
        quiet_hours: channel.quiet_hours,
        created_at: ts_to_rfc3339(channel.created_at),
        pending,
        failed,
        last_attempt_at: last.as_ref().map(|(at, _, _)| ts_to_rfc3339(*at)),
        last_error: last.and_then(|(_, ok, e)| if ok { None } else { e }),
    })
}
