//! Where Burnrate keeps its files. Resolved once at start-up from `--data-dir`,
//! `BURNRATE_DATA_DIR` or the platform data directory, then passed in.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone)]
pub struct Paths {
    data_dir: PathBuf,
}

impl Paths {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Paths { data_dir: data_dir.into() }
    }

    /// `explicit` (flag or `BURNRATE_DATA_DIR`) wins; otherwise the platform data directory
    /// (`~/.local/share/burnrate` on Linux, `~/Library/Application Support/burnrate` on macOS,
    /// `%APPDATA%\burnrate` on Windows).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Self> {
        match explicit {
            Some(dir) => Ok(Paths::new(dir)),
            None => dirs::data_dir().map(|d| Paths::new(d.join("burnrate"))).ok_or_else(|| {
                Error::new(
                    ErrorCode::DataDirUnwritable,
                    "cannot find a data directory for this user; pass --data-dir DIR or set BURNRATE_DATA_DIR",
                )
            }),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("ledger.sqlite3")
    }
    /// Where the desktop app writes exports (incident dossiers) the user asked for.
    pub fn export_dir(&self) -> PathBuf {
        self.data_dir.join("exports")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    /// Creates the data directory if needed and checks it can be written.
    pub fn ensure_writable(&self) -> Result<()> {
        let fail = |e: std::io::Error| {
            Error::new(
                ErrorCode::DataDirUnwritable,
                format!(
                    "cannot write to the data directory {} ({e}); fix its permissions or choose another with --data-dir",
                    self.data_dir.display()
                ),
            )
        };
        std::fs::create_dir_all(&self.data_dir).map_err(fail)?;
        let probe = self.data_dir.join(".write-test");
        std::fs::write(&probe, b"").map_err(fail)?;
        let _ = std::fs::remove_file(probe);
        Ok(())
    }
}
