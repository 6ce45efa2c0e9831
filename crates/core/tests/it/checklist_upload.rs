//! Attaching a file's bytes (what the desktop app sends): stored like a file on disk, the
//! name sanitized, the same content once, duplicates and oversized uploads refused with
//! nothing half-saved.

use burnrate_core::checklist::dto::{EvidenceKind, Integrity, NewAssessmentRequest};
use burnrate_core::checklist::evidence::{self, MAX_FILE_BYTES};
use burnrate_core::ErrorCode;

use crate::common::{self, core, files_under};

fn new(c: &common::Core) -> i64 {
    c.core
        .new_assessment(&NewAssessmentRequest {
            name: "Example gateway".into(),
            base_url: "https://gateway.example/v1".into(),
            ..Default::default()
        })
        .unwrap()
        .id
}

#[test]
fn uploaded_bytes_are_stored_once_sanitized_and_verified() {
    let c = core();
    let id = new(&c);
    let e = c.core.attach_bytes(id, "payment.receipts", "../../receipt\u{7}.pdf", b"%PDF-1.4 fake receipt").unwrap();
    assert_eq!(e.kind, EvidenceKind::File);
    assert_eq!(e.name.as_deref(), Some("receipt_.pdf"));
    assert_eq!(e.size_bytes, Some(21));
    assert_eq!(e.integrity, Some(Integrity::Ok));
    assert_eq!(e.captured_at, common::NOW);
    let sha = e.sha256.clone().unwrap();
    assert_eq!(std::fs::read(evidence::blob_path(c.dir.path(), &sha).unwrap()).unwrap(), b"%PDF-1.4 fake receipt");

    // The same content on another question is stored once; on the same question it is refused.
    let again = c.core.attach_bytes(id, "paid.topup", "copy.pdf", b"%PDF-1.4 fake receipt").unwrap();
    assert_eq!(again.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(files_under(&evidence::evidence_dir(c.dir.path())).len(), 1);
    let dup = c.core.attach_bytes(id, "payment.receipts", "receipt.pdf", b"%PDF-1.4 fake receipt").unwrap_err();
    assert_eq!(dup.code, ErrorCode::EvidenceExists);
    assert_eq!(c.core.get_assessment(id).unwrap().evidence.len(), 2);
}

#[test]
fn bad_uploads_are_refused_and_leave_nothing_behind() {
    let c = core();
    let id = new(&c);
    assert_eq!(c.core.attach_bytes(id, "no.such.question", "a.txt", b"x").unwrap_err().code, ErrorCode::InvalidInput);
    assert_eq!(
        c.core.attach_bytes(999, "payment.receipts", "a.txt", b"x").unwrap_err().code,
        ErrorCode::AssessmentNotFound
    );
    let big = vec![0u8; MAX_FILE_BYTES as usize + 1];
    let e = c.core.attach_bytes(id, "payment.receipts", "huge.bin", &big).unwrap_err();
    assert_eq!(e.code, ErrorCode::EvidenceTooLarge);
    assert!(e.message().contains("at most 100 MB"), "{}", e.message());
    assert!(c.core.get_assessment(id).unwrap().evidence.is_empty());
    let stored: Vec<_> = files_under(&evidence::evidence_dir(c.dir.path()));
    assert!(stored.is_empty(), "{stored:?}");
}
