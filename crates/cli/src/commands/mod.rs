//! One module per subcommand: each owns its clap arguments and a `run` that carries it out.

pub mod alerts;
pub mod budget;
pub mod check;
pub mod import;
pub mod incident;
pub mod key;
pub mod settings;
pub mod source;
