//! Desktop notifications. PROVISIONAL: the interface the notifier branch defines, so the alert
//! engine builds before it is merged; that branch's file replaces this one.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeUrgency {
    Normal,
    Critical,
}

/// One desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub summary: String,
    pub body: String,
    /// What "Open" focuses in the app, e.g. `key:SOURCE/KEY_ID`.
    pub open_target: Option<String>,
    pub urgency: NoticeUrgency,
}

pub trait Notifier: Send + Sync {
    fn notify(&self, notice: &Notice) -> crate::Result<()>;
}

/// Shows nothing.
pub struct NullNotifier;
impl Notifier for NullNotifier {
    fn notify(&self, _notice: &Notice) -> crate::Result<()> {
        Ok(())
    }
}
