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
use crate::poll::SyncProgress;
use crate::prices::PriceTable;
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
}

impl HttpClient {
    pub fn new(timeout: Duration, retry: RetryPolicy) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("burnrate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpClient { client, retry })
    }

    pub fn default_client() -> Result<Self> {
        Self::new(Duration::from_secs(30), RetryPolicy::default())
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
    // Read the whole body: a connection cut mid-body is an error here, never a partial parse.
    let body = response.text().await.map_err(|e| Failure::from_transport(label, endpoint, e))?;
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
        Err(_) => return body.chars().take(200).collect::<String>().trim().to_owned(),
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
    message.unwrap_or_default().chars().take(300).collect()
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

    #[test]
    fn a_walk_stops_after_its_page_limit() {
        let endless: Vec<NextPage> = (0..10).map(|i| NextPage::From(format!("c{i}"))).collect();
        let (asked, done) = walk(&endless, 3);
        assert_eq!(asked.len(), 3);
        assert!(done.unwrap_err().message().contains("stopped after 3"));
    }
}
