//! The `fake-gateway` binary as the desktop WebDriver test uses it: it prints its URL, serves
//! until killed, and switches modes over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn http(url: &str, raw: &str) -> String {
    let mut s = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn prints_its_url_serves_and_switches_modes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-gateway"))
        .args(["--key", "sk-test-FAKE-bin-0000000000000001", "--multiplier-bp", "12000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let auth = "authorization: Bearer sk-test-FAKE-bin-0000000000000001\r\n";
    let models = http(&url, &format!("GET /v1/models HTTP/1.1\r\n{auth}\r\n"));
    assert!(models.starts_with("HTTP/1.1 200") && models.contains("gpt-4o-mini"), "{models}");
    let switched = http(&url, "POST /__fake/mode HTTP/1.1\r\ncontent-length: 4\r\n\r\nhtml");
    assert!(switched.starts_with("HTTP/1.1 200"), "{switched}");
    let body = r#"{"model":"gpt-4o","messages":[]}"#;
    let chat = http(
        &url,
        &format!("POST /v1/chat/completions HTTP/1.1\r\n{auth}content-length: {}\r\n\r\n{body}", body.len()),
    );
    assert!(chat.contains("text/html"), "{chat}");
    child.kill().unwrap();
    child.wait().unwrap();
}
