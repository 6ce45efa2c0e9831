//! OpenAI-compatible relays: new-api/one-api /api/user/self, sub2api /v1/usage, and a custom JSON endpoint.
//! (Connector not written yet.)

use super::http::PollContext;
use super::{BoxFuture, Connector};
use crate::error::{Error, ErrorCode, Result};
use crate::ledger::PollResult;

pub struct NewApi;

impl Connector for NewApi {
    fn poll<'a>(&'a self, ctx: &'a PollContext) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            Err(Error::new(
                ErrorCode::Unsupported,
                format!("syncing {} sources is not supported yet", ctx.provider.label()),
            ))
        })
    }
}
