//! The HTTP client every connector shares: timeouts, retries for 429/5xx honouring
//! `Retry-After`, and errors that name the provider, the endpoint and the fix.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use super::id::ProviderId;
use crate::days::DayRange;
use crate::error::{Error, ErrorCode, Result};
use crate::net::{self, BodyError};
use crate::poll::SyncProgress;
use crate::prices::PriceTable;
use crate::redact;
use crate::settings::Settings;

/// How hard to try before giving up on a source for this pass.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    /// Upper bound on any single wait, including a provider's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(30) }
    }
}

#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    retry: RetryPolicy,
    /// The most of one answer that is read; more is an error, never a partial parse.
    body_limit: usize,
}

impl HttpClient {
    pub fn new(timeout: Duration, retry: RetryPolicy) -> Result<Self> {
        let client = net::key_carrying_client(timeout, concat!("burnrate/", env!("CARGO_PKG_VERSION")))?;
        Ok(HttpClient { client, retry, body_limit: net::MAX_BODY_BYTES })
    }

    pub fn default_client() -> Result<Self> {
        Self::new(Duration::from_secs(30), RetryPolicy::default())
    }

    /// The same client reading at most `limit` bytes of an answer (tests use a small one).
    pub fn with_body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// GETs a public file that needs no key (the ECB's exchange rates), once, and returns its
    /// body: read under the same size cap as a provider's answer, so a hostile or mistaken
    /// server cannot fill memory. `what` names the file in errors, e.g. "the ECB's rates".
    pub async fn get_public(&self, what: &str, url: Url) -> Result<String> {
        let shown = net::origin_of(&url);
        let response = self.client.get(url).send().await.map_err(|e| {
            let code = if e.is_timeout() { ErrorCode::Timeout } else { ErrorCode::Network };
            Error::new(code, format!("cannot reach {what} at {shown} ({e}); check the network and try again later"))
        })?;
        let status = response.status();
        let body = net::read_body(response, self.body_limit).await.map_err(|e| match e {
            BodyError::Transport(e) => Error::new(
                ErrorCode::Network,
                format!("the connection to {what} at {shown} broke mid-answer ({e}); try again later"),
            ),
            BodyError::TooLarge { limit } => Error::new(
                ErrorCode::UnexpectedResponse,
                format!("{what} at {shown} sent more than {}; Burnrate stopped reading", net::size_text(limit)),
            ),
        })?;
        if !status.is_success() {
            let code =
                if status.is_server_error() { ErrorCode::ProviderUnavailable } else { ErrorCode::UnexpectedResponse };
            return Err(Error::new(
                code,
                format!("{what} at {shown} answered {}; check the address or try again later", status.as_u16()),
            ));
        }
        Ok(body)
    }
}

/// How a provider wants the key presented.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    Bearer,
    /// Anthropic's `x-api-key` plus `anthropic-version`.
    XApiKey,
    /// `name: prefix + key`, for endpoints with their own scheme (custom JSON endpoints).
    Header {
        name: &'a str,
        prefix: &'a str,
    },
}

/// Everything a connector needs for one poll. The key is a secret: `Debug` hides it.
pub struct PollContext {
    pub provider: ProviderId,
    pub base_url: Url,
    pub key: String,
    pub range: DayRange,
    pub now: DateTime<Utc>,
    pub http: HttpClient,
    pub settings: Settings,
    pub prices: Arc<PriceTable>,
    pub progress: Progress,
}

/// Receives progress updates of long syncs.
pub type ProgressFn = Arc<dyn Fn(SyncProgress) + Send + Sync>;

/// A connector's handle for reporting progress (pages or days fetched so far).
#[derive(Clone, Default)]
pub struct Progress {
    source: String,
    sink: Option<ProgressFn>,
}

impl Progress {
    pub fn new(source: &str, sink: Option<ProgressFn>) -> Self {
        Progress { source: source.to_owned(), sink }
    }
    pub fn report(&self, done: u64, total: u64, unit: &str) {
        if let Some(sink) = &self.sink {
            sink(SyncProgress { source: self.source.clone(), done, total: total.max(done), unit: unit.to_owned() });
        }
    }
}

impl std::fmt::Debug for PollContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollContext")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url.as_str())
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl PollContext {
    /// `base_url` joined with `path` (which must not start with '/'), keeping the base's path.
    pub fn url(&self, path: &str) -> Result<Url> {
        join_url(&self.base_url, path)
    }

    /// [`Self::url`] with `query` appended in order (a page's cursor last, where there is one).
    pub fn url_with_query<'q>(&self, path: &str, query: impl IntoIterator<Item = (&'q str, &'q str)>) -> Result<Url> {
        let mut url = self.url(path)?;
        url.query_pairs_mut().extend_pairs(query);
        Ok(url)
    }

    /// GETs `url` and parses the JSON body as `T`, retrying 429 and 5xx per the policy.
    /// `endpoint` names the call in errors, e.g. `GET /organization/costs`.
    pub async fn get_json<T: DeserializeOwned>(&self, endpoint: &str, url: Url, auth: Auth<'_>) -> Result<T> {
        self.get_json_with(endpoint, url, auth, &[]).await
    }

    /// [`Self::get_json`] with extra request headers (e.g. new-api's `New-Api-User`).
    pub async fn get_json_with<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        url: Url,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
    ) -> Result<T> {
        let body = self.get_body(endpoint, url, auth, headers).await?;
        self.parse(endpoint, &body)
    }

    /// [`Self::get_json`], except that a 404 is `None`: for endpoints an older or self-hosted
    /// deployment may not have, where the caller can do without.
    pub async fn get_json_if_exists<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        url: Url,
        auth: Auth<'_>,
    ) -> Result<Option<T>> {
        let call = Call { method: Method::GET, endpoint, url, auth, headers: &[], body: None, purpose: Purpose::Read };
        match send(&self.http, self.provider, &self.key, &call).await {
            Ok(body) => self.parse(endpoint, &body).map(Some),
            Err(f) if f.status == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(f) => Err(f.error),
        }
    }

    /// GETs `url` and returns the body of a successful answer, retrying like [`Self::get_json`].
    /// For large bodies parsed with [`Self::parse`] into types that borrow from the text.
    pub async fn get_body(&self, endpoint: &str, url: Url, auth: Auth<'_>, headers: &[(&str, &str)]) -> Result<String> {
        let call = Call { method: Method::GET, endpoint, url, auth, headers, body: None, purpose: Purpose::Read };
        send(&self.http, self.provider, &self.key, &call).await.map_err(|f| f.error)
    }

    /// Parses a body from [`Self::get_body`]; a body that is not the expected JSON is an error
    /// naming the endpoint.
    pub fn parse<'body, T: Deserialize<'body>>(&self, endpoint: &str, body: &'body str) -> Result<T> {
        parse(self.provider, endpoint, body)
    }
}

/// Everything a connector needs to act on one of the provider's keys (disable it). The key is
/// the source's own key, which must be allowed to manage keys; `Debug` hides it.
pub struct KeyActionContext {
    pub provider: ProviderId,
    pub base_url: Url,
    pub key: String,
    pub http: HttpClient,
    pub settings: Settings,
}

impl std::fmt::Debug for KeyActionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyActionContext")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Where a cursor-paginated list goes on, as one page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// That was the last page.
    Last,
    /// More follow, starting from this cursor.
    From(String),
    /// The provider says more follow but gave no cursor to ask for them with.
    Unknown,
}

/// The walk through a cursor-paginated endpoint, shared by every connector:
/// ```text
/// let mut walk = Pagination::new(provider, endpoint, MAX_PAGES);
/// while let Some(cursor) = walk.next_page()? {  // None inside: the first page
///     let page = …fetch with cursor…;
///     walk.followed_by(…what the page says…)?;
/// }
/// ```
/// A provider that says more follow without a new cursor (none, or the one just used) would
/// be asked the same thing forever, and one that never stops is broken or hostile: both end
/// the poll with an error, so nothing of a half-read list is written.
#[derive(Debug)]
pub struct Pagination<'a> {
    provider: ProviderId,
    endpoint: &'a str,
    max_pages: usize,
    fetched: usize,
    state: WalkState,
}

#[derive(Debug)]
enum WalkState {
    First,
    From(String),
    Done,
}

impl<'a> Pagination<'a> {
    pub fn new(provider: ProviderId, endpoint: &'a str, max_pages: usize) -> Self {
        Pagination { provider, endpoint, max_pages, fetched: 0, state: WalkState::First }
    }

    /// The cursor to ask the next page with (`Some(None)` for the first page), or `None` once
    /// the last page was read.
    pub fn next_page(&mut self) -> Result<Option<Option<String>>> {
        let cursor = match &self.state {
            WalkState::Done => return Ok(None),
            WalkState::First => None,
            WalkState::From(cursor) => Some(cursor.clone()),
        };
        if self.fetched >= self.max_pages {
            return Err(Error::new(
                ErrorCode::UnexpectedResponse,
                format!(
                    "{} kept returning pages at {}; stopped after {}, nothing was written",
                    self.provider.label(),
                    self.endpoint,
                    self.max_pages
                ),
            ));
        }
        self.fetched += 1;
        Ok(Some(cursor))
    }

    /// Records what the page just fetched says about the next one.
    pub fn followed_by(&mut self, next: NextPage) -> Result<()> {
        self.state = match (next, &self.state) {
            (NextPage::Last, _) => WalkState::Done,
            (NextPage::From(cursor), WalkState::From(used)) if cursor == *used => return Err(self.stuck()),
            (NextPage::From(cursor), _) if !cursor.is_empty() => WalkState::From(cursor),
            (NextPage::From(_) | NextPage::Unknown, _) => return Err(self.stuck()),
        };
        Ok(())
    }

    fn stuck(&self) -> Error {
        Error::new(
            ErrorCode::UnexpectedResponse,
            format!(
                "{} said more pages follow at {} but gave no new cursor; nothing was written",
                self.provider.label(),
                self.endpoint
            ),
        )
    }
}

/// What a key action's request came back with.
#[derive(Debug)]
pub enum ActionAnswer {
    /// The provider's JSON answer (`null` for an empty body).
    Body(serde_json::Value),
    /// A retried DELETE found the resource gone: the earlier attempt, whose answer was lost,
    /// did delete it.
    GoneOnRetry,
}

impl KeyActionContext {
    /// `base_url` joined with `path` (which must not start with '/'), keeping the base's path.
    pub fn url(&self, path: &str) -> Result<Url> {
        join_url(&self.base_url, path)
    }

    /// `base_url` followed by `segments`, each percent-encoded as one path segment, so an id
    /// can never change the path (`../`, `?`, `/`).
    pub fn url_segments(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|_| Error::internal(format!("{} cannot have a path", self.base_url)))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// GETs `url` and parses the JSON body as `T`; a 401/403 names the key a key action needs.
    pub async fn get_json<T: DeserializeOwned>(&self, endpoint: &str, url: Url, auth: Auth<'_>) -> Result<T> {
        let call =
            Call { method: Method::GET, endpoint, url, auth, headers: &[], body: None, purpose: Purpose::KeyAction };
        let body = send(&self.http, self.provider, &self.key, &call).await.map_err(|f| f.error)?;
        parse(self.provider, endpoint, &body)
    }

    /// Sends a key action (PATCH, POST or DELETE with an optional JSON body). Every action
    /// Burnrate sends is idempotent in effect (set disabled, block, set inactive, delete), so
    /// 429s, 5xx and timeouts are retried like reads: a repeat of an action that did happen
    /// changes nothing, except that a repeated DELETE finds nothing left to delete
    /// ([`ActionAnswer::GoneOnRetry`]).
    pub async fn send_action(
        &self,
        method: Method,
        endpoint: &str,
        url: Url,
        auth: Auth<'_>,
        body: Option<&serde_json::Value>,
    ) -> Result<ActionAnswer> {
        let is_delete = method == Method::DELETE;
        let call = Call { method, endpoint, url, auth, headers: &[], body, purpose: Purpose::KeyAction };
        match send(&self.http, self.provider, &self.key, &call).await {
            Ok(text) if text.trim().is_empty() => Ok(ActionAnswer::Body(serde_json::Value::Null)),
            Ok(text) => parse(self.provider, endpoint, &text).map(ActionAnswer::Body),
            Err(f) if is_delete && f.status == Some(StatusCode::NOT_FOUND) && f.attempts > 1 => {
                Ok(ActionAnswer::GoneOnRetry)
            }
            Err(f) => Err(f.error),
        }
    }
}

/// `base` joined with `path` (which must not start with '/'), keeping the base's path.
fn join_url(base: &Url, path: &str) -> Result<Url> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path).map_err(|e| Error::internal(format!("bad endpoint path {path}: {e}")))
}

/// What a request is for; it decides what a refusal tells the user to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Reading usage: a refusal names the key kind the usage endpoints need.
    Read,
    /// Acting on a key: a refusal names the key kind that may manage keys, and a 404 means
    /// the provider does not know the key.
    KeyAction,
}

struct Call<'a> {
    method: Method,
    /// Names the call in errors, e.g. `PATCH /keys/{hash}`.
    endpoint: &'a str,
    url: Url,
    auth: Auth<'a>,
    headers: &'a [(&'a str, &'a str)],
    body: Option<&'a serde_json::Value>,
    purpose: Purpose,
}

/// A call that failed for good: the error, the last HTTP status if there was one, and how
/// many attempts were made.
struct CallFailure {
    error: Error,
    status: Option<StatusCode>,
    attempts: u32,
}

/// Sends `call`, retrying 429, 5xx, timeouts and connection failures per the client's policy
/// (honouring `Retry-After`). Returns the whole body of a 2xx answer.
async fn send(http: &HttpClient, provider: ProviderId, key: &str, call: &Call<'_>) -> Result<String, CallFailure> {
    let policy = http.retry;
    let mut attempt = 1;
    loop {
        match send_once(http, provider, key, call).await {
            Ok(body) => return Ok(body),
            Err(Failure::Retryable { error, retry_after, .. }) if attempt < policy.max_attempts => {
                let backoff = policy.base_delay.saturating_mul(1 << (attempt - 1).min(16));
                let wait = retry_after.unwrap_or(backoff).min(policy.max_delay);
                let endpoint = call.endpoint;
                tracing::warn!(provider = %provider, endpoint, attempt, ?wait, "retrying: {}", error.message());
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(Failure::Retryable { error, status, .. }) | Err(Failure::Fatal { error, status }) => {
                return Err(CallFailure { error, status, attempts: attempt })
            }
        }
    }
}

async fn send_once(http: &HttpClient, provider: ProviderId, key: &str, call: &Call<'_>) -> Result<String, Failure> {
    let endpoint = call.endpoint;
    let mut request = http.client.request(call.method.clone(), call.url.clone());
    request = match call.auth {
        Auth::Bearer => request.bearer_auth(key),
        Auth::XApiKey => request.header("x-api-key", key).header("anthropic-version", "2023-06-01"),
        Auth::Header { name, prefix } => request.header(name, format!("{prefix}{key}")),
    };
    for (name, value) in call.headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = call.body {
        request = request.json(body);
    }
    let label = provider.label();
    let response = request.send().await.map_err(|e| Failure::from_transport(label, endpoint, e))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // Read the whole body: a connection cut mid-body is an error here, never a partial parse;
    // so is a body past the limit, which is not read further.
    let body = net::read_body(response, http.body_limit).await.map_err(|e| match e {
        BodyError::Transport(e) => Failure::from_transport(label, endpoint, e),
        BodyError::TooLarge { limit } => Failure::Fatal {
            error: Error::new(
                ErrorCode::UnexpectedResponse,
                format!(
                    "{label} sent more than {} at {endpoint}; Burnrate stopped reading and wrote nothing. Check the \
                     source's base URL; a usage answer is never that large",
                    net::size_text(limit)
                ),
            ),
            status: Some(status),
        },
    })?;
    if status.is_success() {
        return Ok(body);
    }
    let detail = provider_message(&body);
    let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
    let fatal = |error| Failure::Fatal { error, status: Some(status) };
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let needs = match call.purpose {
                Purpose::Read => provider.key_kind(),
                Purpose::KeyAction => provider.key_action_kind(),
            };
            fatal(Error::new(
                ErrorCode::KeyRejected,
                format!(
                    "{label} rejected the key ({} at {endpoint}{detail}); this endpoint needs: {needs}",
                    status.as_u16()
                ),
            ))
        }
        StatusCode::NOT_FOUND if call.purpose == Purpose::KeyAction => fatal(Error::new(
            ErrorCode::KeyNotFound,
            format!(
                "{label} does not know that key (404 at {endpoint}{detail}); it may be deleted already or belong \
                 to another account; sync the source and check the key id"
            ),
        )),
        StatusCode::TOO_MANY_REQUESTS => Failure::Retryable {
            error: Error::new(
                ErrorCode::RateLimited,
                format!("{label} is rate limiting {endpoint} (429{detail}); Burnrate will try again later"),
            ),
            retry_after,
            status: Some(status),
        },
        s if s.is_server_error() => Failure::Retryable {
            error: Error::new(
                ErrorCode::ProviderUnavailable,
                format!(
                    "{label} answered {} at {endpoint}{detail}; the provider is having trouble, try again later",
                    s.as_u16()
                ),
            ),
            retry_after,
            status: Some(status),
        },
        s => fatal(Error::new(
            ErrorCode::UnexpectedResponse,
            format!("{label} answered {} at {endpoint}{detail}; check the source's base URL", s.as_u16()),
        )),
    })
}

fn parse<'body, T: Deserialize<'body>>(provider: ProviderId, endpoint: &str, body: &'body str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| {
        Error::new(
            ErrorCode::UnexpectedResponse,
            format!(
                "{} sent a response Burnrate cannot read at {endpoint} ({e}); nothing was written. \
                 Check the base URL; if it is right, the provider may have changed its API",
                provider.label()
            ),
        )
    })
}

enum Failure {
    Retryable { error: Error, retry_after: Option<Duration>, status: Option<StatusCode> },
    Fatal { error: Error, status: Option<StatusCode> },
}

impl Failure {
    fn from_transport(label: &str, endpoint: &str, e: reqwest::Error) -> Failure {
        // reqwest's messages include the URL, never headers; redaction still runs in Error::new.
        if let Some(to) = net::refused_redirect(&e) {
            return Failure::Fatal {
                error: Error::new(
                    ErrorCode::RedirectRefused,
                    format!(
                        "{label} redirected {endpoint} to {to}; Burnrate does not send keys to another host, so the \
                         key was not sent. If the provider really moved, change the source's base URL to {to}"
                    ),
                ),
                status: None,
            };
        }
        if e.is_timeout() {
            Failure::Retryable {
                error: Error::new(
                    ErrorCode::Timeout,
                    format!("{label} did not answer {endpoint} in time; it may be overloaded, try again later"),
                ),
                retry_after: None,
                status: None,
            }
        } else if e.is_decode() || e.is_body() {
            Failure::Fatal {
                error: Error::new(
                    ErrorCode::UnexpectedResponse,
                    format!("{label} sent an incomplete response at {endpoint} ({e}); nothing was written, sync again"),
                ),
                status: None,
            }
        } else {
            Failure::Retryable {
                error: Error::new(
                    ErrorCode::Network,
                    format!(
                        "cannot reach {label} at {endpoint} ({}); check your connection and the base URL",
                        root_cause(&e)
                    ),
                ),
                retry_after: None,
                status: None,
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Pulls the human message out of the error bodies providers send
/// (`{"error":{"message":…}}`, `{"error":"…"}`, `{"message":…}`, `{"detail":…}`), short.
fn provider_message(body: &str) -> String {
    let v: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => return redact::excerpt(body, 200),
    };
    let pick = [
        v.pointer("/error/message"),
        v.pointer("/error").filter(|e| e.is_string()),
        v.pointer("/message"),
        v.pointer("/detail"),
    ];
    let message = pick.into_iter().flatten().next().map(|m| match m {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    redact::excerpt(&message.unwrap_or_default(), 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks pages whose "next" answers are `answers`, returning the cursors asked with.
    fn walk(answers: &[NextPage], max_pages: usize) -> (Vec<Option<String>>, Result<()>) {
        let mut walk = Pagination::new(ProviderId::Openai, "GET /organization/costs", max_pages);
        let mut asked = Vec::new();
        let mut answers = answers.iter().cloned();
        loop {
            match walk.next_page() {
                Ok(Some(cursor)) => asked.push(cursor),
                Ok(None) => return (asked, Ok(())),
                Err(e) => return (asked, Err(e)),
            }
            if let Err(e) = walk.followed_by(answers.next().expect("asked for a page past the answers")) {
                return (asked, Err(e));
            }
        }
    }

    #[test]
    fn a_walk_follows_each_new_cursor_until_the_last_page() {
        let (asked, done) = walk(&[NextPage::From("a".into()), NextPage::From("b".into()), NextPage::Last], 10);
        assert!(done.is_ok());
        assert_eq!(asked, vec![None, Some("a".into()), Some("b".into())]);
    }

    #[test]
    fn a_provider_that_never_gives_a_new_cursor_fails_instead_of_looping() {
        for answers in [
            vec![NextPage::Unknown],
            vec![NextPage::From(String::new())],
            vec![NextPage::From("a".into()), NextPage::From("a".into())],
        ] {
            let (_, done) = walk(&answers, 10);
            let e = done.unwrap_err();
            assert_eq!(e.code, ErrorCode::UnexpectedResponse);
            assert!(
                e.message().contains("OpenAI said more pages follow at GET /organization/costs"),
                "{}",
                e.message()
            );
        }
    }

    mod hostile {
        use std::io::{Read, Write};
        use std::net::TcpListener;

        use wiremock::matchers::{header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        use super::super::*;
        use crate::providers::relay::testing::{ctx, KEY};

        const NOW: &str = "2026-03-02T12:00:00Z";

        fn context(base: &str) -> PollContext {
            ctx(ProviderId::Anthropic, base, &[], ("2026-03-01", "2026-03-02"), NOW)
        }

        /// A provider that answers `/usage` with a redirect to `to`; `to` records what reaches it.
        async fn redirecting_to(to: &str, status: u16) -> MockServer {
            let from = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path("/usage"))
                .respond_with(ResponseTemplate::new(status).insert_header("location", to))
                .mount(&from)
                .await;
            from
        }

        #[tokio::test]
        async fn a_key_never_follows_a_redirect_to_another_host() {
            let elsewhere = MockServer::start().await;
            Mock::given(method("GET"))
                .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
                .mount(&elsewhere)
                .await;
            for status in [301, 302, 303, 307, 308] {
                let provider = redirecting_to(&format!("{}/stolen", elsewhere.uri()), status).await;
                let c = context(&provider.uri());
                for auth in [Auth::XApiKey, Auth::Bearer, Auth::Header { name: "X-Relay-Token", prefix: "" }] {
                    let e =
                        c.get_json::<serde_json::Value>("GET /usage", c.url("usage").unwrap(), auth).await.unwrap_err();
                    assert_eq!(e.code, ErrorCode::RedirectRefused, "{status} {auth:?}: {}", e.message());
                    assert!(e.message().contains(&elsewhere.uri()), "names where it pointed: {}", e.message());
                    assert!(e.message().contains("does not send keys"), "{}", e.message());
                    assert!(!e.message().contains(KEY));
                }
            }
            let reached = elsewhere.received_requests().await.unwrap();
            assert!(reached.is_empty(), "the other host was asked {} times", reached.len());
        }

        #[tokio::test]
        async fn a_redirect_within_the_provider_is_followed_with_the_key() {
            let provider = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path("/usage"))
                .respond_with(
                    ResponseTemplate::new(308).insert_header("location", format!("{}/v2/usage", provider.uri())),
                )
                .mount(&provider)
                .await;
            Mock::given(method("GET"))
                .and(path("/v2/usage"))
                .and(header("x-api-key", KEY))
                .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
                .mount(&provider)
                .await;
            let c = context(&provider.uri());
            let v: serde_json::Value = c.get_json("GET /usage", c.url("usage").unwrap(), Auth::XApiKey).await.unwrap();
            assert_eq!(v["ok"], true);
        }

        #[tokio::test]
        async fn a_body_past_the_limit_is_refused_whether_declared_or_not() {
            let provider = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path("/usage"))
                .respond_with(ResponseTemplate::new(200).set_body_string(format!("[{}0]", "0,".repeat(600))))
                .mount(&provider)
                .await;
            let mut c = context(&provider.uri());
            c.http = c.http.clone().with_body_limit(1000);
            let e = c
                .get_json::<serde_json::Value>("GET /usage", c.url("usage").unwrap(), Auth::XApiKey)
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::UnexpectedResponse);
            assert!(e.message().contains("sent more than 1000 bytes at GET /usage"), "{}", e.message());

            // An endless chunked body (no length declared): reading stops at the limit.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = std::thread::spawn(move || {
                let (mut stream, _) = listener.accept().unwrap();
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
                );
                let chunk = format!("{:x}\r\n{}\r\n", 4096, "[".repeat(4096));
                let mut sent = 0usize;
                // Stops once the client hangs up; the bound only keeps a broken test from running forever.
                while sent < 512 * 1024 * 1024 && stream.write_all(chunk.as_bytes()).is_ok() {
                    sent += 4096;
                }
                sent
            });
            let mut c = context(&format!("http://{addr}"));
            c.http = c.http.clone().with_body_limit(1024 * 1024);
            let e = c
                .get_json::<serde_json::Value>("GET /usage", c.url("usage").unwrap(), Auth::XApiKey)
                .await
                .unwrap_err();
            assert!(e.message().contains("sent more than 1 MiB"), "{}", e.message());
            drop(c); // hangs up: the connection task closes the socket once the runtime is free
            let sent = tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
            assert!(sent < 64 * 1024 * 1024, "the client went on reading: {sent} bytes");
        }

        #[tokio::test]
        async fn an_echoed_key_is_redacted_wherever_the_message_is_cut() {
            let provider = MockServer::start().await;
            let c = context(&provider.uri());
            for pad in 150..=210 {
                provider.reset().await;
                let body = format!("{} {KEY} is not valid", "x".repeat(pad));
                Mock::given(method("GET"))
                    .respond_with(ResponseTemplate::new(401).set_body_string(body))
                    .mount(&provider)
                    .await;
                let e = c
                    .get_json::<serde_json::Value>("GET /usage", c.url("usage").unwrap(), Auth::XApiKey)
                    .await
                    .unwrap_err();
                for prefix in 8..KEY.len() {
                    assert!(!e.message().contains(&KEY[..prefix]), "pad {pad}: {}", e.message());
                }
            }
        }
    }

    #[test]
    fn a_walk_stops_after_its_page_limit() {
        let endless: Vec<NextPage> = (0..10).map(|i| NextPage::From(format!("c{i}"))).collect();
        let (asked, done) = walk(&endless, 3);
        assert_eq!(asked.len(), 3);
        assert!(done.unwrap_err().message().contains("stopped after 3"));
    }
}
