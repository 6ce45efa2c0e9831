//! Files Burnrate writes for the user (exports, reports, the price file, the window state):
//! written whole or not at all, so a crash, a full disk or a failed write never leaves a
//! half-written file where the previous one was.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory (so the
/// rename cannot cross file systems), flushed to disk, then renamed over `path`. Readers see
/// the old content or the new, never a mix. On any error the temporary file is removed and an
/// existing `path` is left as it was.
///
/// A file that is replaced keeps its permissions; a new one is readable by its owner only
/// (the temporary file's mode), as spend data should be.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{} names no file", path.display()))
    })?;
    // Hidden and named after the target, so a leftover after a power cut says what it was.
    let mut tmp =
        tempfile::Builder::new().prefix(&format!(".{}.", name.to_string_lossy())).suffix(".tmp").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_file() {
            tmp.as_file().set_permissions(meta.permissions())?;
        }
    }
    tmp.as_file().sync_all()?;
    // On failure the returned temporary file is dropped, which removes it.
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename itself is durable once the directory is synced; not every platform can.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_old_content_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new content").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new content");
        assert_eq!(names(dir.path()), ["report.md"]);
    }

    #[test]
    fn a_reader_sees_the_old_or_the_new_content_never_a_mix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("window_state.json");
        let (old, new) = (vec![b'o'; 256 * 1024], vec![b'n'; 512 * 1024]);
        write_atomic(&path, &old).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, stop, old, new) = (path.clone(), stop.clone(), old.clone(), new.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let got = std::fs::read(&path).unwrap();
                    assert!(got == old || got == new, "a read saw {} bytes, a mix", got.len());
                    reads += 1;
                }
                reads
            })
        };
        for i in 0..50 {
            write_atomic(&path, if i % 2 == 0 { &new } else { &old }).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        assert_eq!(names(dir.path()), ["window_state.json"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a directory: the rename fails after the temporary file was written.
        let target = dir.path().join("chart.svg");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), b"kept").unwrap();
        assert!(write_atomic(&target, b"<svg/>").is_err());
        assert!(target.is_dir());
        assert_eq!(std::fs::read(target.join("inside")).unwrap(), b"kept");
        assert_eq!(names(dir.path()), ["chart.svg"]);
        // A directory that does not exist: nothing is created.
        assert!(write_atomic(&dir.path().join("no/such/file"), b"x").is_err());
        assert_eq!(names(dir.path()), ["chart.svg"]);
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_directory_leaves_the_old_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.local.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        let result = write_atomic(&path, b"new");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // Root ignores directory permissions; then the write succeeds whole, which is also fine.
        match result {
            Err(_) => assert_eq!(std::fs::read(&path).unwrap(), b"old"),
            Ok(()) => assert_eq!(std::fs::read(&path).unwrap(), b"new"),
        }
        assert_eq!(names(dir.path()), ["prices.local.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.csv");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }
}
