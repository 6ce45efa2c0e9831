//! The serve token's sources, and `/healthz` on a ledger that cannot be read, in process over
//! loopback (the CLI's tests drive the real `burnrate serve`).

use crate::common::TestCore;

use std::sync::Arc;

use burnrate_core::secrets::MemoryStore;
use burnrate_core::serve::{ServeOptions, Server};
use burnrate_core::ErrorCode;

const TOKEN: &str = "tok-FAKEFAKEFAKEFAKE-serve-0007";

#[test]
fn the_token_comes_from_the_named_variable_else_the_secret_store_else_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path())
        .env(&[("SERVE_TOKEN", "tok-FAKEFAKEFAKEFAKE-from-env-01"), ("EMPTY_TOKEN", " ")])
        .secrets(MemoryStore::default())
        .build();
    assert!(core.serve_token(None).unwrap().is_none(), "nothing stored, nothing named");

    core.store_serve_token(TOKEN).unwrap();
    let stored = core.serve_token(None).unwrap().unwrap();
    assert!(stored.admits(Some(format!("Bearer {TOKEN}").as_bytes())));
    let from_env = core.serve_token(Some("SERVE_TOKEN")).unwrap().unwrap();
    assert!(from_env.admits(Some(b"Bearer tok-FAKEFAKEFAKEFAKE-from-env-01")), "the named variable wins");
    assert!(!from_env.admits(Some(format!("Bearer {TOKEN}").as_bytes())));

    let e = core.serve_token(Some("UNSET_TOKEN")).unwrap_err();
    assert_eq!(e.code, ErrorCode::KeyMissing);
    assert!(e.message().contains("UNSET_TOKEN (--token-env) is not set"), "{e}");
    assert_eq!(core.serve_token(Some("EMPTY_TOKEN")).unwrap_err().code, ErrorCode::KeyMissing);
    assert_eq!(core.serve_token(Some("not a name")).unwrap_err().code, ErrorCode::InvalidInput);
    assert!(core.store_serve_token("short").is_err(), "a short token is not stored");

    core.forget_serve_token().unwrap();
    assert!(core.serve_token(None).unwrap().is_none());
    core.forget_serve_token().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_503_with_the_reason_when_the_ledger_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ledger.sqlite3"), vec![b'x'; 8192]).unwrap();
    let core = Arc::new(TestCore::builder(dir.path()).build());
    let server = Server::bind(core, ServeOptions::new("127.0.0.1:0".parse().unwrap(), None)).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let response = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["error"]["code"], "database", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("burnrate doctor"), "{body}");
    let response = client.get(format!("{base}/api/v1/sources")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

/// A client that connects and sends nothing (or trickles its headers) is closed after the
/// header timeout, while a normal request on another connection is answered meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let core = Arc::new(TestCore::builder(dir.path()).build());
    let mut options = ServeOptions::new("127.0.0.1:0".parse().unwrap(), None);
    options.header_read_timeout = std::time::Duration::from_millis(500);
    let server = Server::bind(core, options).await.unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let started = std::time::Instant::now();
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200, "answered while another connection idles");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), idle.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the idle connection was not closed within 10 s");
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_millis(400), "closed after {waited:?}, before the timeout");
    assert!(!String::from_utf8_lossy(&answer).contains("\"status\":\"ok\""), "no answer to half a request");

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
