//! The background poller against a real ledger file and a loopback OpenRouter mock, on tokio's
//! paused clock: the poller's intervals and backoffs run in virtual time, moved by the test.
//!
//! The mock answers from wiremock's own thread, in real time. A paused runtime with nothing to
//! do auto-advances to its next timer, also while a request is in flight, which would fire the
//! HTTP timeout or a test's deadline at once. So each test holds auto-advance off for its whole
//! length ([`hold_the_clock`]: tokio does not auto-advance while a `spawn_blocking` task runs)
//! and moves the clock itself ([`Polls`]), in 10 ms steps; a poll that falls due runs to its end,
//! in real time with the clock standing still, before time moves on. Virtual time then never
//! passes during I/O, however loaded the machine is; waits for I/O are bounded in real time.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::clock::{Clock, SystemClock};
use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::poller::{PollState, PollerConfig, PollerEvent, PollerHandle};
use burnrate_core::providers::ProviderId;
use burnrate_core::{Burnrate, ErrorCode};
use tokio::sync::broadcast;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::TestCore;

const KEY: &str = "sk-or-v1-FAKE-poller-test-key-0000";

fn key_body() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/openrouter/key.json")).unwrap()
}

fn core(dir: &std::path::Path, server: &MockServer) -> Arc<Burnrate> {
    core_on(dir, server, SystemClock)
}

/// [`core`] reading the wall-clock time from `clock`.
fn core_on(dir: &std::path::Path, server: &MockServer, clock: impl Clock + 'static) -> Arc<Burnrate> {
    let core = bare_core(dir, clock);
    core.add_source(&openrouter_source(server)).unwrap();
    core
}

/// A core with the test key in its environment and no source yet.
fn bare_core(dir: &std::path::Path, clock: impl Clock + 'static) -> Arc<Burnrate> {
    Arc::new(TestCore::builder(dir).clock(clock).env(&[("POLLER_TEST_KEY", KEY)]).build())
}

/// The loopback OpenRouter `server` as a source named "or", its key in the environment.
fn openrouter_source(server: &MockServer) -> AddSourceRequest {
    AddSourceRequest {
        provider: ProviderId::Openrouter,
        name: "or".into(),
        base_url: Some(format!("{}/api/v1", server.uri())),
        key: KeyInput::Env { var: "POLLER_TEST_KEY".into() },
        settings: None,
    }
}

fn fast() -> PollerConfig {
    PollerConfig {
        interval: Some(Duration::from_millis(300)),
        background: true,
        jitter: 0.0,
        backoff_base: Duration::from_millis(100),
        backoff_cap: Duration::from_millis(800),
        stop_timeout: Duration::from_secs(5),
    }
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Keeps the paused clock from auto-advancing while alive; drop it to let go.
struct HeldClock {
    _release: std::sync::mpsc::Sender<()>,
}

fn hold_the_clock() -> HeldClock {
    let (release, held) = std::sync::mpsc::channel::<()>();
    // Ends when `release` is dropped (at the end of the test, also when it panics).
    tokio::task::spawn_blocking(move || {
        let _ = held.recv();
    });
    HeldClock { _release: release }
}

/// How long a test waits, in real time, for what happens outside the virtual clock (the mock's
/// answers). A hang guard, far above what a poll takes.
const REAL_LIMIT: Duration = Duration::from_secs(10);

/// `fut`, or a panic after [`REAL_LIMIT`] of real time (timers stand still while held).
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    let (expired, expiry) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(REAL_LIMIT);
        let _ = expired.send(());
    });
    tokio::select! {
        out = fut => out,
        _ = expiry => panic!("{what}: not within {REAL_LIMIT:?} of real time"),
    }
}

/// Waits in real time until `check` holds (for the mock, which runs on its own thread).
async fn until_real(what: &str, mut check: impl AsyncFnMut() -> bool) {
    within(what, async {
        while !check().await {
            tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(10))).await.unwrap();
        }
    })
    .await;
}

/// Lets every task the last step woke run up to its next wait (the runtime has one thread).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Moves the held clock for a poller and records what the poller announced.
struct Polls {
    events: broadcast::Receiver<PollerEvent>,
    /// Every event so far, in order.
    log: Vec<PollerEvent>,
}

impl Polls {
    /// Subscribe before the poller's task first runs, so no event is missed.
    fn of(poller: &PollerHandle) -> Self {
        Polls { events: poller.subscribe(), log: Vec::new() }
    }

    fn finished(&self) -> usize {
        self.log.iter().filter(|e| matches!(e, PollerEvent::Finished(_))).count()
    }

    fn record(&mut self, event: Result<PollerEvent, broadcast::error::RecvError>) {
        self.log.push(event.expect("no poller event is lost"));
    }

    /// Returns once no poll is in flight, every event so far recorded.
    async fn idle(&mut self, poller: &PollerHandle) {
        loop {
            settle().await;
            loop {
                match self.events.try_recv() {
                    Err(broadcast::error::TryRecvError::Empty) => break,
                    Ok(e) => self.log.push(e),
                    Err(e) => panic!("poller events: {e}"),
                }
            }
            if !poller.status().iter().any(|s| s.state == PollState::Syncing) {
                return;
            }
            let event = within("the poll in flight to finish", self.events.recv()).await;
            self.record(event);
        }
    }

    /// Moves the clock `span` forward, letting each poll that falls due finish.
    async fn run_for(&mut self, poller: &PollerHandle, span: Duration) {
        let mut left = span;
        while !left.is_zero() {
            let step = left.min(Duration::from_millis(10));
            tokio::time::advance(step).await;
            left -= step;
            self.idle(poller).await;
        }
    }

    /// Moves the clock until `check` holds, for at most 5 s of virtual time.
    async fn until(&mut self, poller: &PollerHandle, mut check: impl AsyncFnMut(&Self) -> bool) {
        self.idle(poller).await;
        for _ in 0..500 {
            if check(self).await {
                return;
            }
            self.run_for(poller, Duration::from_millis(10)).await;
        }
        panic!("condition not reached in 5 s");
    }
}

/// A loopback OpenRouter whose `GET /key` answers with the fixture key (25.50 USD today).
async fn openrouter_answering_its_key() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/key"))
        .respond_with(ResponseTemplate::new(200).set_body_string(key_body()))
        .mount(&server)
        .await;
    server
}

#[tokio::test(start_paused = true)]
async fn polls_on_its_interval_and_reports_status() {
    let _held = hold_the_clock();
    let server = openrouter_answering_its_key().await;
    let dir = tempfile::tempdir().unwrap();
    let poller = PollerHandle::start(core(dir.path(), &server), fast());
    let mut polls = Polls::of(&poller);
    polls.idle(&poller).await;
    assert_eq!(requests(&server).await, 1, "the first poll comes at once");
    // 300 ms apart: not one millisecond early, and then at once.
    polls.run_for(&poller, Duration::from_millis(299)).await;
    assert_eq!(requests(&server).await, 1);
    polls.run_for(&poller, Duration::from_millis(1)).await;
    assert_eq!(requests(&server).await, 2);
    polls.run_for(&poller, Duration::from_millis(300)).await;
    assert_eq!(requests(&server).await, 3);
    let status = poller.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].source, "or");
    assert!(status[0].last_success_at.is_some() && status[0].last_error.is_none(), "{status:?}");
    assert!(status[0].next_poll_at.is_some());
    within("stop", poller.stop()).await;
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_and_name_the_error() {
    let _held = hold_the_clock();
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let poller = PollerHandle::start(core(dir.path(), &server), fast());
    let mut polls = Polls::of(&poller);
    polls.until(&poller, async |_| poller.status().first().is_some_and(|s| s.consecutive_failures >= 3)).await;
    let s = &poller.status()[0];
    assert_eq!(s.state, PollState::BackingOff);
    assert_eq!(s.last_error.as_ref().unwrap().code, ErrorCode::ProviderUnavailable);
    // 100, 200, 400, 800 (cap), 800 ms: in 1.5 s at most ~5 attempts, far fewer than a 300 ms interval would make.
    polls.run_for(&poller, Duration::from_millis(1500)).await;
    let n = requests(&server).await;
    assert!(n <= 7, "backoff should slow retries, saw {n}");
    assert!(n > 3, "failed polls are retried, saw {n}");
    within("stop", poller.stop()).await;
}

#[tokio::test(start_paused = true)]
async fn pause_stops_scheduled_polls_but_sync_now_still_works() {
    let _held = hold_the_clock();
    let server = openrouter_answering_its_key().await;
    let dir = tempfile::tempdir().unwrap();
    let poller = PollerHandle::start(core(dir.path(), &server), fast());
    let mut polls = Polls::of(&poller);
    polls.until(&poller, async |_| requests(&server).await >= 1).await;
    poller.set_paused(true).await;
    polls.run_for(&poller, Duration::from_millis(100)).await;
    let before = requests(&server).await;
    polls.run_for(&poller, Duration::from_millis(900)).await;
    assert_eq!(requests(&server).await, before, "no scheduled polls while paused");
    assert_eq!(poller.status()[0].state, PollState::Paused);

    let outcomes = within("sync now", poller.sync_now(Some("or".into()))).await.unwrap();
    assert!(outcomes[0].ok, "{outcomes:?}");
    assert_eq!(requests(&server).await, before + 1);

    poller.set_paused(false).await;
    polls.until(&poller, async |_| requests(&server).await >= before + 3).await;
    within("stop", poller.stop()).await;
}

/// `BURNRATE_POLL_SECONDS=off`: no poll at all, not even the start-up one that would otherwise
/// be due at once; asking still syncs.
#[tokio::test(start_paused = true)]
async fn background_off_polls_nothing_not_even_at_start_up_but_sync_now_works() {
    let _held = hold_the_clock();
    let server = openrouter_answering_its_key().await;
    let dir = tempfile::tempdir().unwrap();
    let poller = PollerHandle::start(core(dir.path(), &server), PollerConfig { background: false, ..fast() });
    let mut polls = Polls::of(&poller);
    polls.run_for(&poller, Duration::from_millis(2000)).await;
    assert_eq!(requests(&server).await, 0, "nothing polled in 2 s, not even at start-up");
    let outcomes = within("sync now", poller.sync_now(Some("or".into()))).await.unwrap();
    assert!(outcomes[0].ok, "{outcomes:?}");
    assert_eq!(requests(&server).await, 1);
    polls.run_for(&poller, Duration::from_millis(1000)).await;
    assert_eq!(requests(&server).await, 1, "and nothing on a schedule after it");
    within("stop", poller.stop()).await;
}

#[tokio::test(start_paused = true)]
async fn stop_lets_the_poll_in_flight_finish() {
    let _held = hold_the_clock();
    let server = MockServer::start().await;
    // The delay is real time, on the mock's thread: the poll is in flight for 600 ms.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(key_body()).set_delay(Duration::from_millis(600)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path(), &server);
    let poller =
        PollerHandle::start(core.clone(), PollerConfig { interval: Some(Duration::from_secs(3600)), ..fast() });
    let mut events = poller.subscribe();
    until_real("the first poll to reach the mock", async || requests(&server).await >= 1).await; // now in flight
    within("stop", poller.stop()).await;
    let sources = core.list_sources().unwrap();
    let run = sources[0].last_sync.as_ref().expect("the in-flight poll was written");
    assert!(run.ok);
    // A view follows the poller from its events alone: the source syncing, then its result,
    // then scheduled again with the success recorded.
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    let states: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            PollerEvent::StatusChanged(list) => list.iter().find(|s| s.source == "or").map(|s| s.state),
            _ => None,
        })
        .collect();
    assert!(states.contains(&PollState::Syncing), "{states:?}");
    assert_eq!(states.last(), Some(&PollState::Scheduled), "{states:?}");
    let last_status = seen.iter().rev().find_map(|e| match e {
        PollerEvent::StatusChanged(list) => Some(list),
        _ => None,
    });
    assert!(last_status.unwrap()[0].last_success_at.is_some());
    assert_eq!(seen.iter().filter(|e| matches!(e, PollerEvent::Finished(o) if o.len() == 1)).count(), 1);
}

#[tokio::test(start_paused = true)]
async fn sync_now_includes_a_source_added_while_the_poller_slept() {
    let _held = hold_the_clock();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(key_body()))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let first = core(dir.path(), &server);
    first.remove_source("or").unwrap();
    let poller =
        PollerHandle::start(first.clone(), PollerConfig { interval: Some(Duration::from_secs(3600)), ..fast() });
    let mut polls = Polls::of(&poller);
    polls.run_for(&poller, Duration::from_millis(200)).await; // the poller found no sources and sleeps
    let again = core(dir.path(), &server); // adds "or" to the same ledger
    drop(again);
    let outcomes = within("sync now", poller.sync_now(None)).await.unwrap();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(outcomes[0].ok);
    within("stop", poller.stop()).await;
}

#[derive(Default)]
struct Captured(std::sync::Mutex<Vec<burnrate_core::notify::Notice>>);
impl burnrate_core::notify::Notifier for Captured {
    fn notify(&self, notice: &burnrate_core::notify::Notice) -> burnrate_core::Result<()> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn alerts_fired_by_a_poll_are_shown_and_announced_once() {
    let _held = hold_the_clock();
    // The key spent 25.50 USD today.
    let server = openrouter_answering_its_key().await;
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path(), &server);
    let mut core = Arc::into_inner(core).unwrap();
    let captured = Arc::new(Captured::default());
    core = core.with_notifier(captured.clone());
    core.set_setting("time_zone", "UTC").unwrap();
    core.add_budget(&burnrate_core::budgets::AddBudgetRequest {
        scope: "total".into(),
        period: "day".into(),
        amount: "20".into(),
        currency: None,
        thresholds: None,
    })
    .unwrap();
    let poller = PollerHandle::start(Arc::new(core), fast());
    let mut polls = Polls::of(&poller);
    polls.until(&poller, async |polls| polls.finished() >= 3).await;
    within("stop", poller.stop()).await;
    // What came up to the third poll's results, as a subscriber reading them in order sees it.
    let mut announced = Vec::new();
    let mut finished = 0;
    for event in &polls.log {
        if finished == 3 {
            break;
        }
        match event {
            PollerEvent::Finished(_) => finished += 1,
            PollerEvent::AlertsFired(alerts) => announced.push((finished, alerts.clone())),
            PollerEvent::Progress(_) | PollerEvent::StatusChanged(_) => {}
        }
    }
    assert_eq!(finished, 3);
    assert_eq!(announced.len(), 1, "only the first poll fires: {announced:#?}");
    let (after, alerts) = &announced[0];
    assert_eq!(*after, 1, "announced right after the first poll's results");
    let threshold = alerts.iter().find(|a| a.threshold.is_some()).expect("the budget alert");
    assert_eq!((threshold.threshold, threshold.amount.as_str()), (Some(100), "25.500000"));
    assert!(threshold.notified, "{threshold:?}");
    let notices = captured.0.lock().unwrap();
    assert_eq!(notices.len(), alerts.len());
    assert!(notices.iter().any(|n| n.summary == "100% of the daily budget: all sources"), "{notices:?}");
}

#[tokio::test(start_paused = true)]
async fn a_source_added_while_the_poller_runs_is_polled_at_once_when_woken() {
    let _held = hold_the_clock();
    let server = openrouter_answering_its_key().await;
    let dir = tempfile::tempdir().unwrap();
    let core = bare_core(dir.path(), SystemClock);
    let config = PollerConfig { interval: Some(Duration::from_secs(30 * 60)), ..fast() };
    let poller = PollerHandle::start(core.clone(), config);
    let mut polls = Polls::of(&poller);
    polls.run_for(&poller, Duration::from_secs(1)).await;
    assert_eq!(polls.finished(), 0, "no source, nothing to poll");

    core.add_source(&openrouter_source(&server)).unwrap();
    poller.wake();
    // Well before the poller's own once-a-minute look at the sources.
    polls.run_for(&poller, Duration::from_millis(100)).await;
    assert_eq!(polls.finished(), 1, "the new source was polled on being woken");
    assert_eq!(requests(&server).await, 1);
    within("stop", poller.stop()).await;
}

/// A budget added when the ledger already shows it passed fires at once, not at the next poll;
/// the next sync, idle in the same hour, fires nothing more.
#[tokio::test(flavor = "multi_thread")]
async fn a_budget_added_after_its_spend_fires_at_once() {
    let server = openrouter_answering_its_key().await;
    let dir = tempfile::tempdir().unwrap();
    let core = core(dir.path(), &server);
    let first = core.sync_with_alerts(None, None, None, None).await.unwrap();
    assert!(first.outcomes[0].ok && first.outcomes[0].rows_written > 0, "{:?}", first.outcomes);
    assert!(first.alerts.iter().all(|a| a.budget_id.is_none()));
    let tray = core.tray_status().unwrap();
    assert!(tray.as_of.is_some() && tray.stale.is_empty(), "fresh after a good sync: {tray:?}");
    // The tray's key item names its source, which opening it from the tray needs.
    assert_eq!(tray.top_keys.iter().map(|k| k.source.as_str()).collect::<Vec<_>>(), ["or"], "{tray:?}");

    let added = core
        .add_budget(&burnrate_core::budgets::AddBudgetRequest {
            scope: "total".into(),
            period: "day".into(),
            amount: "20".into(),
            currency: None,
            thresholds: None,
        })
        .unwrap();
    let fired: Vec<_> = added.alerts.iter().filter(|a| a.budget_id.is_some()).collect();
    assert_eq!(fired.len(), 1, "25.50 USD today passes a 20 USD daily budget: {:?}", added.alerts);
    assert_eq!((fired[0].budget_id, fired[0].threshold), (Some(added.budget.id), Some(100)));
    assert_eq!(core.list_alerts(None).unwrap().iter().filter(|a| a.budget_id.is_some()).count(), 1, "recorded");

    let after = core.sync_with_alerts(None, None, None, None).await.unwrap();
    assert_eq!(after.outcomes[0].rows_written, 0, "the same answer again changes nothing");
    assert!(after.alerts.iter().all(|a| a.budget_id.is_none()), "fired once: {:?}", after.alerts);
    assert_eq!(core.list_alerts(None).unwrap().iter().filter(|a| a.budget_id.is_some()).count(), 1);
}

/// A wall clock the test moves by hand, beside tokio's (monotonic) paused clock.
#[derive(Clone)]
struct WallClock(Arc<std::sync::Mutex<chrono::DateTime<chrono::Utc>>>);

impl WallClock {
    fn at(rfc3339: &str) -> Self {
        WallClock(Arc::new(std::sync::Mutex::new(rfc3339.parse().unwrap())))
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += chrono::TimeDelta::from_std(by).unwrap();
    }
}

impl Clock for WallClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn after_the_machine_slept_every_source_is_polled_at_once() {
    let _held = hold_the_clock();
    let server = openrouter_answering_its_key().await;
    let dir = tempfile::tempdir().unwrap();
    let wall = WallClock::at("2026-03-10T09:00:00Z");
    let config = PollerConfig { interval: Some(Duration::from_secs(30 * 60)), ..fast() };
    let poller = PollerHandle::start(core_on(dir.path(), &server, wall.clone()), config);
    let mut polls = Polls::of(&poller);
    polls.until(&poller, async |p| p.finished() >= 1).await;
    assert_eq!(requests(&server).await, 1, "the first poll comes at once");

    // Awake for two minutes: both clocks move alike and the source waits for its interval.
    for _ in 0..2 {
        wall.advance(Duration::from_secs(60));
        polls.run_for(&poller, Duration::from_secs(60)).await;
    }
    assert_eq!(requests(&server).await, 1, "nothing is due 2 minutes into a 30-minute interval");

    // Suspended for three hours: the wall clock jumps, the monotonic clock does not. The
    // poller's next wake (at most a minute later) sees it and polls instead of waiting out
    // the 28 minutes left of the interval.
    wall.advance(Duration::from_secs(3 * 3600));
    polls.run_for(&poller, Duration::from_secs(61)).await;
    assert_eq!(requests(&server).await, 2, "the first wake after the suspend polls at once");
    assert_eq!(polls.finished(), 2);

    // And then back to the schedule: no second catch-up poll.
    wall.advance(Duration::from_secs(120));
    polls.run_for(&poller, Duration::from_secs(120)).await;
    assert_eq!(requests(&server).await, 2);
    within("stop", poller.stop()).await;
}
