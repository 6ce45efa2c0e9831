//! One module per subcommand: each owns its clap arguments and a `run` that carries it out.

use std::io::{BufRead, IsTerminal};

use burnrate_core::dto::Dimension;
use burnrate_core::{Error, ErrorCode, Result};
use clap::builder::TypedValueParser;

pub mod alerts;
pub mod auto_disable;
pub mod budget;
pub mod channel;
pub mod chart;
pub mod check;
pub mod doctor;
pub mod export;
pub mod import;
pub mod incident;
pub mod key;
pub mod metrics;
pub mod prices;
pub mod rates;
pub mod report;
pub mod serve;
pub mod settings;
pub mod source;
pub mod sync;
pub mod watch;

/// How `report daily --by` and `chart --by` read their value: the core's names (`key`,
/// `model`, `source`), the ones `burnrate serve` takes as `?by=`.
pub fn by_parser() -> impl TypedValueParser<Value = Dimension> {
    clap::builder::PossibleValuesParser::new(Dimension::ALL.map(Dimension::as_str))
        .try_map(|name: String| Dimension::parse(&name).map_err(|e| e.message().to_owned()))
}

/// Reads one secret (an API key, a webhook URL, a password) from standard input, prompting
/// when a person is typing. `example` shows how to pipe it in.
pub fn read_secret_from_stdin(what: &str, example: &str) -> Result<String> {
    if std::io::stdin().is_terminal() {
        crate::output::prompt(&format!("Paste {what} and press Enter (input is not echoed to any log): "));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::invalid_input(format!("cannot read {what} from standard input: {e}")))?;
    let secret = line.trim().to_owned();
    if secret.is_empty() {
        return Err(Error::new(
            ErrorCode::KeyMissing,
            format!("nothing on standard input; pipe {what} in, e.g. `{example}`"),
        ));
    }
    Ok(secret)
}
