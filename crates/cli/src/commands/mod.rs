//! One module per subcommand: each owns its clap arguments and a `run` that carries it out.

use burnrate_core::dto::Dimension;
use clap::ValueEnum;

pub mod alerts;
pub mod budget;
pub mod chart;
pub mod check;
pub mod import;
pub mod incident;
pub mod key;
pub mod report;
pub mod settings;
pub mod source;
pub mod sync;
pub mod watch;

/// How `report daily --by` and `chart --by` split spend.
#[derive(Clone, Copy, ValueEnum)]
pub enum By {
    Key,
    Model,
    Source,
}

pub fn dimension(by: By) -> Dimension {
    match by {
        By::Key => Dimension::Key,
        By::Model => Dimension::Model,
        By::Source => Dimension::Source,
    }
}
