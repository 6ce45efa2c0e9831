//! LiteLLM proxy: daily activity per key and model, /key/info budgets.
//! (Connector not written yet.)

use super::http::PollContext;
use super::{BoxFuture, Connector};
use crate::error::{Error, ErrorCode, Result};
use crate::ledger::PollResult;

pub struct LiteLlm;

impl Connector for LiteLlm {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            Err(Error::new(
                ErrorCode::Unsupported,
                format!("syncing {} sources is not supported yet", ctx.provider.label()),
            ))
        })
    }
}
