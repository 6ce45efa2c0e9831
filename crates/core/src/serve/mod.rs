//! `burnrate serve`'s HTTP server: `GET /metrics` (the exposition, negotiated by `Accept`),
//! `GET /healthz`, and a read-only JSON API under `/api/v1/` answering what the CLI's `--json`
//! outputs answer. Nothing writes through it. It lives in the core because the desktop app
//! exposes the same on loopback.
//!
//! Every ledger read runs on tokio's blocking pool (each opens its own connection and reads a
//! snapshot), so neither the poller nor the accept loop waits on SQLite. At most
//! [`ServeOptions::max_concurrent`] requests are answered at once; the rest queue, and any
//! request not answered within [`ServeOptions::request_timeout`] (queueing included) gets 503.
//! With a token every route but `/healthz` requires `Authorization: Bearer <token>`; binding
//! anything but loopback requires a token ([`check_listen`]).

mod health;
mod token;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::api::Burnrate;
use crate::dto::{Dimension, ReportQuery};
use crate::error::{ApiError, Error, ErrorCode, Result};
use crate::metrics::ExpositionFormat;

pub use health::{Health, SourceHealth};
pub use token::{check_listen, BearerToken, MIN_TOKEN_CHARS, TOKEN_ACCOUNT};

/// Where `serve` listens unless told otherwise: loopback only, so no token is needed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";
pub const DEFAULT_PORT: u16 = 9464;

/// How `serve` answers.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub token: Option<BearerToken>,
    /// Requests answered at once; the rest wait their turn (a scrape storm queues, it is not
    /// refused). Each one in progress holds a blocking thread and a ledger connection.
    pub max_concurrent: usize,
    /// The longest a request may take, waiting for its turn included; then 503.
    pub request_timeout: Duration,
    /// How long a connection may take to send its request headers; then it is closed.
    pub header_read_timeout: Duration,
}

impl ServeOptions {
    pub fn new(listen: SocketAddr, token: Option<BearerToken>) -> Self {
        ServeOptions {
            listen,
            token,
            max_concurrent: 32,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: HEADER_READ_TIMEOUT,
        }
    }
}

#[derive(Clone)]
struct AppState {
    app: Arc<Burnrate>,
    token: Option<Arc<BearerToken>>,
    turns: Arc<Semaphore>,
    request_timeout: Duration,
}

/// A bound server, not yet answering: [`Server::local_addr`] tells the port when 0 was asked.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    local_addr: SocketAddr,
    request_timeout: Duration,
    header_read_timeout: Duration,
}

/// How long a connection may take to send its request headers, unless told otherwise.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 1024;

impl Server {
    /// Checks the address against the token rule and binds it.
    pub async fn bind(app: Arc<Burnrate>, options: ServeOptions) -> Result<Server> {
        check_listen(options.listen, options.token.as_ref())?;
        let listener = tokio::net::TcpListener::bind(options.listen).await.map_err(|e| {
            Error::invalid_input(format!(
                "cannot listen on {}: {e}; is another `burnrate serve` (or the app's local server) running? \
                 Choose another address with --listen ADDR:PORT",
                options.listen
            ))
        })?;
        let local_addr =
            listener.local_addr().map_err(|e| Error::internal(format!("cannot read the bound address: {e}")))?;
        let state = AppState {
            app,
            token: options.token.map(Arc::new),
            turns: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
            request_timeout: options.request_timeout,
        };
        let (request_timeout, header_read_timeout) = (options.request_timeout, options.header_read_timeout);
        Ok(Server { listener, router: router(state), local_addr, request_timeout, header_read_timeout })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Answers until `shutdown` completes, then lets the requests in progress finish (for up
    /// to [`ServeOptions::request_timeout`]). Each connection must send its request headers
    /// within [`ServeOptions::header_read_timeout`], and at most [`MAX_CONNECTIONS`] are open at once, so idle
    /// or trickling clients cannot take the server's descriptors.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Server { listener, router, request_timeout, header_read_timeout, .. } = self;
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_read_timeout);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            // The semaphore is never closed, so acquiring only waits.
            let Ok(slot) = connections.clone().acquire_owned().await else { break };
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, a connection reset before it was taken: not fatal.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            let connection = graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!("a connection ended: {e}");
                }
                drop(slot);
            });
        }
        drop(listener);
        if tokio::time::timeout(request_timeout, graceful.shutdown()).await.is_err() {
            tracing::warn!("requests still in progress {} s after stopping; abandoned", request_timeout.as_secs());
        }
        Ok(())
    }
}

fn router(state: AppState) -> Router {
    let guarded = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/report/daily", get(report_daily))
        .route("/api/v1/keys", get(keys))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/sources", get(sources))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(guarded)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), one_turn_within_time))
        .with_state(state)
}

/// The HTTP status an error is answered with.
fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::NotFound | ErrorCode::SourceNotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Timeout
        | ErrorCode::LedgerBusy
        | ErrorCode::Database
        | ErrorCode::DataDirUnwritable
        | ErrorCode::DbTooNew => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `{"error":{"code","message"}}` with the status its code maps to.
fn error_response(e: &Error) -> Response {
    #[derive(Serialize)]
    struct Body {
        error: ApiError,
    }
    (status_of(e.code), Json(Body { error: ApiError::from(e) })).into_response()
}

fn answer<T: Serialize>(result: Result<T>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => error_response(&e),
    }
}

/// Runs a ledger read on the blocking pool.
async fn read<T, F>(state: &AppState, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Burnrate) -> Result<T> + Send + 'static,
{
    let app = state.app.clone();
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| Error::internal(format!("a ledger read stopped unexpectedly: {e}")))?
}

async fn one_turn_within_time(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let answered = async {
        // The semaphore is never closed, so acquiring only waits.
        let _turn = state.turns.acquire().await;
        next.run(request).await
    };
    match tokio::time::timeout(state.request_timeout, answered).await {
        Ok(response) => response,
        Err(_) => error_response(&Error::new(
            ErrorCode::Timeout,
            format!(
                "no answer within {} s: the server is busy (many requests at once, or the ledger is slow); try \
                 again shortly",
                state.request_timeout.as_secs()
            ),
        )),
    }
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let authorization = request.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
        if !token.admits(authorization) {
            let mut response = error_response(&Error::new(
                ErrorCode::Unauthorized,
                "this server requires a bearer token: send `Authorization: Bearer <token>` with the token \
                 `burnrate serve` was started with",
            ));
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"burnrate\""));
            return response;
        }
    }
    next.run(request).await
}

async fn not_found() -> Response {
    error_response(&Error::new(
        ErrorCode::NotFound,
        "no such page; try /metrics, /healthz or /api/v1/ summary, report/daily, keys, alerts, sources",
    ))
}

async fn method_not_allowed() -> Response {
    error_response(&Error::new(
        ErrorCode::MethodNotAllowed,
        "this server is read-only: only GET (and HEAD) are answered",
    ))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match read(&state, Burnrate::health).await {
        Ok(health) => Json(health).into_response(),
        Err(e) => {
            #[derive(Serialize)]
            struct Unhealthy {
                status: &'static str,
                error: ApiError,
            }
            (StatusCode::SERVICE_UNAVAILABLE, Json(Unhealthy { status: "error", error: ApiError::from(&e) }))
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = ExpositionFormat::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    match read(&state, move |app| app.metrics(format)).await {
        Ok(body) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn summary(State(state): State<AppState>) -> Response {
    answer(read(&state, Burnrate::spend_headline).await)
}

async fn report_daily(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let (query, convert_to) = match report_query(query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return error_response(&e),
    };
    match convert_to {
        // The rows only, as `report daily --convert-to CUR --json` prints them; a row without a
        // rate has `converted_amount` null.
        Some(target) => answer(read(&state, move |app| Ok(app.daily_report_converted(&query, &target)?.rows)).await),
        None => answer(read(&state, move |app| app.daily_report(&query)).await),
    }
}

async fn keys(State(state): State<AppState>) -> Response {
    answer(read(&state, Burnrate::key_table).await)
}

async fn alerts(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let limit = match alerts_limit(query.as_deref().unwrap_or("")) {
        Ok(l) => l,
        Err(e) => return error_response(&e),
    };
    answer(read(&state, move |app| app.list_alerts(limit)).await)
}

async fn sources(State(state): State<AppState>) -> Response {
    answer(read(&state, Burnrate::list_sources).await)
}

/// `?by=key&by=model` (or `by=key,model`), `from=`, `to=`, `convert_to=`: what `report daily
/// --by … --from … --to … --convert-to …` takes. The days and the currency are checked where the
/// CLI's are, in [`Burnrate::daily_report`] and [`Burnrate::daily_report_converted`].
pub fn report_query(query: &str) -> Result<(ReportQuery, Option<String>)> {
    let mut out = ReportQuery::default();
    let mut convert_to = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "by" => {
                for part in value.split(',').filter(|p| !p.trim().is_empty()) {
                    out.by.push(Dimension::parse(part)?);
                }
            }
            "from" => out.from = Some(value.into_owned()),
            "to" => out.to = Some(value.into_owned()),
            "convert_to" => convert_to = Some(value.into_owned()),
            other => {
                return Err(Error::invalid_input(format!(
                    "unknown parameter {other:?}; use by, from, to and convert_to"
                )));
            }
        }
    }
    Ok((out, convert_to))
}

fn alerts_limit(query: &str) -> Result<Option<u32>> {
    let mut limit = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "limit" => {
                limit = Some(value.trim().parse::<u32>().map_err(|_| {
                    Error::invalid_input(format!("limit={value:?} is not a whole number; e.g. limit=50"))
                })?);
            }
            other => return Err(Error::invalid_input(format!("unknown parameter {other:?}; use limit"))),
        }
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_queries_read_like_the_cli() {
        let (q, convert_to) = report_query("by=key&by=model,source&from=2026-03-01&to=2026-03-02").unwrap();
        assert_eq!(q.by, vec![Dimension::Key, Dimension::Model, Dimension::Source]);
        assert_eq!((q.from.as_deref(), q.to.as_deref()), (Some("2026-03-01"), Some("2026-03-02")));
        assert_eq!(convert_to, None);
        assert_eq!(report_query("convert_to=EUR&by=key").unwrap().1.as_deref(), Some("EUR"));
        assert!(report_query("").unwrap().0.by.is_empty());
        assert!(report_query("by=colour").unwrap_err().message().contains("key, model or source"));
        assert!(report_query("since=2026-01-01").unwrap_err().message().contains("unknown parameter"));
        assert_eq!(alerts_limit("limit=5").unwrap(), Some(5));
        assert!(alerts_limit("limit=-1").is_err());
    }

    #[test]
    fn error_codes_map_to_http_statuses() {
        assert_eq!(status_of(ErrorCode::InvalidInput), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(ErrorCode::Unauthorized), StatusCode::UNAUTHORIZED);
        assert_eq!(status_of(ErrorCode::Database), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_of(ErrorCode::Internal), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
