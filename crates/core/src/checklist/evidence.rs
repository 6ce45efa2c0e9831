//! The evidence store: files named by their SHA-256 under `<data dir>/evidence/<sha[0..2]>/<sha>`.
//!
//! A file is copied into a temporary file in the evidence directory while it is hashed, synced
//! to disk, then renamed to its hash: a crash leaves either the whole file or a stray temporary
//! file, never a half-written blob under a hash name. The same content is stored once. Sizes
//! are checked from the file's metadata before anything is read, and again while copying.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::dto::Integrity;
use crate::error::{Error, ErrorCode, Result};

/// The largest evidence file Burnrate keeps.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// Longest kept name, in characters (the extension is kept).
const MAX_NAME_CHARS: usize = 120;

pub fn evidence_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("evidence")
}

/// Where the content with this hash lives.
///
/// `None` for anything that is not a SHA-256 as this store writes it: the hash comes from a
/// ledger row, and a damaged or hostile one (`../../etc/x`, one character, non-ASCII) must
/// never be joined into a path or sliced.
pub fn blob_path(data_dir: &Path, sha256: &str) -> Option<PathBuf> {
    let sha256 = checked_sha256(sha256)?;
    Some(evidence_dir(data_dir).join(&sha256[..2]).join(sha256))
}

/// `sha256` if it is exactly 64 lowercase hex digits (what [`hex`] writes), else `None`.
pub fn checked_sha256(sha256: &str) -> Option<&str> {
    (sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(sha256)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
    /// False when the same content was already stored.
    pub created: bool,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::DataDirUnwritable,
        format!("cannot {what} {}: {e}; check the disk space and the data directory's permissions", path.display()),
    )
}

fn too_large(size: u64) -> Error {
    Error::new(
        ErrorCode::EvidenceTooLarge,
        format!(
            "the file is {} MB; evidence files can be at most {} MB. Attach a smaller export, or attach a URL or a note instead",
            size.div_ceil(1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

/// A file name that is safe to show and to use as a download name: the last path component,
/// no separators, no `..`, no control characters, at most 120 characters with the extension kept.
pub fn sanitize_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') { '_' } else { c })
        .collect();
    let mut cleaned = cleaned.trim().to_owned();
    while cleaned.contains("..") {
        cleaned = cleaned.replace("..", ".");
    }
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    let cleaned = if cleaned.is_empty() { "file".to_owned() } else { cleaned };
    if cleaned.chars().count() <= MAX_NAME_CHARS {
        return cleaned;
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.chars().count() <= 10 => (s.to_owned(), format!(".{e}")),
        _ => (cleaned.clone(), String::new()),
    };
    let keep = MAX_NAME_CHARS - ext.chars().count();
    format!("{}{ext}", stem.chars().take(keep).collect::<String>())
}

/// Copies the file at `src` into the store. Refuses anything over [`MAX_FILE_BYTES`] (from the
/// metadata, before reading) and anything that is not a regular file.
pub fn store_file(data_dir: &Path, src: &Path) -> Result<Stored> {
    let meta = std::fs::metadata(src).map_err(|e| {
        Error::new(ErrorCode::InvalidInput, format!("cannot read {}: {e}; check the path", src.display()))
    })?;
    if !meta.is_file() {
        return Err(Error::invalid_input(format!("{} is not a regular file; attach a file", src.display())));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(meta.len()));
    }
    let file = File::open(src).map_err(|e| {
        Error::new(ErrorCode::InvalidInput, format!("cannot open {}: {e}; check its permissions", src.display()))
    })?;
    store_reader(data_dir, file)
}

/// Stores bytes (a paid-test result) like a file.
pub fn store_bytes(data_dir: &Path, bytes: &[u8]) -> Result<Stored> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    store_reader(data_dir, bytes)
}

fn store_reader(data_dir: &Path, mut reader: impl Read) -> Result<Stored> {
    let dir = evidence_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".incoming-")
        .tempfile_in(&dir)
        .map_err(|e| io_error("create a temporary file in", &dir, e))?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| io_error("read", Path::new("the attachment"), e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > MAX_FILE_BYTES {
            // The file grew while it was copied; the temporary file is removed on drop.
            return Err(too_large(size));
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(|e| io_error("write", tmp.path(), e))?;
    }
    tmp.as_file().sync_all().map_err(|e| io_error("sync", tmp.path(), e))?;
    let sha256 = hex(&hasher.finalize());
    let dest = blob_path(data_dir, &sha256).expect("hex() writes 64 lowercase hex digits");
    if dest.is_file() && hash_file(&dest).ok().as_deref() == Some(sha256.as_str()) {
        return Ok(Stored { sha256, size, created: false });
    }
    let parent = dest.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(parent).map_err(|e| io_error("create", parent, e))?;
    tmp.persist(&dest).map_err(|e| io_error("store", &dest, e.error))?;
    if let Ok(d) = File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(Stored { sha256, size, created: true })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, streamed.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Re-hashes a stored file: ok, changed or missing; damaged when the recorded hash is not a
/// SHA-256 at all. Never ok without reading the whole file.
pub fn verify(data_dir: &Path, sha256: &str) -> Integrity {
    let Some(path) = blob_path(data_dir, sha256) else { return Integrity::Damaged };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => match hash_file(&path) {
            Ok(h) if h == sha256 => Integrity::Ok,
            Ok(_) => Integrity::Changed,
            // Unreadable: treat as changed (present, but not what was attached).
            Err(_) => Integrity::Changed,
        },
        _ => Integrity::Missing,
    }
}

/// Removes a stored file (after its last reference is gone). Missing is fine.
/// A damaged hash names no stored file: nothing is removed, least of all outside the store.
pub fn remove_blob(data_dir: &Path, sha256: &str) {
    if let Some(path) = blob_path(data_dir, sha256) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_traversal_and_control_characters_but_keep_the_extension() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("C:\\Users\\me\\receipt.pdf"), "receipt.pdf");
        assert_eq!(sanitize_name("a\u{0}b\nc.png"), "a_b_c.png");
        assert_eq!(sanitize_name(".."), "file");
        assert_eq!(sanitize_name("..hidden..pdf"), "hidden.pdf");
        assert_eq!(sanitize_name(""), "file");
        let long = format!("{}.pdf", "x".repeat(300));
        let s = sanitize_name(&long);
        assert_eq!(s.chars().count(), 120);
        assert!(s.ends_with(".pdf"));
    }

    #[test]
    fn only_a_real_sha256_becomes_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let good = "0123456789abcdef".repeat(4);
        assert_eq!(checked_sha256(&good), Some(good.as_str()));
        for bad in ["", "a", "../../etc/x", &"A".repeat(64), &"0".repeat(63), &"0".repeat(65), &"é".repeat(32)] {
            assert_eq!(checked_sha256(bad), None, "{bad}");
            assert_eq!(blob_path(dir.path(), bad), None, "{bad}");
            assert_eq!(verify(dir.path(), bad), Integrity::Damaged, "{bad}");
            remove_blob(dir.path(), bad);
        }
    }

    #[test]
    fn the_same_content_is_stored_once_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let a = store_bytes(dir.path(), b"receipt").unwrap();
        let b = store_bytes(dir.path(), b"receipt").unwrap();
        assert!(a.created && !b.created);
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.sha256.len(), 64);
        assert!(blob_path(dir.path(), &a.sha256).unwrap().is_file());
        assert_eq!(verify(dir.path(), &a.sha256), Integrity::Ok);
        std::fs::write(blob_path(dir.path(), &a.sha256).unwrap(), b"receipT").unwrap();
        assert_eq!(verify(dir.path(), &a.sha256), Integrity::Changed);
        remove_blob(dir.path(), &a.sha256);
        assert_eq!(verify(dir.path(), &a.sha256), Integrity::Missing);
        // No temporary files left behind.
        let stray: Vec<_> = std::fs::read_dir(evidence_dir(dir.path()))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".incoming-"))
            .collect();
        assert!(stray.is_empty());
    }
}
