//! The background poller: one task, owned by a [`PollerHandle`], that syncs every source on
//! its own schedule. Per-source interval with jitter, capped exponential backoff after
//! failures (at least the provider's `Retry-After` for rate limits), "sync now", pause and
//! resume, and a stop that lets a poll in flight finish (each poll is one transaction, so
//! even an abort would leave the ledger consistent; finishing it loses no fetched data).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use ts_rs::TS;

use crate::alerts::AlertView;
use crate::api::Burnrate;
use crate::dto::SyncOutcome;
use crate::error::{ApiError, ErrorCode};
use crate::poll::SyncProgress;
use crate::providers::ProviderId;

#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// Overrides the per-provider default interval (tests, `burnrate watch --every`).
    pub interval: Option<Duration>,
    /// Whether sources are polled on their schedule. Off (`BURNRATE_POLL_SECONDS=off` in the
    /// app: tests, demos, benchmarks), nothing is polled unless asked, not even at start-up,
    /// when every source is otherwise due at once; the alert outbox is still delivered.
    pub background: bool,
    /// ± this fraction of the interval, so many sources do not hit their APIs in lockstep.
    pub jitter: f64,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long [`PollerHandle::stop`] waits for a poll in flight.
    pub stop_timeout: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        PollerConfig {
            interval: None,
            background: true,
            jitter: 0.1,
            backoff_base: Duration::from_secs(60),
            backoff_cap: Duration::from_secs(60 * 60),
            stop_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PollState {
    Scheduled,
    Syncing,
    /// The last poll failed; the next one waits longer.
    BackingOff,
    Paused,
}

/// What the UI shows per source: when it last worked, when it will poll next, and the last
/// error with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SourceStatus {
    pub source: String,
    pub state: PollState,
    pub last_success_at: Option<String>,
    pub next_poll_at: Option<String>,
    pub last_error: Option<ApiError>,
    pub consecutive_failures: u32,
}

#[derive(Debug, Clone)]
pub enum PollerEvent {
    Progress(SyncProgress),
    Finished(Vec<SyncOutcome>),
    /// Alerts the polls fired (already recorded and handed to the notifier), after `Finished`.
    AlertsFired(Vec<AlertView>),
    /// Every source's status, whenever one changed (a poll started or ended, a backoff, a
    /// pause, a source added or removed): a view follows the poller without asking it.
    StatusChanged(Vec<SourceStatus>),
}

enum Command {
    SyncNow {
        source: Option<String>,
        reply: Option<oneshot::Sender<crate::Result<Vec<SyncOutcome>>>>,
    },
    SetPaused(bool),
    /// Look at the sources again now: one just added is due at once.
    Wake,
}

struct Schedule {
    due: Instant,
    failures: u32,
}

/// How much further the wall clock may move than the monotonic clock between two wakes before
/// Burnrate takes it for a suspend (the monotonic clock stops while the machine sleeps). Well
/// above what a time-synchronisation step moves it.
const SUSPEND_GAP: TimeDelta = TimeDelta::minutes(2);

/// The least time between two drains of the alert outbox outside polls.
const DELIVERY_PAUSE: Duration = Duration::from_secs(5);

/// Owns the poll task. Dropping the handle asks the task to stop after any poll in flight.
pub struct PollerHandle {
    commands: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    status: Arc<Mutex<BTreeMap<String, SourceStatus>>>,
    events: broadcast::Sender<PollerEvent>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stop_timeout: Duration,
}

impl PollerHandle {
    /// Starts polling on the current tokio runtime.
    pub fn start(core: Arc<Burnrate>, config: PollerConfig) -> Self {
        let (commands, rx) = mpsc::channel(16);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (events, _) = broadcast::channel(256);
        let status = Arc::new(Mutex::new(BTreeMap::new()));
        let stop_timeout = config.stop_timeout;
        let worker = Worker {
            core,
            config,
            status: status.clone(),
            events: events.clone(),
            paused: false,
            schedule: BTreeMap::new(),
            last_wake: None,
            last_delivery: None,
            rates_task: None,
        };
        let task = tokio::spawn(worker.run(rx, shutdown_rx));
        PollerHandle { commands, shutdown, status, events, task: Mutex::new(Some(task)), stop_timeout }
    }

    /// Syncs now (one source or all) and waits for the outcomes.
    pub async fn sync_now(&self, source: Option<String>) -> crate::Result<Vec<SyncOutcome>> {
        let (reply, rx) = oneshot::channel();
        let stopped = || crate::Error::internal("the poller has stopped");
        self.commands.send(Command::SyncNow { source, reply: Some(reply) }).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Asks for a sync of everything without waiting (tray menu).
    pub fn request_sync(&self) {
        let _ = self.commands.try_send(Command::SyncNow { source: None, reply: None });
    }

    /// Re-reads the sources and the alert outbox now instead of within the minute, so a source
    /// just added is polled at once (unless polling is paused) and alerts just recorded (a
    /// budget added) go to the channels at once. Does not wait.
    pub fn wake(&self) {
        let _ = self.commands.try_send(Command::Wake);
    }

    pub async fn set_paused(&self, paused: bool) {
        let _ = self.commands.send(Command::SetPaused(paused)).await;
    }

    pub fn status(&self) -> Vec<SourceStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PollerEvent> {
        self.events.subscribe()
    }

    /// Stops the task, letting a poll in flight finish (up to the configured timeout).
    pub async fn stop(self) {
        self.shutdown().await;
    }

    /// [`Self::stop`] for a handle that is shared (e.g. held in application state).
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(self.stop_timeout, task).await.is_err() {
                tracing::warn!(
                    "a poll did not finish within {:?} of shutdown; abandoned (nothing half-written)",
                    self.stop_timeout
                );
                abort.abort();
            }
        }
    }
}

impl Drop for PollerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

struct Worker {
    core: Arc<Burnrate>,
    config: PollerConfig,
    status: Arc<Mutex<BTreeMap<String, SourceStatus>>>,
    events: broadcast::Sender<PollerEvent>,
    paused: bool,
    schedule: BTreeMap<String, Schedule>,
    /// The monotonic and the wall-clock time of the last timed wake, to notice a suspend.
    last_wake: Option<(Instant, DateTime<Utc>)>,
    /// When the outbox was last drained outside a poll.
    last_delivery: Option<Instant>,
    /// The exchange-rate fetch running beside the polls, if any.
    rates_task: Option<tokio::task::JoinHandle<()>>,
}

impl Worker {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            self.refresh_sources();
            // While paused, only the outbox and the minute's re-read wake the loop.
            let timed = !self.paused && self.config.background;
            let next_due = if timed { self.schedule.values().map(|s| s.due).min() } else { None };
            let deliveries_due = self.deliveries_due();
            // Re-read the source list at least every minute so added sources start promptly.
            let wake = next_due
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(60))
                .min(Instant::now() + Duration::from_secs(60))
                .min(deliveries_due.unwrap_or_else(|| Instant::now() + Duration::from_secs(60)));
            tokio::select! {
                _ = shutdown.changed() => return,
                command = commands.recv() => match command {
                    None => return,
                    Some(Command::SetPaused(p)) => {
                        self.paused = p;
                        self.publish_states();
                    }
                    // The loop's next turn re-reads the sources; a new one is due at once.
                    Some(Command::Wake) => {}
                    Some(Command::SyncNow { source, reply }) => {
                        // A source added since the loop last looked must be included.
                        self.refresh_sources();
                        let names = match &source {
                            Some(name) => vec![name.clone()],
                            None => self.schedule.keys().cloned().collect(),
                        };
                        let result = self.poll(&names, source.is_some()).await;
                        if let Some(reply) = reply {
                            let _ = reply.send(result);
                        }
                    }
                },
                // Paused polling still delivers what is queued for the alert channels.
                _ = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    self.catch_up_after_suspend(now);
                    let due: Vec<String> = if !timed {
                        Vec::new()
                    } else {
                        self.schedule.iter().filter(|(_, s)| s.due <= now).map(|(n, _)| n.clone()).collect()
                    };
                    if !due.is_empty() {
                        // A poll also delivers what is queued for the alert channels.
                        let _ = self.poll(&due, false).await;
                    } else if deliveries_due.is_some_and(|d| d <= now) {
                        self.deliver().await;
                    }
                }
            }
        }
    }

    /// When a queued alert delivery (a retry, or one queued by a budget just added) is due, on
    /// the monotonic clock; not sooner than [`DELIVERY_PAUSE`] after the last drain, so a
    /// delivery that cannot make progress never spins the loop.
    fn deliveries_due(&self) -> Option<Instant> {
        let due = self.core.outbox_next_due().ok().flatten()?;
        let wait = (due - self.core.clock.now().timestamp()).max(0) as u64;
        // `due` comes from the ledger: a damaged row far in the future must not overflow.
        let at = after(Instant::now(), Duration::from_secs(wait));
        Some(self.last_delivery.map_or(at, |last| at.max(after(last, DELIVERY_PAUSE))))
    }

    async fn deliver(&mut self) {
        self.last_delivery = Some(Instant::now());
        match self.core.deliver_outbox().await {
            Ok(report) if report.delivered + report.retrying + report.given_up > 0 => {
                tracing::debug!(?report, "alert deliveries sent");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(code = ?e.code, "delivering alerts to the channels failed: {}", e.message()),
        }
    }

    /// After the machine slept, every source is due at once: timers run on the monotonic clock,
    /// which stands still during a suspend, so without this a source would wait out the rest
    /// of its interval after waking, however long the machine was away.
    fn catch_up_after_suspend(&mut self, now: Instant) {
        let wall = self.core.clock.now();
        let Some((then, then_wall)) = self.last_wake.replace((now, wall)) else { return };
        let awake = TimeDelta::from_std(now - then).unwrap_or(TimeDelta::MAX);
        let slept = (wall - then_wall) - awake;
        if slept > SUSPEND_GAP {
            tracing::info!(minutes = slept.num_minutes(), "the machine was suspended; polling every source now");
            for schedule in self.schedule.values_mut() {
                schedule.due = schedule.due.min(now);
            }
        }
    }

    /// Keeps the schedule in step with the sources in the ledger.
    fn refresh_sources(&mut self) {
        let Ok(sources) = self.core.list_sources() else { return };
        self.schedule.retain(|name, _| sources.iter().any(|s| &s.name == name));
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let before = status.len();
        status.retain(|name, _| sources.iter().any(|s| &s.name == name));
        let changed = status.len() != before || sources.iter().any(|s| !status.contains_key(&s.name));
        for s in &sources {
            self.schedule.entry(s.name.clone()).or_insert_with(|| Schedule { due: Instant::now(), failures: 0 });
            status.entry(s.name.clone()).or_insert_with(|| SourceStatus {
                source: s.name.clone(),
                state: PollState::Scheduled,
                last_success_at: s.last_sync.as_ref().filter(|r| r.ok).map(|r| r.finished_at.clone()),
                next_poll_at: None,
                last_error: s.last_sync.as_ref().and_then(|r| r.error.clone()),
                consecutive_failures: 0,
            });
        }
        drop(status);
        if changed {
            self.announce_status();
        }
    }

    /// Tells the views every source's status (see [`PollerEvent::StatusChanged`]).
    fn announce_status(&self) {
        let list: Vec<SourceStatus> = self.status.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        let _ = self.events.send(PollerEvent::StatusChanged(list));
    }

    async fn poll(&mut self, names: &[String], explicit: bool) -> crate::Result<Vec<SyncOutcome>> {
        let events = self.events.clone();
        let progress: crate::providers::http::ProgressFn = Arc::new(move |p| {
            let _ = events.send(PollerEvent::Progress(p));
        });
        if self.config.background {
            self.refresh_rates();
        }
        let mut outcomes = Vec::new();
        let mut alerts = Vec::new();
        for name in names {
            self.set_state(name, PollState::Syncing);
            let result = self.core.sync_with_alerts(Some(name), None, None, Some(progress.clone())).await;
            match result {
                Ok(mut report) => {
                    for outcome in &report.outcomes {
                        self.record(outcome);
                    }
                    outcomes.append(&mut report.outcomes);
                    alerts.append(&mut report.alerts);
                }
                // The source vanished or the ledger is unreadable: report it, keep polling others.
                Err(e) if explicit => return Err(e),
                Err(e) => tracing::warn!(source = %name, "poll skipped: {}", e.message()),
            }
        }
        let _ = self.events.send(PollerEvent::Finished(outcomes.clone()));
        if !alerts.is_empty() {
            let _ = self.events.send(PollerEvent::AlertsFired(alerts));
        }
        Ok(outcomes)
    }

    /// Fetches the day's exchange rates beside the poll, when conversion is in use (at most
    /// once a day; see [`crate::fx::sync_if_due`]). Beside, not before: an unreachable ECB
    /// must never hold up the providers' polls, and the cached rates keep working meanwhile.
    fn refresh_rates(&mut self) {
        if self.rates_task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let core = self.core.clone();
        self.rates_task = Some(tokio::spawn(async move {
            match core.refresh_rates_if_due().await {
                Ok(Some(done)) => tracing::info!(file = %done.file, rates = done.rates, "exchange rates fetched"),
                Ok(None) => {}
                Err(e) => tracing::warn!(code = ?e.code, "fetching exchange rates failed: {}", e.message()),
            }
        }));
    }

    fn record(&mut self, outcome: &SyncOutcome) {
        let interval = self.interval_for(&outcome.source);
        let sched =
            self.schedule.entry(outcome.source.clone()).or_insert(Schedule { due: Instant::now(), failures: 0 });
        let wait = if outcome.ok {
            sched.failures = 0;
            jittered(interval, self.config.jitter)
        } else {
            sched.failures += 1;
            let exp = self.config.backoff_base.saturating_mul(1 << (sched.failures - 1).min(16));
            let floor = match outcome.error.as_ref().map(|e| e.code) {
                // Rate limits: never sooner than a normal interval.
                Some(ErrorCode::RateLimited) => interval,
                _ => Duration::ZERO,
            };
            jittered(exp.min(self.config.backoff_cap).max(floor), self.config.jitter)
        };
        // The interval comes from settings or `--every` and the backoff grows with failures:
        // capped, so no configuration can panic the poller with an overflowing instant.
        let wait = wait.min(MAX_WAIT);
        sched.due = after(Instant::now(), wait);
        let failures = sched.failures;
        let now = self.core.clock.now();
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let entry = status.entry(outcome.source.clone()).or_insert_with(|| SourceStatus {
            source: outcome.source.clone(),
            state: PollState::Scheduled,
            last_success_at: None,
            next_poll_at: None,
            last_error: None,
            consecutive_failures: 0,
        });
        entry.consecutive_failures = failures;
        entry.next_poll_at =
            chrono::Duration::from_std(wait).ok().map(|w| crate::days::ts_to_rfc3339((now + w).timestamp()));
        if outcome.ok {
            entry.last_success_at = Some(crate::days::ts_to_rfc3339(now.timestamp()));
            entry.last_error = None;
            entry.state = if self.paused { PollState::Paused } else { PollState::Scheduled };
        } else {
            entry.last_error = outcome.error.clone();
            entry.state = if self.paused { PollState::Paused } else { PollState::BackingOff };
        }
        drop(status);
        self.announce_status();
    }

    fn interval_for(&self, name: &str) -> Duration {
        if let Some(i) = self.config.interval {
            return i;
        }
        let provider =
            self.core.list_sources().ok().and_then(|all| all.into_iter().find(|s| s.name == name)).map(|s| s.provider);
        provider.map(ProviderId::poll_interval).unwrap_or(Duration::from_secs(15 * 60))
    }

    fn set_state(&self, name: &str, state: PollState) {
        if let Some(s) = self.status.lock().unwrap_or_else(|p| p.into_inner()).get_mut(name) {
            s.state = state;
        }
        self.announce_status();
    }

    fn publish_states(&self) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        for s in status.values_mut() {
            s.state = match (self.paused, s.consecutive_failures) {
                (true, _) => PollState::Paused,
                (false, 0) => PollState::Scheduled,
                (false, _) => PollState::BackingOff,
            };
        }
        drop(status);
        self.announce_status();
    }
}

/// The longest any poller wait can be. An interval, backoff or queued delivery further away
/// is treated as this far: a year is "not soon" for every purpose, and `Instant + Duration`
/// panics when the sum overflows the platform's instant.
pub const MAX_WAIT: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// `now + wait`, with `wait` capped at [`MAX_WAIT`] and saturating: never panics, whatever
/// the interval, backoff or ledger row the wait was computed from.
pub fn after(now: Instant, wait: Duration) -> Instant {
    let wait = wait.min(MAX_WAIT);
    // Only an instant near the platform's end could fail the add; a minute is then the best wait.
    now.checked_add(wait).or_else(|| now.checked_add(Duration::from_secs(60))).unwrap_or(now)
}

/// `d` ± `fraction`, uniformly; a cheap time-seeded jitter is enough to spread polls.
/// `d` is capped at [`MAX_WAIT`] first and the fraction clamped to [0, 1], so the
/// multiplication cannot overflow (`mul_f64` panics on a result beyond `Duration::MAX`).
fn jittered(d: Duration, fraction: f64) -> Duration {
    let d = d.min(MAX_WAIT);
    if fraction.is_nan() || fraction <= 0.0 {
        return d;
    }
    let fraction = fraction.min(1.0);
    // A seed, not a reading of the time: the injected clock may be fixed (tests, BURNRATE_NOW).
    #[allow(clippy::disallowed_methods)]
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|t| t.subsec_nanos()).unwrap_or(0);
    let unit = f64::from(nanos % 10_000) / 10_000.0; // [0, 1)
    d.mul_f64(1.0 + fraction * (2.0 * unit - 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_saturates_at_the_cap_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(after(now, Duration::MAX), now + MAX_WAIT);
        assert_eq!(after(now, Duration::from_secs(u64::MAX)), now + MAX_WAIT);
        assert_eq!(after(now, Duration::from_secs(90)), now + Duration::from_secs(90));
    }

    #[test]
    fn jitter_of_a_huge_interval_is_capped_not_a_panic() {
        let d = jittered(Duration::MAX, 0.1);
        assert!(d <= MAX_WAIT.mul_f64(1.1) && d >= MAX_WAIT.mul_f64(0.9), "{d:?}");
        assert!(jittered(Duration::MAX, f64::INFINITY) <= MAX_WAIT * 2);
        assert_eq!(jittered(Duration::from_secs(60), f64::NAN), Duration::from_secs(60));
    }
}
