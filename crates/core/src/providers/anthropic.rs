//! Anthropic Admin API: cost_report (billed per workspace/description) and usage_report/messages (tokens per key/model/hour, priced into estimates).
//! (Connector not written yet.)

use super::http::PollContext;
use super::{BoxFuture, Connector};
use crate::error::{Error, ErrorCode, Result};
use crate::ledger::PollResult;

pub struct Anthropic;

impl Connector for Anthropic {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            Err(Error::new(
                ErrorCode::Unsupported,
                format!("syncing {} sources is not supported yet", ctx.provider.label()),
            ))
        })
    }
}
