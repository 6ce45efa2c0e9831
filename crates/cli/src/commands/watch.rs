//! `burnrate watch`: keep polling every source on its schedule until interrupted. `serve` runs
//! the same loop ([`start_poller`], [`log_until_stopped`]) next to its HTTP server.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use burnrate_core::poller::{PollerConfig, PollerEvent, PollerHandle};
use burnrate_core::{Burnrate, Result};
use clap::Args;
use tokio::sync::broadcast;

use crate::output::{alert_line, errln, outln, report_undelivered};

/// The longest `--every`: a week. Longer would not be watching, and the poller's timers (an
/// `Instant` plus the interval) must not overflow.
const LONGEST_EVERY_SECS: u64 = 7 * 24 * 3600;

#[derive(Args)]
pub struct WatchArgs {
    /// Poll every source this often instead of each provider's default interval (at most a week)
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(..=LONGEST_EVERY_SECS))]
    every: Option<u64>,
}

/// Takes the core by value: the poller keeps it for as long as it runs.
pub async fn run(app: Burnrate, args: WatchArgs) -> Result<ExitCode> {
    let poller = start_poller(Arc::new(app), &args);
    errln!("watching; press Ctrl-C to stop");
    let mut events = log_until_stopped(&poller).await;
    errln!("stopping after the poll in flight…");
    poller.stop().await;
    log_remaining(&mut events);
    Ok(ExitCode::SUCCESS)
}

/// Starts polling every source (alerts and channels follow each poll) on this runtime.
pub fn start_poller(app: Arc<Burnrate>, args: &WatchArgs) -> PollerHandle {
    let config =
        PollerConfig { interval: args.every.map(|s| Duration::from_secs(s.max(1))), ..PollerConfig::default() };
    PollerHandle::start(app, config)
}

/// Prints each poll's outcome and the alerts it fired until Ctrl-C or SIGTERM (or the poller
/// ends). The caller then stops the poller, which lets a poll in flight finish, and prints what
/// that poll did with [`log_remaining`].
pub async fn log_until_stopped(poller: &PollerHandle) -> broadcast::Receiver<PollerEvent> {
    let mut events = poller.subscribe();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            event = events.recv() => match event {
                Ok(event) => log_event(event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    events
}

/// Prints what the poller reported since [`log_until_stopped`] returned (the poll that was in
/// flight when asked to stop).
pub fn log_remaining(events: &mut broadcast::Receiver<PollerEvent>) {
    loop {
        match events.try_recv() {
            Ok(event) => log_event(event),
            Err(broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
}

fn log_event(event: PollerEvent) {
    match event {
        PollerEvent::Finished(outcomes) => {
            for o in outcomes {
                match o.error {
                    None => outln!("ok: {}: {} rows for {}..{}", o.source, o.rows_written, o.from, o.to),
                    Some(e) => outln!("error: {}: {}", o.source, e.message),
                }
            }
        }
        PollerEvent::AlertsFired(alerts) => {
            for a in &alerts {
                outln!("{}", alert_line(a));
            }
            report_undelivered(&alerts);
        }
        PollerEvent::Progress(_) | PollerEvent::StatusChanged(_) => {}
    }
}

/// Ctrl-C, or SIGTERM (what systemd and `kill` send) on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
