//! One module per subcommand: each owns its clap arguments and a `run` that carries it out.

pub mod budget;
pub mod check;
