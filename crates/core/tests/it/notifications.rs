//! Desktop notifications over a real D-Bus: each scenario starts its own private `dbus-daemon`
//! and, where it needs one, tests/ci/notif-capture.py as the notification daemon, then points
//! this process at that bus with DBUS_SESSION_BUS_ADDRESS (notify-rust reads nothing else).
//!
//! That variable is process-wide, so every D-Bus scenario lives in one `#[test]`, in order; no
//! other test of the `it` binary talks to D-Bus (they all use in-memory secret stores and test
//! notifiers). It needs `dbus-daemon` and Debian's /usr/bin/python3 with
//! python3-dbus and python3-gi, so it is `#[ignore]`d by default; scripts/test runs it with
//! `--include-ignored` (scripts/setup --test installs the packages).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use burnrate_core::notify::{DesktopNotifier, Notice, NoticeUrgency, Notifier};
use burnrate_core::ErrorCode;
use serde_json::{json, Value};
use tempfile::TempDir;

const PYTHON: &str = "/usr/bin/python3";
/// Failures must come back well before this; notify itself gives a daemon 3 s to answer.
const FAILURE_BOUND: Duration = Duration::from_secs(5);
const STARTUP_BOUND: Duration = Duration::from_secs(10);

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

/// Reads the first line a child prints, or panics after `STARTUP_BOUND`.
fn first_line(child: &mut Child, what: &str) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(STARTUP_BOUND).unwrap_or_else(|_| panic!("{what} printed nothing within 10 s"));
    assert!(!line.trim().is_empty(), "{what} exited before it was ready (see its stderr above)");
    line.trim().to_owned()
}

/// A `dbus-daemon` of our own. Its configuration lists no system service directories, so no
/// installed daemon (dunst, …) can be activated behind the test's back.
struct PrivateBus {
    daemon: Child,
    address: String,
    dir: TempDir,
}

impl PrivateBus {
    fn start() -> Self {
        Self::start_with_activatable(None)
    }

    /// `activatable_exec`: a command D-Bus runs when a client calls the notification service.
    fn start_with_activatable(activatable_exec: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let services = dir.path().join("services");
        fs::create_dir(&services).unwrap();
        if let Some(exec) = activatable_exec {
            fs::write(
                services.join("org.freedesktop.Notifications.service"),
                format!("[D-BUS Service]\nName=org.freedesktop.Notifications\nExec={exec}\n"),
            )
            .unwrap();
        }
        let config = dir.path().join("bus.conf");
        fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("bus").display(),
                services.display()
            ),
        )
        .unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon runs (Debian package dbus; scripts/setup --test installs it)");
        let address = first_line(&mut daemon, "dbus-daemon");
        PrivateBus { daemon, address, dir }
    }

    /// Makes this process's session bus the private one.
    fn use_as_session_bus(&self) {
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &self.address);
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// tests/ci/notif-capture.py owning org.freedesktop.Notifications on a private bus.
struct CaptureServer {
    server: Child,
    capfile: PathBuf,
}

impl CaptureServer {
    fn start(bus: &PrivateBus, env: &[(&str, &str)]) -> Self {
        let capfile = bus.dir.path().join("notifications.jsonl");
        let mut server = Command::new(PYTHON)
            .arg(repo_file("tests/ci/notif-capture.py"))
            .arg(&capfile)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("/usr/bin/python3 runs (Debian's, with python3-dbus and python3-gi)");
        // It prints "ready" only once it owns the name, so no Notify can race its start.
        assert_eq!(first_line(&mut server, "notif-capture.py"), "ready");
        CaptureServer { server, capfile }
    }

    /// Everything captured so far. The server writes a line before it answers Notify.
    fn notifications(&self) -> Vec<Value> {
        fs::read_to_string(&self.capfile)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }
}

impl Drop for CaptureServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn notice(summary: &str, body: &str, open_target: Option<&str>, urgency: NoticeUrgency) -> Notice {
    Notice { summary: summary.into(), body: body.into(), open_target: open_target.map(Into::into), urgency }
}

fn budget_notice() -> Notice {
    notice(
        "Budget reached: OpenAI (work)",
        "Key sk-…abcd spent $12.50 of its $10.00 daily budget — 125 %",
        Some("key-42"),
        NoticeUrgency::Normal,
    )
}

/// Runs `notify`, which must fail with `notifications_unavailable` within `FAILURE_BOUND`;
/// returns the message and how long it took.
fn expect_unavailable(notifier: &dyn Notifier, notice: &Notice) -> (String, Duration) {
    let started = Instant::now();
    let err = notifier.notify(notice).expect_err("notify fails without a notification daemon");
    let took = started.elapsed();
    assert_eq!(err.code, ErrorCode::NotificationsUnavailable, "{}", err.message());
    assert!(took < FAILURE_BOUND, "notify took {took:?} to fail: {}", err.message());
    assert!(err.message().contains("still recorded and shown in the app"), "{}", err.message());
    (err.message().to_owned(), took)
}

#[test]
#[ignore = "needs dbus-daemon and /usr/bin/python3 with python3-dbus and python3-gi; run by scripts/test"]
fn desktop_notifications_over_a_private_session_bus() {
    // --- A daemon that shows buttons: texts, urgency and redaction arrive as sent.
    let bus = PrivateBus::start();
    let daemon = CaptureServer::start(&bus, &[]);
    bus.use_as_session_bus();
    let started = Instant::now();
    DesktopNotifier::new().notify(&budget_notice()).expect("the capture server accepts the notification");
    eprintln!("first notification accepted in {:?}", started.elapsed());
    DesktopNotifier::new()
        .notify(&notice("Spend spike: DeepSeek", "Today is 4.2× the 7-day average", None, NoticeUrgency::Critical))
        .unwrap();
    let fake_key = "sk-or-v1-FAKE-test-0000000000000000wxyz";
    DesktopNotifier::new()
        .notify(&notice(
            "Key rejected",
            &format!("OpenRouter answered 401 for {fake_key}"),
            None,
            NoticeUrgency::Normal,
        ))
        .unwrap();
    assert_eq!(
        daemon.notifications(),
        vec![
            json!({"id": 1, "app": "Burnrate", "icon": "burnrate-desktop",
                   "summary": "Budget reached: OpenAI (work)",
                   "body": "Key sk-…abcd spent $12.50 of its $10.00 daily budget — 125 %",
                   // No open handler, so no button, even though the notice has a target.
                   "actions": [], "urgency": 1}),
            json!({"id": 2, "app": "Burnrate", "icon": "burnrate-desktop",
                   "summary": "Spend spike: DeepSeek", "body": "Today is 4.2× the 7-day average",
                   "actions": [], "urgency": 2}),
            json!({"id": 3, "app": "Burnrate", "icon": "burnrate-desktop",
                   "summary": "Key rejected", "body": "OpenRouter answered 401 for sk-…wxyz",
                   "actions": [], "urgency": 1}),
        ]
    );
    drop(daemon);
    drop(bus);

    // --- The user presses "Open": the handler gets the target, and notify did not wait for it.
    // The press comes 1 s after Notify: notify-rust subscribes to ActionInvoked only after Notify
    // returns, and a signal sent before that reaches nobody (a real user is slower anyway).
    let bus = PrivateBus::start();
    let daemon = CaptureServer::start(&bus, &[("NOTIF_AUTO_ACTION", "open"), ("NOTIF_AUTO_ACTION_DELAY", "1000")]);
    bus.use_as_session_bus();
    let (opened_tx, opened_rx) = mpsc::channel();
    let notifier = DesktopNotifier::with_open_handler(move |target| {
        let _ = opened_tx.send(target);
    });
    let started = Instant::now();
    notifier.notify(&budget_notice()).unwrap();
    let returned_after = started.elapsed();
    assert!(opened_rx.try_recv().is_err(), "notify returned only after the button was pressed");
    let opened = opened_rx.recv_timeout(FAILURE_BOUND).expect("the Open handler runs after the press");
    eprintln!(
        "notify with a button returned in {returned_after:?}; Open handled {:?} after the call",
        started.elapsed()
    );
    assert_eq!(opened, "key-42");
    // A notice with nothing to open gets no button.
    notifier.notify(&notice("Poll failed: Anthropic", "Timed out after 30 s", None, NoticeUrgency::Normal)).unwrap();
    let actions: Vec<Value> = daemon.notifications().iter().map(|n| n["actions"].clone()).collect();
    assert_eq!(actions, vec![json!(["open", "Open"]), json!([])]);
    assert!(opened_rx.recv_timeout(Duration::from_millis(800)).is_err(), "the handler ran once, for the pressed one");
    drop(daemon);
    drop(bus);

    // --- A daemon without the "actions" capability would drop the button: none is offered.
    let bus = PrivateBus::start();
    let daemon = CaptureServer::start(&bus, &[("NOTIF_CAPABILITIES", "body")]);
    bus.use_as_session_bus();
    DesktopNotifier::with_open_handler(|_| {}).notify(&budget_notice()).unwrap();
    let captured = daemon.notifications();
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0]["actions"], json!([]));
    drop(daemon);
    drop(bus);

    // --- A bus with no notification daemon: the error names the missing daemon.
    let bus = PrivateBus::start();
    bus.use_as_session_bus();
    let (message, took) = expect_unavailable(&DesktopNotifier::new(), &budget_notice());
    assert!(message.contains("no notification daemon"), "{message}");
    assert!(message.contains("ServiceUnknown"), "{message}");
    eprintln!("no daemon: failed in {took:?}");
    // Also when the capabilities probe is the first call.
    let (message, took) = expect_unavailable(&DesktopNotifier::with_open_handler(|_| {}), &budget_notice());
    assert!(message.contains("no notification daemon"), "{message}");
    eprintln!("no daemon (with Open handler): failed in {took:?}");
    drop(bus);

    // --- A daemon D-Bus can start but that never takes its name: notify gives up after 3 s
    // instead of waiting for the bus's 25 s activation timeout.
    let bus = PrivateBus::start_with_activatable(Some("/bin/sleep 8"));
    bus.use_as_session_bus();
    let (message, took) = expect_unavailable(&DesktopNotifier::new(), &budget_notice());
    assert!(message.contains("did not answer within 3 s"), "{message}");
    assert!(took >= Duration::from_secs(3), "gave up after {took:?}");
    eprintln!("hanging activation: gave up in {took:?}");
    drop(bus);

    // --- No session bus at all.
    let nowhere = tempfile::tempdir().unwrap();
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", nowhere.path().join("bus").display()));
    let (message, took) = expect_unavailable(&DesktopNotifier::new(), &budget_notice());
    assert!(message.contains("cannot reach the D-Bus session bus"), "{message}");
    eprintln!("no bus: failed in {took:?}");
}
