//! The gateway checklist over a real data directory: answers and the verdict, the evidence
//! store (dedupe, tamper and deletion detection, name sanitizing, the size limit, nothing
//! half-saved), duplicate and delete, and the report snapshots.

use burnrate_core::checklist::content::{all_questions, ClaimKind};
use burnrate_core::checklist::dto::{
    Answer, EvidenceKind, Integrity, NewAssessmentRequest, PlannedModel, ReportFormat, SmokeCall, SmokePlan,
    SmokeResult, StreamCheck, VerdictLevel,
};
use burnrate_core::checklist::dto::{ErrorProbe, ErrorShape};
use burnrate_core::checklist::evidence::{self, MAX_FILE_BYTES};
use burnrate_core::{db, ErrorCode};

use crate::common::{self, core, files_under};

fn new(c: &common::Core, claim: &str) -> i64 {
    c.core
        .new_assessment(&NewAssessmentRequest {
            name: "Example gateway".into(),
            base_url: "https://gateway.example/v1".into(),
            claim: Some(claim.into()),
            ..Default::default()
        })
        .unwrap()
        .id
}

fn answer_all(c: &common::Core, id: i64, answer: Answer) {
    for (_, q) in all_questions() {
        c.core.answer(id, q.id, answer, None).unwrap();
    }
}

fn blobs(c: &common::Core) -> Vec<std::path::PathBuf> {
    files_under(&evidence::evidence_dir(c.dir.path()))
}

#[test]
fn answers_flags_and_evidence_drive_the_verdict() {
    let c = core();
    let id = new(&c, "Authorized reseller of the big providers");
    let v = c.core.get_assessment(id).unwrap();
    assert_eq!(v.claim.kind, ClaimKind::AuthorizedReseller);
    assert_eq!(v.claim_text.as_deref(), Some("Authorized reseller of the big providers"));
    assert_eq!(v.verdict.level, VerdictLevel::Incomplete);
    assert_eq!(v.verdict.headline, format!("Incomplete: {} questions unanswered", all_questions().count()));
    assert_eq!(v.recheck_due, "2026-05-31");

    answer_all(&c, id, Answer::Pass);
    let v = c.core.get_assessment(id).unwrap();
    assert_eq!(v.verdict.level, VerdictLevel::UsableUnauthorized, "{:?}", v.verdict);
    assert_eq!(v.verdict.headline, "Usable as an OpenAI-compatible gateway; authorization not proven");

    c.core.attach_url(id, "scope.relationship", "https://gateway.example/partners", Some("partner page")).unwrap();
    let v = c.core.get_assessment(id).unwrap();
    assert_eq!(v.verdict.level, VerdictLevel::Authorized, "{:?}", v.verdict);

    let v = c.core.set_red_flag(id, "anonymous_seller", true).unwrap();
    assert_eq!(v.verdict.level, VerdictLevel::DoNotUse);
    let v = c.core.set_red_flag(id, "anonymous_seller", false).unwrap();
    assert_eq!(v.verdict.level, VerdictLevel::Authorized);

    let v = c.core.answer(id, "keys.per_account", Answer::Fail, Some("one key for all buyers")).unwrap();
    assert_eq!(v.verdict.level, VerdictLevel::DoNotUse);
    let q = v.steps.iter().flat_map(|s| &s.questions).find(|q| q.id == "keys.per_account").unwrap();
    assert_eq!((q.answer, q.note.as_deref()), (Some(Answer::Fail), Some("one key for all buyers")));
    // A later answer without a note keeps the note.
    let v = c.core.answer(id, "keys.per_account", Answer::Pass, None).unwrap();
    let q = v.steps.iter().flat_map(|s| &s.questions).find(|q| q.id == "keys.per_account").unwrap();
    assert_eq!((q.answer, q.note.as_deref()), (Some(Answer::Pass), Some("one key for all buyers")));

    assert_eq!(c.core.answer(id, "no.such", Answer::Pass, None).unwrap_err().code, ErrorCode::InvalidInput);
    assert_eq!(c.core.set_red_flag(id, "nope", true).unwrap_err().code, ErrorCode::InvalidInput);
    assert_eq!(c.core.get_assessment(999).unwrap_err().code, ErrorCode::AssessmentNotFound);
    let list = c.core.list_assessments().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].answered as usize, all_questions().count());
}

#[test]
fn the_same_file_is_stored_once_and_a_duplicate_on_one_question_is_refused() {
    let c = core();
    let id = new(&c, "openai_compatible");
    let src = c.dir.path().join("receipt.pdf");
    std::fs::write(&src, b"%PDF-1.4 fake receipt").unwrap();
    let a = c.core.attach_file(id, "payment.receipts", &src).unwrap();
    let b = c.core.attach_file(id, "paid.topup", &src).unwrap();
    assert_eq!(a.sha256, b.sha256);
    assert_eq!((a.kind, a.integrity, a.size_bytes), (EvidenceKind::File, Some(Integrity::Ok), Some(21)));
    assert_eq!(blobs(&c).len(), 1, "{:?}", blobs(&c));
    let e = c.core.attach_file(id, "payment.receipts", &src).unwrap_err();
    assert_eq!(e.code, ErrorCode::EvidenceExists);
    assert!(e.message().contains("already attached to payment.receipts"), "{}", e.message());
    assert_eq!(c.core.get_assessment(id).unwrap().evidence.len(), 2);
    let e = c.core.attach_url(id, "tech.docs", "https://gateway.example/docs", None).unwrap();
    assert_eq!((e.kind, e.integrity, e.captured_at.as_str()), (EvidenceKind::Url, None, common::NOW));
    assert_eq!(
        c.core.attach_url(id, "tech.docs", "https://gateway.example/docs", None).unwrap_err().code,
        ErrorCode::EvidenceExists
    );
    assert_eq!(c.core.attach_url(id, "tech.docs", "file:///etc/passwd", None).unwrap_err().code, ErrorCode::InvalidUrl);
    c.core.attach_note(id, "tech.support", "asked about rate limits; answered in 2 h").unwrap();
    assert_eq!(c.core.attach_note(id, "tech.support", "  ").unwrap_err().code, ErrorCode::InvalidInput);
}

#[test]
fn a_changed_file_is_flagged_changed_and_a_deleted_one_missing() {
    let c = core();
    let id = new(&c, "authorized_reseller");
    let src = c.dir.path().join("contract.pdf");
    std::fs::write(&src, b"resale agreement, page 1").unwrap();
    let e = c.core.attach_file(id, "scope.relationship", &src).unwrap();
    answer_all(&c, id, Answer::Pass);
    assert_eq!(c.core.get_assessment(id).unwrap().verdict.level, VerdictLevel::Authorized);
    let blob = evidence::blob_path(c.dir.path(), e.sha256.as_deref().unwrap()).unwrap();
    assert_eq!(e.path.as_deref(), Some(blob.to_str().unwrap()));

    std::fs::write(&blob, b"resale agreement, page 2").unwrap();
    let v = c.core.get_assessment(id).unwrap();
    assert_eq!(v.evidence[0].integrity, Some(Integrity::Changed));
    assert_eq!(v.integrity_problems, 1);
    // Tampered evidence proves nothing: the claim falls back to "not proven".
    assert_eq!(v.verdict.level, VerdictLevel::UsableUnauthorized, "{:?}", v.verdict);
    assert_eq!(c.core.list_assessments().unwrap()[0].integrity_problems, 1);

    std::fs::remove_file(&blob).unwrap();
    let v = c.core.get_assessment(id).unwrap();
    assert_eq!(v.evidence[0].integrity, Some(Integrity::Missing));
    let md = c.core.assessment_report(id, ReportFormat::Md).unwrap();
    assert!(md.contains("| MISSING |"), "{md}");
    assert!(md.contains("1 file(s) changed, missing or damaged"), "{md}");
}

#[test]
fn a_ledger_row_whose_hash_is_not_a_sha256_is_damaged_and_never_a_path() {
    let c = core();
    let id = new(&c, "openai_compatible");
    // The file a hostile row points at: `evidence/./` + `./../victim.txt` is the data dir's
    // `victim.txt`, outside the store.
    let victim = c.dir.path().join("victim.txt");
    std::fs::write(&victim, b"not evidence").unwrap();
    let hostile = ["./../victim.txt", "a", "a\u{e9}", &"A".repeat(64)];
    let mut ids = Vec::new();
    for (n, q) in ["payment.receipts", "paid.topup", "data.policy", "tech.docs"].into_iter().enumerate() {
        let src = c.dir.path().join(format!("file{n}.pdf"));
        std::fs::write(&src, format!("evidence {n}")).unwrap();
        ids.push(c.core.attach_file(id, q, &src).unwrap().id);
    }
    let conn = db::open(&c.dir.path().join("ledger.sqlite3")).unwrap();
    // The schema checks the length, but a ledger written by anything else is not bound by it.
    conn.execute_batch("PRAGMA ignore_check_constraints = ON").unwrap();
    for (eid, sha) in ids.iter().zip(hostile) {
        conn.execute("UPDATE assessment_evidence SET sha256 = ?2 WHERE id = ?1", rusqlite::params![eid, sha]).unwrap();
    }
    let v = c.core.get_assessment(id).unwrap();
    assert_eq!(v.evidence.len(), 4);
    for e in &v.evidence {
        assert_eq!((e.integrity, e.path.as_deref()), (Some(Integrity::Damaged), None), "{e:?}");
    }
    assert_eq!(v.integrity_problems, 4);
    let md = c.core.assessment_report(id, ReportFormat::Md).unwrap();
    assert!(md.contains("DAMAGED"), "{md}");

    c.core.remove_evidence(id, ids[0]).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"not evidence");
    c.core.delete_assessment(id).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"not evidence");
}

#[test]
fn names_are_sanitized_and_keep_their_extension() {
    let c = core();
    let id = new(&c, "openai_compatible");
    let src = c.dir.path().join("..\\..\\evil\u{7}name..pdf");
    std::fs::write(&src, b"x").unwrap();
    let e = c.core.attach_file(id, "data.policy", &src).unwrap();
    assert_eq!(e.name.as_deref(), Some("evil_name.pdf"));
}

#[test]
fn a_2_gb_file_is_refused_before_it_is_read_and_nothing_is_saved() {
    let c = core();
    let id = new(&c, "openai_compatible");
    let big = c.dir.path().join("huge.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap(); // sparse: no disk used
    drop(f);
    let started = std::time::Instant::now();
    let e = c.core.attach_file(id, "payment.receipts", &big).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "the file was read: {:?}", started.elapsed());
    assert_eq!(e.code, ErrorCode::EvidenceTooLarge);
    assert!(e.message().contains("2048 MB") && e.message().contains("at most 100 MB"), "{}", e.message());
    assert_eq!(MAX_FILE_BYTES, 100 * 1024 * 1024);
    assert!(blobs(&c).is_empty(), "{:?}", blobs(&c));
    assert!(c.core.get_assessment(id).unwrap().evidence.is_empty());
}

#[test]
fn nothing_is_half_saved_when_the_assessment_or_question_is_wrong() {
    let c = core();
    let id = new(&c, "openai_compatible");
    let src = c.dir.path().join("terms.html");
    std::fs::write(&src, b"<h1>terms</h1>").unwrap();
    assert_eq!(c.core.attach_file(id + 1, "data.policy", &src).unwrap_err().code, ErrorCode::AssessmentNotFound);
    assert_eq!(c.core.attach_file(id, "data.nope", &src).unwrap_err().code, ErrorCode::InvalidInput);
    let missing = c.dir.path().join("gone.pdf");
    let e = c.core.attach_file(id, "data.policy", &missing).unwrap_err();
    assert!(e.message().contains("gone.pdf"), "{}", e.message());
    assert!(blobs(&c).is_empty(), "{:?}", blobs(&c));
    let conn = db::open(&c.dir.path().join("ledger.sqlite3")).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM assessment_evidence", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn duplicates_share_files_and_deleting_keeps_what_the_other_uses() {
    let c = core();
    let id = new(&c, "openai_compatible");
    let src = c.dir.path().join("invoice.pdf");
    std::fs::write(&src, b"invoice 42").unwrap();
    c.core.attach_file(id, "payment.receipts", &src).unwrap();
    c.core.answer(id, "payment.receipts", Answer::Pass, Some("invoice 42")).unwrap();
    c.core.set_red_flag(id, "no_terms", true).unwrap();
    let copy = c.core.duplicate_assessment(id).unwrap();
    assert_ne!(copy.id, id);
    assert_eq!(copy.duplicated_from, Some(id));
    assert_eq!(copy.evidence.len(), 1);
    assert!(copy.red_flags.iter().any(|f| f.id == "no_terms" && f.checked));
    assert_eq!(copy.verdict.level, VerdictLevel::DoNotUse);
    c.core.delete_assessment(id).unwrap();
    assert_eq!(blobs(&c).len(), 1, "the copy still uses the file");
    assert_eq!(c.core.get_assessment(copy.id).unwrap().evidence[0].integrity, Some(Integrity::Ok));
    c.core.delete_assessment(copy.id).unwrap();
    assert!(blobs(&c).is_empty());
    assert_eq!(c.core.delete_assessment(copy.id).unwrap_err().code, ErrorCode::AssessmentNotFound);
}

fn fixed_smoke() -> SmokeResult {
    let plan = SmokePlan {
        base_url: "https://gateway.example".into(),
        models: vec![PlannedModel { model: "gpt-4o".into(), calls: 2, worst_case_micros_per_call: 241 }],
        paid_calls: 3,
        free_calls: 3,
        max_tokens: 8,
        worst_case_micros: 723,
        cap_micros: 1_000_000,
        currency: "USD".into(),
        timeout_ms: 20_000,
        balance_source: Some("gw".into()),
        summary: "2 paid chat calls (2 × gpt-4o) plus 1 streaming call".into(),
    };
    let call = |n: u32, kind: &str, status: u16, ms: u64, tokens: Option<(i64, i64, i64)>, outcome: &str| SmokeCall {
        n,
        kind: kind.into(),
        model: Some("gpt-4o".into()),
        status: Some(status),
        latency_ms: ms,
        prompt_tokens: tokens.map(|t| t.0),
        completion_tokens: tokens.map(|t| t.1),
        cost_micros: tokens.map(|t| t.2),
        outcome: outcome.into(),
    };
    SmokeResult {
        base_url: plan.base_url.clone(),
        started_at: common::NOW.into(),
        finished_at: common::NOW.into(),
        plan,
        models_listed: vec!["gpt-4o".into(), "gpt-4o-mini".into()],
        calls: vec![
            call(1, "chat", 200, 120, Some((12, 2, 50)), "ok"),
            call(2, "chat", 200, 180, Some((12, 2, 50)), "ok"),
            call(3, "stream", 200, 200, Some((12, 2, 50)), "ok: 5 events"),
            call(4, "unknown_model", 404, 30, None, "HTTP 404, JsonErrorMessage"),
            call(5, "bad_key", 401, 25, None, "HTTP 401, JsonErrorMessage"),
        ],
        paid_calls_made: 3,
        paid_calls_ok: 2,
        latency_p50_ms: Some(120),
        latency_p95_ms: Some(180),
        prompt_tokens_reported: 36,
        completion_tokens_reported: 6,
        completion_tokens_max_expected: 24,
        calls_without_usage: 0,
        expected_cost_micros: 150,
        currency: "USD".into(),
        stream: Some(StreamCheck { ok: true, events: 5, done_seen: true, content_chars: 2, problem: None }),
        unknown_model: Some(ErrorProbe {
            status: Some(404),
            shape: ErrorShape::JsonErrorMessage,
            message: Some("The model `x` does not exist".into()),
        }),
        bad_key: Some(ErrorProbe {
            status: Some(401),
            shape: ErrorShape::JsonErrorMessage,
            message: Some("Incorrect API key".into()),
        }),
        balance_before_micros: Some(10_000_000),
        balance_after_micros: Some(9_999_775),
        billed_micros: Some(225),
        multiplier_bp: Some(15_000),
        balance_note: None,
        aborted: None,
        passed: true,
        evidence_id: None,
    }
}

#[test]
fn report_snapshots() {
    let c = core();
    let id = c
        .core
        .new_assessment(&NewAssessmentRequest {
            name: "Example <gateway> & co".into(),
            base_url: "https://gateway.example/v1".into(),
            claim: Some("\"Official\" authorized access".into()),
            recheck_after_days: Some(30),
            ..Default::default()
        })
        .unwrap()
        .id;
    for (_, q) in all_questions() {
        let a = match q.id {
            "data.training" => Answer::Unknown,
            "payment.refunds" => Answer::Fail,
            "region.account_accurate" => Answer::Na,
            _ => Answer::Pass,
        };
        c.core
            .answer(id, q.id, a, (q.id == "scope.providers").then_some("OpenAI and Anthropic models | <b>named</b>"))
            .unwrap();
    }
    let src = c.dir.path().join("partner-letter.pdf");
    std::fs::write(&src, b"partner letter").unwrap();
    c.core.attach_file(id, "scope.relationship", &src).unwrap();
    c.core.attach_url(id, "data.policy", "https://gateway.example/privacy", Some("retention 30 days")).unwrap();
    c.core.attach_note(id, "tech.support", "support answered in <2 h").unwrap();
    c.core.set_red_flag(id, "unlimited", false).unwrap();
    // A paid-test result as smoke_run saves it (fixed numbers instead of measured latencies).
    let conn = db::open(&c.dir.path().join("ledger.sqlite3")).unwrap();
    conn.execute(
        "INSERT INTO smoke_runs (assessment_id, evidence_id, started_at, finished_at, aborted, result) VALUES (?1, NULL, 0, 0, NULL, ?2)",
        rusqlite::params![id, serde_json::to_string(&fixed_smoke()).unwrap()],
    )
    .unwrap();
    let md = c.core.assessment_report(id, ReportFormat::Md).unwrap();
    insta::assert_snapshot!("report_md", md);
    let html = c.core.assessment_report(id, ReportFormat::Html).unwrap();
    assert!(!html.contains("<gateway>") && html.contains("Example &lt;gateway&gt; &amp; co"));
    assert!(!html.contains("<script") && !html.contains("http-equiv") && !html.contains("<link"));
    assert!(!html.contains("src="), "no external assets");
    insta::assert_snapshot!("report_html", html);
    let path = c.core.export_assessment_report(id, ReportFormat::Html).unwrap();
    assert!(path.starts_with(c.dir.path().join("exports")), "{}", path.display());
    assert_eq!(path.file_name().unwrap().to_str().unwrap(), format!("gateway-check-{id}-20260302T120000Z.html"));
}

#[test]
fn when_the_row_cannot_be_written_the_new_file_is_removed_too() {
    let c = core();
    let id = new(&c, "openai_compatible");
    let conn = db::open(&c.dir.path().join("ledger.sqlite3")).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse_evidence BEFORE INSERT ON assessment_evidence BEGIN SELECT RAISE(ABORT, 'disk says no'); END;",
    )
    .unwrap();
    let src = c.dir.path().join("terms.pdf");
    std::fs::write(&src, b"terms of service").unwrap();
    let e = c.core.attach_file(id, "data.policy", &src).unwrap_err();
    assert_eq!(e.code, ErrorCode::Database, "{}", e.message());
    assert!(blobs(&c).is_empty(), "a file without its row was left: {:?}", blobs(&c));
    // A file that was already stored (and is used elsewhere) stays.
    conn.execute_batch("DROP TRIGGER refuse_evidence").unwrap();
    c.core.attach_file(id, "data.policy", &src).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse_evidence BEFORE INSERT ON assessment_evidence BEGIN SELECT RAISE(ABORT, 'disk says no'); END;",
    )
    .unwrap();
    assert!(c.core.attach_file(id, "tech.docs", &src).is_err());
    assert_eq!(blobs(&c).len(), 1);
    assert_eq!(c.core.get_assessment(id).unwrap().evidence[0].integrity, Some(Integrity::Ok));
}

#[test]
fn details_can_be_changed_later_and_the_verdict_follows_the_claim() {
    let c = core();
    let id = new(&c, "openai_compatible");
    answer_all(&c, id, Answer::Pass);
    assert_eq!(c.core.get_assessment(id).unwrap().verdict.level, VerdictLevel::UsableUnauthorized);
    let mut req = NewAssessmentRequest {
        name: "Example gateway (EU)".into(),
        base_url: "https://eu.gateway.example/v1".into(),
        claim: Some("official_api".into()),
        recheck_after_days: Some(30),
        ..Default::default()
    };
    let v = c.core.update_assessment(id, &req).unwrap();
    assert_eq!(
        (v.name.as_str(), v.base_url.as_str(), v.recheck_after_days),
        ("Example gateway (EU)", "https://eu.gateway.example/v1", 30)
    );
    assert_eq!(v.claim.kind, ClaimKind::OfficialApi);
    // An authorization claim without evidence on scope.relationship is not usable as authorized.
    assert_ne!(v.verdict.level, VerdictLevel::Authorized);
    assert_eq!(
        v.steps.iter().flat_map(|s| &s.questions).filter(|q| q.answer.is_some()).count(),
        all_questions().count(),
        "answers kept"
    );

    req.recheck_after_days = Some(0);
    assert_eq!(c.core.update_assessment(id, &req).unwrap_err().code, ErrorCode::InvalidInput);
    req.recheck_after_days = Some(30);
    req.source = Some("nope".into());
    assert_eq!(c.core.update_assessment(id, &req).unwrap_err().code, ErrorCode::SourceNotFound);
    assert_eq!(c.core.get_assessment(id).unwrap().claim.kind, ClaimKind::OfficialApi, "refusals change nothing");
    assert_eq!(c.core.update_assessment(999, &req).unwrap_err().code, ErrorCode::AssessmentNotFound);
}

#[test]
fn one_evidence_item_can_be_removed_and_its_file_goes_when_nothing_else_uses_it() {
    let c = core();
    let id = new(&c, "openai_compatible");
    let other = new(&c, "openai_compatible");
    let a = c.core.attach_bytes(id, "payment.receipts", "receipt.pdf", b"%PDF-1.4 fake receipt").unwrap();
    let b = c.core.attach_bytes(id, "payment.ledger", "receipt.pdf", b"%PDF-1.4 fake receipt").unwrap();
    let note = c.core.attach_note(id, "scope.providers", "five providers named").unwrap();
    assert_eq!(blobs(&c).len(), 1, "one stored file for both items");

    // Another assessment's id or an unknown item: refused, nothing removed.
    assert_eq!(c.core.remove_evidence(other, a.id).unwrap_err().code, ErrorCode::InvalidInput);
    assert_eq!(c.core.remove_evidence(id, 9999).unwrap_err().code, ErrorCode::InvalidInput);
    assert_eq!(c.core.get_assessment(id).unwrap().evidence.len(), 3);

    let v = c.core.remove_evidence(id, a.id).unwrap();
    assert_eq!(v.evidence.iter().map(|e| e.id).collect::<Vec<_>>(), [b.id, note.id]);
    assert_eq!(blobs(&c).len(), 1, "still used by the other item");
    let v = c.core.remove_evidence(id, b.id).unwrap();
    assert_eq!(v.evidence.len(), 1);
    assert!(blobs(&c).is_empty(), "the last user gone, the file goes");
    assert_eq!(c.core.remove_evidence(id, note.id).unwrap().evidence.len(), 0);
}

#[test]
fn the_paid_tests_gateway_key_is_typed_or_read_from_the_environment_and_never_shown() {
    use burnrate_core::dto::KeyInput;
    use burnrate_core::redact::redact;

    let c = common::core_with_env(&[("GATEWAY_KEY", "  sk-gw-FAKEFAKEFAKEFAKEfromenv1  "), ("BLANK", " ")]);
    let from_env = c.core.gateway_key(Some(&KeyInput::Env { var: " GATEWAY_KEY ".into() })).unwrap();
    assert_eq!(from_env, "sk-gw-FAKEFAKEFAKEFAKEfromenv1", "the variable's value, trimmed");
    let typed = c.core.gateway_key(Some(&KeyInput::Secret { value: " tok-FAKEtypedFAKEtyped9 ".into() })).unwrap();
    assert_eq!(typed, "tok-FAKEtypedFAKEtyped9");
    // Either way the key is registered with the redactor, so no message can carry it.
    for key in [&from_env, &typed] {
        assert!(!redact(&format!("the gateway answered 401 for {key}")).contains(key.as_str()));
    }

    for (input, says) in [
        (None, "no gateway key"),
        (Some(KeyInput::Secret { value: "   ".into() }), "no gateway key"),
        (Some(KeyInput::Env { var: "NOT_SET_ANYWHERE".into() }), "NOT_SET_ANYWHERE is not set"),
        (Some(KeyInput::Env { var: "BLANK".into() }), "BLANK is empty"),
    ] {
        let e = c.core.gateway_key(input.as_ref()).unwrap_err();
        assert_eq!(e.code, ErrorCode::KeyMissing);
        assert!(e.message().contains(says), "{}", e.message());
    }
}

/// The gateway's name and base URL are typed or pasted by the user, often from the gateway's
/// own page: the Markdown report shows them as text, on their own line.
#[test]
fn the_markdown_report_shows_a_hostile_name_and_base_url_as_text() {
    let c = core();
    let id = c
        .core
        .new_assessment(&NewAssessmentRequest {
            name: "<script>alert(1)</script>\x1b]0;pwned\x07 *x*".into(),
            base_url: "https://gateway.example/v1#<img src=x onerror=alert(1)>\u{202e}[x](http://evil)".into(),
            claim: Some("openai_compatible".into()),
            ..Default::default()
        })
        .unwrap()
        .id;
    let md = c.core.assessment_report(id, ReportFormat::Md).unwrap();
    assert!(!md.contains("<script") && !md.contains("<img"), "{md}");
    assert!(!md.chars().any(|ch| ch != '\n' && burnrate_core::text::is_unsafe_to_show(ch)), "{md:?}");
    assert!(md.starts_with("# Gateway check: &lt;script&gt;alert(1)&lt;/script&gt;\\]0;pwned \\*x\\*\n"), "{md}");
    let base_url_line = md.lines().find(|l| l.starts_with("- Base URL:")).unwrap();
    assert_eq!(
        base_url_line,
        "- Base URL: https://gateway.example/v1\\#&lt;img src=x onerror=alert(1)&gt;\\[x\\](http://evil)"
    );
}
