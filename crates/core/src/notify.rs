//! Desktop notifications for alerts, sent to the freedesktop notification daemon on the D-Bus
//! session bus (notify-rust over zbus, no libdbus).
//!
//! A notification is a convenience on top of the alert itself: callers record and show the alert
//! in the app whatever [`Notifier::notify`] returns, and treat
//! [`ErrorCode::NotificationsUnavailable`] as "tell the user once", not as a failed alert.
//!
//! notify-rust finds the session bus itself (`DBUS_SESSION_BUS_ADDRESS`, else
//! `$XDG_RUNTIME_DIR/bus`); there is no way to hand it an address, so this is the one place where
//! core code depends on the process environment.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use notify_rust::{Hint, Notification, NotificationHandle, Urgency};

use crate::error::{Error, ErrorCode, Result};
use crate::redact::redact;

/// Shown by the notification daemon as the sender.
const APP_NAME: &str = "Burnrate";
/// Icon theme name: the .deb and .rpm bundles install the app icon under the main binary's name.
const ICON_NAME: &str = "burnrate-desktop";
/// The bundles' desktop file is `Burnrate.desktop`; daemons use it to group and badge.
const DESKTOP_ENTRY: &str = "Burnrate";
/// Action id of the "Open" button, as sent to and reported back by the daemon.
pub const OPEN_ACTION: &str = "open";
const OPEN_LABEL: &str = "Open";
/// How long `notify` waits for the daemon to accept a notification. A daemon that D-Bus has to
/// start takes well under a second; one that hangs during activation would otherwise hold the
/// caller for the bus's activation timeout (25 s by default).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeUrgency {
    Normal,
    /// Daemons keep critical notifications on screen until dismissed.
    Critical,
}

/// One desktop notification. Callers build the texts from fingerprints, never from keys;
/// [`DesktopNotifier`] still redacts them before they leave the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub summary: String,
    pub body: String,
    /// What "Open" should focus, e.g. a key id. No "Open" button without it.
    pub open_target: Option<String>,
    pub urgency: NoticeUrgency,
}

pub trait Notifier: Send + Sync {
    fn notify(&self, notice: &Notice) -> Result<()>;
}

/// For headless use, or when the user turned notifications off: accepts and drops every notice.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullNotifier;

impl Notifier for NullNotifier {
    fn notify(&self, _notice: &Notice) -> Result<()> {
        Ok(())
    }
}

type OpenHandler = Arc<dyn Fn(String) + Send + Sync>;

/// Sends notices to the desktop's notification daemon on the session bus.
#[derive(Clone, Default)]
pub struct DesktopNotifier {
    on_open: Option<OpenHandler>,
}

impl std::fmt::Debug for DesktopNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopNotifier").field("has_open_handler", &self.on_open.is_some()).finish()
    }
}

impl DesktopNotifier {
    /// Notifications without buttons.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notifications with an "Open" button (when the notice has a target and the daemon can
    /// show buttons). `on_open` receives the notice's `open_target`, on a background thread,
    /// when the user presses it.
    pub fn with_open_handler(on_open: impl Fn(String) + Send + Sync + 'static) -> Self {
        DesktopNotifier { on_open: Some(Arc::new(on_open)) }
    }
}

impl Notifier for DesktopNotifier {
    /// Returns once the daemon has accepted the notification (waiting at most 3 s);
    /// waiting for the "Open" button happens on a background thread.
    fn notify(&self, notice: &Notice) -> Result<()> {
        let open = match (&self.on_open, &notice.open_target) {
            (Some(handler), Some(target)) => Some((handler.clone(), target.clone())),
            _ => None,
        };
        let summary = redact(&notice.summary).into_owned();
        let body = redact(&notice.body).into_owned();
        let urgency = match notice.urgency {
            NoticeUrgency::Normal => Urgency::Normal,
            NoticeUrgency::Critical => Urgency::Critical,
        };

        // zbus calls block, and one to a daemon that D-Bus is still starting can block for long:
        // the whole exchange runs on its own thread and the caller waits a bounded time.
        let (accepted_tx, accepted_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        thread::Builder::new()
            .name("desktop-notification".into())
            .spawn(move || {
                let shown = show(&summary, &body, urgency, open.is_some());
                match shown {
                    Err(e) => {
                        let _ = accepted_tx.send(Err(e.to_string()));
                    }
                    Ok((handle, offered_open)) => {
                        let _ = accepted_tx.send(Ok(()));
                        if let (true, Some((handler, target))) = (offered_open, open) {
                            // Blocks until the user acts on or dismisses the notification.
                            handle.wait_for_action(|action| {
                                if action == OPEN_ACTION {
                                    handler(target);
                                }
                            });
                        }
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start a thread for a desktop notification: {e}")))?;

        match accepted_rx.recv_timeout(ANSWER_TIMEOUT) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(detail)) => Err(unavailable(&detail)),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::new(
                ErrorCode::NotificationsUnavailable,
                format!(
                    "desktop notifications are unavailable: the notification daemon did not answer within {} s; \
                     restart your desktop's notification daemon (or log out and in again). Alerts are still \
                     recorded and shown in the app",
                    ANSWER_TIMEOUT.as_secs()
                ),
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(Error::internal("the desktop notification thread stopped without an answer; this is a bug"))
            }
        }
    }
}

/// Sends the notification; the flag says whether it carries the "Open" button.
fn show(
    summary: &str,
    body: &str,
    urgency: Urgency,
    wants_open: bool,
) -> notify_rust::error::Result<(NotificationHandle, bool)> {
    // Daemons without the "actions" capability drop buttons silently, and then nothing would
    // ever end the wait for one.
    let offer_open = wants_open && notify_rust::get_capabilities()?.iter().any(|c| c == "actions");
    let mut notification = Notification::new();
    notification
        .appname(APP_NAME)
        .icon(ICON_NAME)
        .hint(Hint::DesktopEntry(DESKTOP_ENTRY.into()))
        .summary(summary)
        .body(body)
        .urgency(urgency);
    if offer_open {
        notification.action(OPEN_ACTION, OPEN_LABEL);
    }
    Ok((notification.show()?, offer_open))
}

/// Turns notify-rust's error text into a message that says which part is missing. notify-rust
/// does not expose the zbus error, but errors the bus itself returns are named
/// `org.freedesktop.DBus.Error.*` (ServiceUnknown, NameHasNoOwner, Spawn.*): having one means a
/// bus answered and no daemon did. Anything else (I/O, address, handshake) means no usable bus.
fn unavailable(detail: &str) -> Error {
    let message = if detail.contains("org.freedesktop.DBus.Error.") {
        format!(
            "desktop notifications are unavailable: no notification daemon answers on the session bus ({detail}); \
             install or start one, such as your desktop's own (GNOME Shell and KDE Plasma include one; dunst or \
             mako elsewhere). Alerts are still recorded and shown in the app"
        )
    } else {
        format!(
            "desktop notifications are unavailable: cannot reach the D-Bus session bus ({detail}); run Burnrate in \
             a desktop session, which provides the bus and a notification daemon. Alerts are still recorded and \
             shown in the app"
        )
    };
    Error::new(ErrorCode::NotificationsUnavailable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_says_whether_the_bus_or_the_daemon_is_missing() {
        let no_daemon = unavailable(
            "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.Notifications was not provided by \
             any .service files",
        );
        assert_eq!(no_daemon.code, ErrorCode::NotificationsUnavailable);
        assert!(no_daemon.message().contains("no notification daemon"), "{}", no_daemon.message());
        assert!(no_daemon.message().contains("still recorded and shown in the app"), "{}", no_daemon.message());

        let no_bus = unavailable("I/O error: No such file or directory (os error 2)");
        assert_eq!(no_bus.code, ErrorCode::NotificationsUnavailable);
        assert!(no_bus.message().contains("cannot reach the D-Bus session bus"), "{}", no_bus.message());
        assert!(no_bus.message().contains("os error 2"), "{}", no_bus.message());
    }
}
