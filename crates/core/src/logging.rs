//! Log set-up shared by the CLI and the desktop shell. Every writer is wrapped in
//! [`Redacted`], so no log line reaches a terminal or a file with a key in it.

use std::path::Path;

use tracing_subscriber::fmt::MakeWriter;

use crate::redact::RedactingWriter;

/// A `MakeWriter` that redacts whatever the inner writer would receive.
pub struct Redacted<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacted<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// Daily log files `burnrate.YYYY-MM-DD.log` under `dir`, keeping the newest `keep` files.
pub fn daily_files(
    dir: &Path,
    keep: usize,
) -> std::io::Result<Redacted<tracing_appender::rolling::RollingFileAppender>> {
    std::fs::create_dir_all(dir)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("burnrate")
        .filename_suffix("log")
        .max_log_files(keep)
        .build(dir)
        .map_err(std::io::Error::other)?;
    Ok(Redacted(appender))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn log_files_are_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let files = daily_files(dir.path(), 3).unwrap();
        writeln!(files.make_writer(), "polling with key sk-proj-FAKEFAKEFAKEFAKE0042").unwrap();
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(entries.len(), 1);
        let name = entries[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("burnrate.") && name.ends_with(".log"), "{name}");
        let text = std::fs::read_to_string(&entries[0]).unwrap();
        assert_eq!(text, "polling with key sk-…0042\n");
    }
}
