//! Staying resident in the tray: whether closing the window quits (the `close_to_tray`
//! setting), and the one notification that says Burnrate kept running, over a real ledger file.

use std::sync::{Arc, Mutex};

use burnrate_core::notify::{Notice, Notifier};
use burnrate_core::{Error, Result};

use crate::common::TestCore;

#[derive(Default)]
struct Captured(Mutex<Vec<Notice>>);
impl Notifier for Captured {
    fn notify(&self, notice: &Notice) -> Result<()> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

struct NoDaemon;
impl Notifier for NoDaemon {
    fn notify(&self, _: &Notice) -> Result<()> {
        Err(Error::internal("no notification daemon on the session bus"))
    }
}

#[test]
fn closing_to_the_tray_is_announced_once_ever_and_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let captured = Arc::new(Captured::default());
    let core = TestCore::builder(dir.path()).build().with_notifier(captured.clone());
    assert!(core.closes_to_tray(), "on by default");

    assert!(core.announce_running_in_tray().unwrap(), "shown the first time");
    assert!(!core.announce_running_in_tray().unwrap(), "not the second time");
    // Also not after a restart: the memory is in the ledger.
    let restarted = TestCore::builder(dir.path()).build().with_notifier(captured.clone());
    assert!(!restarted.announce_running_in_tray().unwrap());
    let notices = captured.0.lock().unwrap().clone();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].summary, "Burnrate keeps watching from the tray; Quit from its menu");
    assert_eq!(notices[0].open_target, None, "nothing to open: it is about the app itself");

    assert!(!restarted.set_setting("close_to_tray", "off").unwrap().close_to_tray);
    assert!(!restarted.closes_to_tray());
}

#[test]
fn a_notice_that_could_not_be_shown_is_tried_again_at_the_next_close() {
    let dir = tempfile::tempdir().unwrap();
    let without_daemon = TestCore::builder(dir.path()).build().with_notifier(Arc::new(NoDaemon));
    assert!(without_daemon.announce_running_in_tray().is_err());
    let captured = Arc::new(Captured::default());
    let with_daemon = TestCore::builder(dir.path()).build().with_notifier(captured.clone());
    assert!(with_daemon.announce_running_in_tray().unwrap(), "not marked as shown while it was not");
    assert_eq!(captured.0.lock().unwrap().len(), 1);
    // A core without a desktop (the CLI) never announces anything, nor remembers doing so.
    let other = tempfile::tempdir().unwrap();
    let headless = TestCore::builder(other.path()).build();
    assert!(!headless.announce_running_in_tray().unwrap());
}
