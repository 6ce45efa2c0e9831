//! Sending one message through one channel: an HTTP POST (webhook, Slack, Discord, ntfy), an
//! e-mail over SMTP, or a local command. Every failure comes back as an [`Attempt`] whose
//! error says what happened and what to do, and never contains the channel's URL or password
//! (the URL carries a token): reqwest's errors are stripped of their URL, and every text passes
//! through the redactor, which knows the secret.

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::io::AsyncWriteExt;
use url::Url;

use super::dto::{ChannelKind, SmtpTls};
use super::message::{self, AlertMessage};
use super::outbox::Attempt;
use super::store::{self, Channel, DEFAULT_EXEC_TIMEOUT_SECS};
use crate::redact::redact;

/// How long a receiver may take to answer.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// How much of a receiver's error answer is kept for the user.
const ERROR_BODY_CHARS: usize = 200;

/// The HTTP client for channels: no redirects (a redirect would carry the URL's token and the
/// alert to another place the user never chose), short timeouts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("burnrate/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

fn failed(error: impl Into<String>) -> Attempt {
    Attempt { ok: false, status: None, error: Some(redact(&error.into()).into_owned()), retry_after: None }
}

fn ok(status: Option<i64>) -> Attempt {
    Attempt { ok: true, status, error: None, retry_after: None }
}

/// Sends `message` through `channel`; `secret` is its URL or SMTP password.
pub async fn send(http: &reqwest::Client, channel: &Channel, secret: Option<&str>, message: &AlertMessage) -> Attempt {
    match channel.kind {
        ChannelKind::Email => send_email(channel, secret, message).await,
        ChannelKind::Exec => run_command(channel, message).await,
        kind => {
            let Some(secret) = secret else { return failed("the channel has no URL; remove it and add it again") };
            let url = match store::parse_channel_url(kind, secret) {
                Ok(url) => url,
                Err(e) => return failed(e.message()),
            };
            post(http, kind, url, message).await
        }
    }
}

async fn post(http: &reqwest::Client, kind: ChannelKind, url: Url, m: &AlertMessage) -> Attempt {
    let target = store::url_target(&url);
    let (url, body) = match kind {
        ChannelKind::Slack => (url, message::slack_body(m)),
        ChannelKind::Discord => (url, message::discord_body(m)),
        ChannelKind::Ntfy => {
            let mut root = url.clone();
            let topic = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default().to_owned();
            let parent =
                url.path().rsplit_once('/').map_or("/", |(p, _)| if p.is_empty() { "/" } else { p }).to_owned();
            root.set_path(&parent);
            (root, message::ntfy_body(m, &topic))
        }
        _ => (url, serde_json::to_value(m).unwrap_or_default()),
    };
    let request = http.post(url).header("Idempotency-Key", &m.id).json(&body);
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                format!("{target} did not answer within {} s", HTTP_TIMEOUT.as_secs())
            } else if e.is_connect() {
                format!("cannot connect to {target}: {}", source_text(&e))
            } else {
                format!("sending to {target} failed: {}", e.without_url())
            };
            return failed(format!("{why}; check the address and the network"));
        }
    };
    let status = response.status();
    let code = Some(i64::from(status.as_u16()));
    if status.is_success() {
        return ok(code);
    }
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| Url::parse(l).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "another address".to_owned());
        return Attempt {
            status: code,
            ..failed(format!(
                "{target} redirected to {to}; Burnrate does not follow redirects for alert channels (the URL \
                 carries a token); give the final URL"
            ))
        };
    }
    let retry_after = retry_after(response.headers());
    let detail = error_body(response).await;
    let hint = match status.as_u16() {
        401 | 403 => "; the receiver refused: check the URL's token",
        404 | 410 => "; the receiver does not know this URL: it may have been revoked",
        429 => "; rate limited, retried later",
        s if s >= 500 => "; the receiver failed, retried later",
        _ => "",
    };
    Attempt { retry_after, status: code, ..failed(format!("{target} answered HTTP {}{detail}{hint}", status.as_u16())) }
}

/// The innermost cause of a connection error, without the URL ("Connection refused").
fn source_text(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// ": first line of the answer", cut short and stripped of control characters, or "".
async fn error_body(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() >= 4 * ERROR_BODY_CHARS {
            break;
        }
    }
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(ERROR_BODY_CHARS)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

async fn send_email(channel: &Channel, password: Option<&str>, m: &AlertMessage) -> Attempt {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let Some(settings) = &channel.email else {
        return failed("the e-mail settings are missing; add the channel again");
    };
    let (subject, text) = message::email_text(m);
    let mut builder = Message::builder().subject(subject).header(ContentType::TEXT_PLAIN);
    match settings.from.parse() {
        Ok(from) => builder = builder.from(from),
        Err(_) => return failed(format!("{:?} is not a sender address", settings.from)),
    }
    for to in &settings.to {
        match to.parse() {
            Ok(to) => builder = builder.to(to),
            Err(_) => return failed(format!("{to:?} is not a recipient address")),
        }
    }
    let email = match builder.body(text) {
        Ok(e) => e,
        Err(e) => return failed(format!("cannot build the e-mail: {e}")),
    };
    let host = settings.host.as_str();
    let transport = match settings.tls {
        SmtpTls::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map(|b| b.port(settings.port.unwrap_or(587)))
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map(|b| b.port(settings.port.unwrap_or(465))),
        SmtpTls::None => {
            Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(settings.port.unwrap_or(25)))
        }
    };
    let mut transport = match transport {
        Ok(t) => t.timeout(Some(HTTP_TIMEOUT)),
        Err(e) => return failed(format!("cannot use SMTP server {host}: {e}")),
    };
    if let (Some(user), Some(password)) = (&settings.username, password) {
        transport = transport.credentials(Credentials::new(user.clone(), password.to_owned()));
    }
    match transport.build().send(email).await {
        Ok(response) => Attempt { status: Some(i64::from(u16::from(response.code()))), ..ok(None) },
        Err(e) => {
            let hint = if e.to_string().to_ascii_lowercase().contains("auth")
                || e.status().is_some_and(|c| u16::from(c) == 535)
            {
                "; check the login and the password"
            } else if e.is_permanent() {
                "; the server refused the message"
            } else {
                "; retried later"
            };
            Attempt {
                status: e.status().map(|c| i64::from(u16::from(c))),
                ..failed(format!("SMTP server {host}: {e}{hint}"))
            }
        }
    }
}

async fn run_command(channel: &Channel, m: &AlertMessage) -> Attempt {
    let Some(exec) = &channel.exec else { return failed("the command is missing; add the channel again") };
    let timeout = Duration::from_secs(u64::from(exec.timeout_seconds.unwrap_or(DEFAULT_EXEC_TIMEOUT_SECS)));
    let mut command = if cfg!(windows) {
        let mut c = tokio::process::Command::new("cmd");
        c.arg("/C").arg(&exec.command);
        c
    } else {
        let mut c = tokio::process::Command::new("sh");
        c.arg("-c").arg(&exec.command);
        c
    };
    command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start the command: {e}")),
    };
    let json = serde_json::to_vec(m).unwrap_or_default();
    let mut stdin = child.stdin.take();
    let run = async move {
        if let Some(stdin) = stdin.as_mut() {
            // A command that does not read its input is fine: ignore a broken pipe.
            let _ = stdin.write_all(&json).await;
        }
        drop(stdin);
        child.wait_with_output().await
    };
    match tokio::time::timeout(timeout, run).await {
        Err(_) => failed(format!("the command did not finish within {} s and was stopped", timeout.as_secs())),
        Ok(Err(e)) => failed(format!("the command failed to run: {e}")),
        Ok(Ok(out)) if out.status.success() => ok(Some(0)),
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            let first: String = first.chars().filter(|c| !c.is_control()).take(ERROR_BODY_CHARS).collect();
            let code = out.status.code();
            let what = code.map_or("was killed by a signal".to_owned(), |c| format!("exited with status {c}"));
            tracing::debug!(ms = started.elapsed().as_millis() as u64, "alert command finished");
            Attempt {
                status: code.map(i64::from),
                ..failed(if first.is_empty() {
                    format!("the command {what}")
                } else {
                    format!("the command {what}: {first}")
                })
            }
        }
    }
}
