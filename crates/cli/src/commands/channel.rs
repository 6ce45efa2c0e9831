//! `burnrate channel …`: where alerts go besides the desktop (webhook, Slack, Discord, ntfy,
//! e-mail, a command). Each alert is queued for every channel that takes its kind and sent by
//! `burnrate sync`, `burnrate watch` and the app, retried for up to a day.

use std::process::ExitCode;

use burnrate_core::alerts::AlertKind;
use burnrate_core::channels::{
    AddChannelRequest, ChannelKind, ChannelView, EmailSettings, ExecSettings, SecretStorage, SmtpTls,
};
use burnrate_core::dto::KeyInput;
use burnrate_core::{Burnrate, Error, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::output::{errln, outln, print_json, print_table};

#[derive(Subcommand)]
pub enum ChannelCmd {
    /// Add a channel. Its URL or password goes to the OS secret store (--url, --url-stdin,
    /// --password-stdin) or stays in an environment variable (--url-env, --password-env).
    Add(Box<AddArgs>),
    /// List channels with their delivery state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a channel and its stored URL or password (the alerts stay in the history).
    Remove { name: String },
    /// Send a test alert through a channel now; exits 1 when it does not arrive.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Webhook,
    Slack,
    Discord,
    Ntfy,
    Email,
    Exec,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Args)]
pub struct AddArgs {
    kind: Kind,
    #[arg(long)]
    name: String,
    /// The webhook, Slack, Discord or ntfy topic URL (kept in the OS secret store; it carries a token)
    #[arg(long, conflicts_with_all = ["url_env", "url_stdin"])]
    url: Option<String>,
    /// Read the URL from this environment variable at every send; it is never stored
    #[arg(long, value_name = "VAR", conflicts_with = "url_stdin")]
    url_env: Option<String>,
    /// Read the URL from standard input and keep it in the OS secret store
    #[arg(long)]
    url_stdin: bool,
    /// Alert kinds it receives, comma-separated: threshold, forecast, spike, price_drift, terms_changed, source_stale [default: all, including kinds added later]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    kinds: Vec<String>,
    /// Hold deliveries back during quiet hours and while alerts are paused
    #[arg(long)]
    quiet_hours: bool,
    /// E-mail: the SMTP server's host name
    #[arg(long, value_name = "HOST")]
    smtp_host: Option<String>,
    /// E-mail: the SMTP port [default: 587 with starttls, 465 with tls, 25 with none]
    #[arg(long, value_name = "PORT")]
    smtp_port: Option<u16>,
    /// E-mail: starttls (required), tls (from the first byte), or none (only to localhost)
    #[arg(long, value_enum, default_value = "starttls")]
    smtp_tls: SmtpSecurity,
    /// E-mail: the SMTP login
    #[arg(long, value_name = "NAME")]
    smtp_user: Option<String>,
    /// E-mail: read the SMTP password from this environment variable at every send
    #[arg(long, value_name = "VAR", conflicts_with = "password_stdin")]
    password_env: Option<String>,
    /// E-mail: read the SMTP password from standard input and keep it in the OS secret store
    #[arg(long)]
    password_stdin: bool,
    /// E-mail: the sender address
    #[arg(long, value_name = "ADDRESS")]
    from: Option<String>,
    /// E-mail: a recipient (repeat for more)
    #[arg(long, value_name = "ADDRESS")]
    to: Vec<String>,
    /// Exec: the command, run by the shell with the alert as JSON on its standard input
    #[arg(long)]
    command: Option<String>,
    /// Exec: seconds before the command is stopped [default: 30]
    // Not `--timeout`: that is the global provider timeout (u64, default 30), and clap hands a
    // global's value to a subcommand arg of the same id, so `timeout: Option<u32>` here made
    // every `channel add` panic ("Could not downcast to u32, need to downcast to u64").
    #[arg(long, value_name = "SECS")]
    command_timeout: Option<u32>,
    #[arg(long)]
    json: bool,
}

pub async fn run(app: &Burnrate, cmd: ChannelCmd) -> Result<ExitCode> {
    match cmd {
        ChannelCmd::Add(args) => {
            let json = args.json;
            let view = app.add_channel(&request(*args)?)?;
            if json {
                print_json(&view)?;
            } else {
                outln!("added {} channel {} to {}", view.kind.as_str(), view.name, view.target);
                errln!("send a test alert with: burnrate channel test {}", quoted(&view.name));
            }
        }
        ChannelCmd::List { json } => {
            let channels = app.list_channels()?;
            if json {
                print_json(&channels)?;
            } else if channels.is_empty() {
                outln!(
                    "no alert channels yet; add one with: burnrate channel add webhook --name team --url-env BURNRATE_WEBHOOK_URL"
                );
            } else {
                print_channels(&channels);
            }
        }
        ChannelCmd::Remove { name } => {
            app.remove_channel(&name)?;
            outln!("removed channel {}", name.trim());
        }
        ChannelCmd::Test { name, json } => {
            let result = app.test_channel(&name).await?;
            if json {
                print_json(&result)?;
            } else if result.ok {
                outln!("test alert sent through {} in {} ms: {}", result.channel, result.elapsed_ms, result.detail);
            } else {
                errln!("error: the test alert did not reach {}: {}", result.channel, result.detail);
            }
            return Ok(if result.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn request(a: AddArgs) -> Result<AddChannelRequest> {
    let kind = match a.kind {
        Kind::Webhook => ChannelKind::Webhook,
        Kind::Slack => ChannelKind::Slack,
        Kind::Discord => ChannelKind::Discord,
        Kind::Ntfy => ChannelKind::Ntfy,
        Kind::Email => ChannelKind::Email,
        Kind::Exec => ChannelKind::Exec,
    };
    let secret = match (a.url, a.url_env, a.url_stdin, a.password_env, a.password_stdin) {
        (Some(url), ..) => Some(KeyInput::Secret { value: url }),
        (_, Some(var), ..) | (.., Some(var), _) => Some(KeyInput::Env { var }),
        (_, _, true, ..) => Some(KeyInput::Secret {
            value: super::read_secret_from_stdin(
                "the URL",
                "printenv SLACK_WEBHOOK_URL | burnrate channel add slack … --url-stdin",
            )?,
        }),
        (.., true) => Some(KeyInput::Secret {
            value: super::read_secret_from_stdin(
                "the SMTP password",
                "printenv SMTP_PASSWORD | burnrate channel add email … --password-stdin",
            )?,
        }),
        _ => None,
    };
    let alert_kinds = a
        .kinds
        .iter()
        .map(|k| {
            AlertKind::parse(k.trim()).ok_or_else(|| {
                Error::invalid_input(format!(
                    "{k:?} is not an alert kind; use threshold, forecast, spike, price_drift, terms_changed or source_stale"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let email = a.smtp_host.map(|host| EmailSettings {
        host,
        port: a.smtp_port,
        tls: match a.smtp_tls {
            SmtpSecurity::Starttls => SmtpTls::Starttls,
            SmtpSecurity::Tls => SmtpTls::Tls,
            SmtpSecurity::None => SmtpTls::None,
        },
        username: a.smtp_user,
        from: a.from.unwrap_or_default(),
        to: a.to,
    });
    let exec = a.command.map(|command| ExecSettings { command, timeout_seconds: a.command_timeout });
    Ok(AddChannelRequest {
        kind,
        name: a.name,
        secret,
        alert_kinds: (!alert_kinds.is_empty()).then_some(alert_kinds),
        quiet_hours: a.quiet_hours,
        email,
        exec,
    })
}

fn quoted(name: &str) -> String {
    if name.contains(' ') {
        format!("{name:?}")
    } else {
        name.to_owned()
    }
}

fn print_channels(channels: &[ChannelView]) {
    let rows: Vec<Vec<String>> = channels
        .iter()
        .map(|c| {
            let secret = match (c.secret_storage, &c.secret_env_var) {
                (SecretStorage::Env, Some(var)) => format!("${var}"),
                (SecretStorage::Keyring, _) => "secret store".to_owned(),
                _ => "-".to_owned(),
            };
            let kinds: Vec<&str> = c.alert_kinds.iter().map(|k| k.as_str()).collect();
            let kinds = if kinds.len() == AlertKind::ALL.len() { "all".to_owned() } else { kinds.join(",") };
            let state = match (&c.last_error, c.pending, c.failed) {
                (Some(e), ..) => format!("last attempt failed: {e}"),
                (None, 0, 0) => {
                    c.last_attempt_at.as_ref().map_or("nothing sent yet".to_owned(), |t| format!("ok at {t}"))
                }
                (None, p, f) => format!("{p} pending, {f} given up"),
            };
            vec![
                c.name.clone(),
                c.kind.as_str().to_owned(),
                c.target.clone(),
                secret,
                kinds,
                if c.quiet_hours { "yes" } else { "no" }.to_owned(),
                state,
            ]
        })
        .collect();
    print_table(&["NAME", "KIND", "TO", "SECRET", "ALERTS", "QUIET HOURS", "DELIVERY"], &rows);
}
