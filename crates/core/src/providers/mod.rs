//! Providers: one module per API behind the [`Connector`] trait, each with its base URL
//! injected so tests point it at a loopback mock.
//!
//! Inside this folder, modules import each other directly (`super::id::ProviderId`); the rest
//! of the crate uses the names re-exported here.

pub mod anthropic;
mod catalog;
mod connector;
pub mod deepseek;
pub mod http;
mod id;
pub mod litellm;
pub mod openai;
pub mod openrouter;
pub mod relay;

pub use catalog::ProviderInfo;
pub use connector::{disable_unsupported, BoxFuture, Connector, DisableSupport, KeyTarget};
pub use http::{ActionAnswer, HttpClient, KeyActionContext, PollContext};
pub use id::ProviderId;
