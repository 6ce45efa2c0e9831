//! DeepSeek: /user/balance snapshots per currency; spend is derived from balance drops.
//! (Connector not written yet.)

use super::http::PollContext;
use super::{BoxFuture, Connector};
use crate::error::{Error, ErrorCode, Result};
use crate::ledger::PollResult;

pub struct DeepSeek;

impl Connector for DeepSeek {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            Err(Error::new(
                ErrorCode::Unsupported,
                format!("syncing {} sources is not supported yet", ctx.provider.label()),
            ))
        })
    }
}
