//! Everything the CLI prints goes through here: human-readable lines ([`outln!`], [`errln!`],
//! [`print_table`]), JSON and documents ([`print_json`], [`print_raw`]).
//!
//! Names and messages come from providers, CSV files and gateways, so a human-readable line
//! shows control and bidirectional characters as escapes ([`printable`]): one line printed is
//! one line seen, and no escape sequence reaches the terminal. JSON and CSV are printed exactly
//! (serde and the CSV writer escape what those formats need). The macros (`print_stdout` and
//! `print_stderr` are denied in `main.rs`) keep every line on this path.
//!
//! A reader that stops early (`burnrate report daily | head -1`) closes the pipe: the process
//! then exits quietly with status 0, as if the output had been read to its end, instead of
//! panicking in `println!`.

use std::io::{ErrorKind, Write};

use burnrate_core::alerts::AlertView;
use burnrate_core::text::printable;
use burnrate_core::{Error, Result};

/// Prints one line of human-readable text on standard output (`format!` arguments).
macro_rules! outln {
    () => {
        $crate::output::out_line("")
    };
    ($($arg:tt)*) => {
        $crate::output::out_line(&format!($($arg)*))
    };
}
pub(crate) use outln;

/// Prints one line of human-readable text on standard error (`format!` arguments).
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::err_line(&format!($($arg)*))
    };
}
pub(crate) use errln;

/// One line on standard output: control and bidirectional characters shown as escapes.
pub fn out_line(text: &str) {
    write_stdout(format!("{}\n", printable(text)).as_bytes());
}

/// One line on standard error: control and bidirectional characters shown as escapes.
pub fn err_line(text: &str) {
    write_stderr(format!("{}\n", printable(text)).as_bytes());
}

/// A question on standard error, answered on the same line.
pub fn prompt(text: &str) {
    write_stderr(printable(text).as_bytes());
}

/// A document exactly as it is (CSV, a dossier) on standard output.
pub fn print_raw(text: &str) {
    write_stdout(text.as_bytes());
}

pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))?;
    write_stdout(format!("{text}\n").as_bytes());
    Ok(())
}

fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => {}
        // The reader has what it wanted and is gone: nothing more to say, to anyone.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            write_stderr(format!("error: cannot write to standard output: {e}\n").as_bytes());
            std::process::exit(1)
        }
    }
}

/// Errors writing to standard error are dropped: there is nowhere left to report them.
fn write_stderr(bytes: &[u8]) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(bytes).and_then(|()| err.flush());
}

/// Prints rows as aligned columns, each cell [`printable`] (so widths count what is shown).
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| printable(c).into_owned()).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out_line(parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// Says once on stderr why alerts did not reach the desktop (they are recorded regardless).
pub fn report_undelivered(alerts: &[AlertView]) {
    let mut reasons: Vec<&str> = alerts.iter().filter_map(|a| a.notify_error.as_deref()).collect();
    reasons.dedup();
    for reason in reasons {
        errln!("note: alerts not shown on the desktop: {reason}");
    }
}

/// One line per auto-disable action for `sync` and `watch`: what was done and where the report is.
pub fn auto_disabled_line(a: &burnrate_core::auto_disable::AutoDisabled) -> String {
    let what = match (a.dry_run, a.ok) {
        (true, _) => "dry run",
        (false, true) => "disabled",
        (false, false) => "FAILED",
    };
    let report = match (&a.dossier, &a.dossier_error) {
        (Some(path), _) => format!("; incident report: {path}"),
        (None, Some(e)) => format!("; incident report not written: {e}"),
        (None, None) => String::new(),
    };
    format!("auto-disable: {what}: key {} of {} (action #{}): {}{report}", a.key_id, a.source, a.action_id, a.detail)
}

/// One line per alert for `sync` and `watch`.
pub fn alert_line(a: &AlertView) -> String {
    format!("alert: {} — {}", a.title, a.body)
}
