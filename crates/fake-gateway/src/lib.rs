//! A fake OpenAI-compatible gateway on loopback, for tests of the gateway checklist's paid test
//! (core tests, CLI tests, the desktop WebDriver test). Hand-written HTTP/1.1 over std threads,
//! one connection per request (`connection: close`).
//!
//! Endpoints:
//! - `GET /v1/models`: `gpt-4o-mini`, `gpt-4o`.
//! - `POST /v1/chat/completions`: answers "OK" with a `usage` block; `stream: true` sends
//!   server-sent events ending in `data: [DONE]` (with a usage chunk when
//!   `stream_options.include_usage` is set). An unknown model is a 404 and a wrong key a 401,
//!   both with OpenAI's `{"error": {"message", "type", "code"}}` body. The unknown-model message
//!   quotes the caller's key, like careless gateways do, so tests can check it is redacted.
//! - `GET /api/user/self`: a new-api style balance (`quota`, `used_quota`, 500 000 units per
//!   USD) that drops by the list price of the tokens served × `multiplier_bp` / 10 000.
//! - `GET /v1/dashboard/billing/credit_grants`: the same balance as `total_available` (USD).
//! - `POST /__fake/mode`: switches the mode (body: `normal`, `hang`, …).
//!
//! Modes: `normal`; `hang` (chat completions never answer); `html` (chat completions answer an
//! HTML page with status 200); `malformed-sse` (streams broken events); `overcharge` (reports
//! 4000 completion tokens whatever `max_tokens` says, and bills them).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

pub const DEFAULT_KEY: &str = "sk-test-FAKE-gateway-key-0000000000001";
/// new-api's quota units per US dollar.
pub const QUOTA_PER_USD: i64 = 500_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Hang,
    Html,
    MalformedSse,
    Overcharge,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "normal" => Some(Mode::Normal),
            "hang" => Some(Mode::Hang),
            "html" => Some(Mode::Html),
            "malformed-sse" | "malformed_sse" => Some(Mode::MalformedSse),
            "overcharge" => Some(Mode::Overcharge),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub key: String,
    pub mode: Mode,
    /// What the balance drops by, relative to list price: 10 000 = list price, 15 000 = 1.5×.
    pub multiplier_bp: i64,
    pub initial_balance_micros: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            key: DEFAULT_KEY.to_owned(),
            mode: Mode::Normal,
            multiplier_bp: 10_000,
            initial_balance_micros: 10_000_000,
        }
    }
}

/// List prices the fake bills at, in micro-USD per million tokens (input, output); the same as
/// Burnrate's bundled table for these models.
fn price(model: &str) -> Option<(i64, i64)> {
    match model {
        "gpt-4o-mini" => Some((150_000, 600_000)),
        "gpt-4o" => Some((2_500_000, 10_000_000)),
        _ => None,
    }
}

/// Prompt tokens the fake reports for every call.
pub const PROMPT_TOKENS: i64 = 12;

struct State {
    config: Mutex<Config>,
    /// Charged so far at list price, in micro-USD × 10⁶ (exact).
    charged_e6: Mutex<i64>,
    requests: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl State {
    fn balance_micros(&self) -> i64 {
        let c = self.config.lock().unwrap();
        let charged = *self.charged_e6.lock().unwrap();
        c.initial_balance_micros - charged * c.multiplier_bp / 10_000 / 1_000_000
    }
    fn charge(&self, model: &str, prompt: i64, completion: i64) {
        if let Some((i, o)) = price(model) {
            *self.charged_e6.lock().unwrap() += prompt * i + completion * o;
        }
    }
}

pub struct FakeGateway {
    /// `http://127.0.0.1:PORT` (no trailing slash, no `/v1`).
    pub url: String,
    state: Arc<State>,
}

impl FakeGateway {
    /// Starts on a free loopback port, serving from background threads until dropped.
    pub fn start(config: Config) -> Self {
        Self::start_on(config, 0).expect("bind a loopback port")
    }

    pub fn start_on(config: Config, port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State {
            config: Mutex::new(config),
            charged_e6: Mutex::new(0),
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let st = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &st);
                });
            }
        });
        Ok(FakeGateway { url, state })
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.config.lock().unwrap().mode = mode;
    }

    pub fn key(&self) -> String {
        self.state.config.lock().unwrap().key.clone()
    }

    /// What is left, in micro-USD.
    pub fn balance_micros(&self) -> i64 {
        self.state.balance_micros()
    }

    /// `METHOD /path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

struct Request {
    method: String,
    path: String,
    auth: Option<String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").split('?').next().unwrap_or("").to_owned();
    let mut length = 0usize;
    let mut auth = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "authorization" => auth = Some(value.trim_start_matches("Bearer ").trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    Ok(Request { method, path, auth, body })
}

fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Status",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn json_error(stream: &mut TcpStream, status: u16, message: &str, kind: &str, code: &str) -> std::io::Result<()> {
    let body = json!({"error": {"message": message, "type": kind, "code": code}}).to_string();
    respond(stream, status, "application/json", &body)
}

fn handle(mut stream: TcpStream, st: &State) -> std::io::Result<()> {
    let req = read_request(&stream)?;
    st.requests.lock().unwrap().push(format!("{} {}", req.method, req.path));
    let config = st.config.lock().unwrap().clone();
    let authorized = req.auth.as_deref() == Some(config.key.as_str());
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/__fake/mode") => {
            let text = String::from_utf8_lossy(&req.body).into_owned();
            match Mode::parse(&text) {
                Some(m) => {
                    st.config.lock().unwrap().mode = m;
                    respond(&mut stream, 200, "text/plain", "ok")
                }
                None => respond(&mut stream, 400, "text/plain", "unknown mode"),
            }
        }
        ("GET", "/api/user/self") => {
            if !authorized {
                return respond(&mut stream, 401, "application/json", r#"{"success":false,"message":"invalid token"}"#);
            }
            let balance = st.balance_micros();
            let used = config.initial_balance_micros - balance;
            let per_micro = |m: i64| m * QUOTA_PER_USD / 1_000_000;
            let body = json!({"success": true, "message": "", "data": {
                "id": 1, "username": "fake", "quota": per_micro(balance), "used_quota": per_micro(used), "request_count": 0
            }});
            respond(&mut stream, 200, "application/json", &body.to_string())
        }
        ("GET", "/v1/dashboard/billing/credit_grants") => {
            if !authorized {
                return json_error(
                    &mut stream,
                    401,
                    "Incorrect API key provided",
                    "invalid_request_error",
                    "invalid_api_key",
                );
            }
            let balance = st.balance_micros();
            let body = json!({"object": "credit_summary", "total_available": balance as f64 / 1e6});
            respond(&mut stream, 200, "application/json", &body.to_string())
        }
        ("GET", "/v1/models") => {
            if !authorized {
                return json_error(
                    &mut stream,
                    401,
                    "Incorrect API key provided",
                    "invalid_request_error",
                    "invalid_api_key",
                );
            }
            let body = json!({"object": "list", "data": [
                {"id": "gpt-4o-mini", "object": "model", "created": 1_721_172_741, "owned_by": "fake"},
                {"id": "gpt-4o", "object": "model", "created": 1_715_367_049, "owned_by": "fake"}
            ]});
            respond(&mut stream, 200, "application/json", &body.to_string())
        }
        ("POST", "/v1/chat/completions") => chat(&mut stream, st, &config, &req, authorized),
        _ => json_error(&mut stream, 404, &format!("no route {}", req.path), "invalid_request_error", "not_found"),
    }
}

fn chat(stream: &mut TcpStream, st: &State, config: &Config, req: &Request, authorized: bool) -> std::io::Result<()> {
    match config.mode {
        Mode::Hang => {
            // Never answer; give up after a minute or when the gateway is dropped.
            for _ in 0..600 {
                if st.stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            return Ok(());
        }
        Mode::Html => {
            return respond(
                stream,
                200,
                "text/html; charset=utf-8",
                "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
            );
        }
        _ => {}
    }
    if !authorized {
        let given = req.auth.clone().unwrap_or_default();
        return json_error(
            stream,
            401,
            &format!("Incorrect API key provided: {given}. You can find your API key in the dashboard."),
            "invalid_request_error",
            "invalid_api_key",
        );
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or("").to_owned();
    if price(&model).is_none() {
        return json_error(
            stream,
            404,
            &format!("The model `{model}` does not exist or you do not have access to it (key {}).", config.key),
            "invalid_request_error",
            "model_not_found",
        );
    }
    let max_tokens = body["max_tokens"].as_i64().or(body["max_completion_tokens"].as_i64()).unwrap_or(16);
    let completion = if config.mode == Mode::Overcharge { 4000 } else { max_tokens.min(2) };
    st.charge(&model, PROMPT_TOKENS, completion);
    let usage = json!({"prompt_tokens": PROMPT_TOKENS, "completion_tokens": completion, "total_tokens": PROMPT_TOKENS + completion});
    let id = "chatcmpl-fake0001";
    if body["stream"].as_bool() == Some(true) {
        write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")?;
        if config.mode == Mode::MalformedSse {
            write!(stream, "data: {{\"id\":\"{id}\",\"choices\":[{{\"delta\":{{\"content\":\"O\"}}}}]}}\n\n")?;
            write!(stream, "data: {{\"id\": \"{id}\", \"choices\": [{{\"delta\n\n")?;
            write!(stream, "garbage without a field name\n\n")?;
            return stream.flush();
        }
        let chunk = |delta: Value, finish: Value| json!({"id": id, "object": "chat.completion.chunk", "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        for event in [
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"content": "O"}), Value::Null),
            chunk(json!({"content": "K"}), Value::Null),
            chunk(json!({}), json!("length")),
        ] {
            write!(stream, "data: {event}\n\n")?;
            stream.flush()?;
        }
        if body["stream_options"]["include_usage"].as_bool() == Some(true) {
            let last =
                json!({"id": id, "object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage});
            write!(stream, "data: {last}\n\n")?;
        }
        write!(stream, "data: [DONE]\n\n")?;
        return stream.flush();
    }
    let answer = json!({
        "id": id, "object": "chat.completion", "created": 1_772_452_800, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "length"}],
        "usage": usage
    });
    respond(stream, 200, "application/json", &answer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str, raw: &str) -> String {
        let mut s = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn chat_bills_the_balance_at_list_price_times_the_multiplier() {
        let g = FakeGateway::start(Config { multiplier_bp: 20_000, ..Config::default() });
        let body = r#"{"model":"gpt-4o","max_tokens":5,"messages":[]}"#;
        let raw = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nauthorization: Bearer {DEFAULT_KEY}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let out = request(&g.url, &raw);
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.contains("\"completion_tokens\":2"), "{out}");
        // 12 × 2.5 + 2 × 10 = 50 micro-USD at list price, ×2.
        assert_eq!(g.balance_micros(), 10_000_000 - 100);
        let out =
            request(&g.url, &format!("GET /api/user/self HTTP/1.1\r\nauthorization: Bearer {DEFAULT_KEY}\r\n\r\n"));
        assert!(out.contains("\"used_quota\":50"), "{out}");
    }

    #[test]
    fn a_wrong_key_gets_an_openai_shaped_401() {
        let g = FakeGateway::start(Config::default());
        let body = r#"{"model":"gpt-4o","messages":[]}"#;
        let raw = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nauthorization: Bearer nope\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let out = request(&g.url, &raw);
        assert!(out.starts_with("HTTP/1.1 401"), "{out}");
        assert!(out.contains("\"code\":\"invalid_api_key\""), "{out}");
    }
}
