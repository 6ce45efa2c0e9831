//! The checklist's operations on [`Burnrate`], for the CLI and the desktop shell.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration as Days, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::content::{self, ClaimKind, RED_FLAGS, STEPS};
use super::dto::{
    Answer, AssessmentSummary, AssessmentView, ClaimView, EvidenceKind, EvidenceView, Integrity, NewAssessmentRequest,
    QuestionView, RedFlagView, ReportFormat, SmokeResult, StepView,
};
use super::{evidence, report, smoke, verdict};
use crate::api::Burnrate;
use crate::days::ts_to_rfc3339;
use crate::error::{Error, ErrorCode, Result};
use crate::sources;

const MAX_NOTE_CHARS: usize = 10_000;

pub(super) struct Row {
    id: i64,
    name: String,
    pub(super) base_url: String,
    claim: ClaimKind,
    claim_text: Option<String>,
    pub(super) source_id: Option<i64>,
    pub(super) source: Option<String>,
    created_at: i64,
    updated_at: i64,
    recheck_after_days: i64,
    duplicated_from: Option<i64>,
}

const ROW_SQL: &str = "SELECT a.id, a.name, a.base_url, a.claim, a.claim_text, a.source_id, s.name, a.created_at,
        a.updated_at, a.recheck_after_days, a.duplicated_from
     FROM assessments a LEFT JOIN sources s ON s.id = a.source_id";

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let claim: String = r.get(3)?;
    Ok(Row {
        id: r.get(0)?,
        name: r.get(1)?,
        base_url: r.get(2)?,
        claim: ClaimKind::from_id(&claim).unwrap_or(ClaimKind::OpenaiCompatible),
        claim_text: r.get(4)?,
        source_id: r.get(5)?,
        source: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        recheck_after_days: r.get(9)?,
        duplicated_from: r.get(10)?,
    })
}

fn not_found(id: i64) -> Error {
    Error::new(
        ErrorCode::AssessmentNotFound,
        format!("no gateway assessment has id {id}; `burnrate check list` shows the ids"),
    )
}

pub(super) fn load_row(conn: &Connection, id: i64) -> Result<Row> {
    conn.query_row(&format!("{ROW_SQL} WHERE a.id = ?1"), [id], row_from).optional()?.ok_or_else(|| not_found(id))
}

struct AnswerRow {
    answer: Answer,
    note: Option<String>,
    at: i64,
}

fn load_answers(conn: &Connection, id: i64) -> Result<BTreeMap<String, AnswerRow>> {
    let mut stmt =
        conn.prepare("SELECT question_id, answer, note, answered_at FROM assessment_answers WHERE assessment_id = ?1")?;
    let rows = stmt.query_map([id], |r| {
        let a: String = r.get(1)?;
        Ok((
            r.get::<_, String>(0)?,
            AnswerRow { answer: Answer::parse(&a).unwrap_or(Answer::Unknown), note: r.get(2)?, at: r.get(3)? },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn load_flags(conn: &Connection, id: i64) -> Result<BTreeSet<String>> {
    let mut stmt = conn.prepare("SELECT flag_id FROM assessment_red_flags WHERE assessment_id = ?1 AND checked = 1")?;
    let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn load_evidence(conn: &Connection, data_dir: &Path, id: i64) -> Result<Vec<EvidenceView>> {
    let mut stmt = conn.prepare(
        "SELECT id, question_id, kind, sha256, original_name, size_bytes, url, note, captured_at,
                content_checked_at, content_changed_at
         FROM assessment_evidence WHERE assessment_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        let kind: String = r.get(2)?;
        Ok(EvidenceView {
            id: r.get(0)?,
            question_id: r.get(1)?,
            kind: EvidenceKind::parse(&kind).unwrap_or(EvidenceKind::Note),
            sha256: r.get(3)?,
            name: r.get(4)?,
            size_bytes: r.get(5)?,
            url: r.get(6)?,
            note: r.get(7)?,
            captured_at: ts_to_rfc3339(r.get(8)?),
            integrity: None,
            path: None,
            content_checked_at: r.get::<_, Option<i64>>(9)?.map(ts_to_rfc3339),
            content_changed_at: r.get::<_, Option<i64>>(10)?.map(ts_to_rfc3339),
        })
    })?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    // Every file is re-hashed whenever an assessment is read: a changed or missing file is
    // flagged, never assumed intact.
    for e in &mut out {
        if let Some(sha) = &e.sha256 {
            e.integrity = Some(evidence::verify(data_dir, sha));
            e.path = evidence::blob_path(data_dir, sha).map(|p| p.display().to_string());
        }
    }
    Ok(out)
}

fn last_smoke(conn: &Connection, id: i64) -> Result<Option<SmokeResult>> {
    let row: Option<(String, Option<i64>)> = conn
        .query_row(
            "SELECT result, evidence_id FROM smoke_runs WHERE assessment_id = ?1 ORDER BY started_at DESC, id DESC LIMIT 1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(json, evidence_id)| {
        serde_json::from_str::<SmokeResult>(&json).ok().map(|mut s| {
            s.evidence_id = evidence_id;
            s
        })
    }))
}

fn recheck(row: &Row, now: DateTime<Utc>) -> (String, bool) {
    let due = DateTime::<Utc>::from_timestamp(row.updated_at, 0).unwrap_or(now) + Days::days(row.recheck_after_days);
    (due.date_naive().to_string(), due <= now)
}

fn claim_view(kind: ClaimKind) -> ClaimView {
    let c = kind.info();
    ClaimView {
        kind,
        label: c.label.into(),
        meaning: c.meaning.into(),
        proof: c.proof.into(),
        authorization: c.authorization,
        requires: c.requires.iter().map(|s| s.to_string()).collect(),
    }
}

/// Questions with intact evidence (a URL or a note counts; a file only while it verifies).
fn evidenced(ev: &[EvidenceView]) -> BTreeSet<String> {
    ev.iter()
        .filter(|e| e.integrity.is_none() || e.integrity == Some(Integrity::Ok))
        .map(|e| e.question_id.clone())
        .collect()
}

fn build_view(conn: &Connection, data_dir: &Path, row: Row, now: DateTime<Utc>) -> Result<AssessmentView> {
    let answers = load_answers(conn, row.id)?;
    let flags = load_flags(conn, row.id)?;
    let ev = load_evidence(conn, data_dir, row.id)?;
    let plain: BTreeMap<String, Answer> = answers.iter().map(|(k, v)| (k.clone(), v.answer)).collect();
    let v = verdict::verdict(&plain, &flags, row.claim, &evidenced(&ev));
    let steps = STEPS
        .iter()
        .map(|s| StepView {
            id: s.id.into(),
            number: s.number,
            title: s.title.into(),
            questions: s
                .questions
                .iter()
                .map(|q| {
                    let a = answers.get(q.id);
                    QuestionView {
                        id: q.id.into(),
                        text: q.text.into(),
                        pass_hint: q.pass_hint.into(),
                        hard: q.hard,
                        answer: a.map(|a| a.answer),
                        note: a.and_then(|a| a.note.clone()),
                        answered_at: a.map(|a| ts_to_rfc3339(a.at)),
                        evidence_count: ev.iter().filter(|e| e.question_id == q.id).count() as u32,
                    }
                })
                .collect(),
        })
        .collect();
    let red_flags = RED_FLAGS
        .iter()
        .map(|f| RedFlagView { id: f.id.into(), text: f.text.into(), why: f.why.into(), checked: flags.contains(f.id) })
        .collect();
    let integrity_problems = ev
        .iter()
        .filter(|e| matches!(e.integrity, Some(Integrity::Changed | Integrity::Missing | Integrity::Damaged)))
        .count() as u32;
    let (recheck_due, overdue) = recheck(&row, now);
    // A page attached as evidence that changed after the assessment was last worked on calls for
    // a re-check now, whatever the date says.
    let updated = ts_to_rfc3339(row.updated_at);
    let pages_changed =
        ev.iter().filter(|e| e.content_changed_at.as_deref().is_some_and(|c| c >= updated.as_str())).count() as u32;
    let recheck_overdue = overdue || pages_changed > 0;
    Ok(AssessmentView {
        id: row.id,
        name: row.name,
        base_url: row.base_url,
        claim: claim_view(row.claim),
        claim_text: row.claim_text,
        source: row.source,
        created_at: ts_to_rfc3339(row.created_at),
        updated_at: ts_to_rfc3339(row.updated_at),
        recheck_after_days: row.recheck_after_days as u32,
        recheck_due,
        recheck_overdue,
        duplicated_from: row.duplicated_from,
        verdict: v,
        steps,
        red_flags,
        evidence: ev,
        integrity_problems,
        pages_changed,
        last_smoke: last_smoke(conn, row.id)?,
    })
}

fn check_question(id: &str) -> Result<&'static str> {
    content::question(id.trim()).map(|(_, q)| q.id).ok_or_else(|| {
        Error::invalid_input(format!(
            "{id:?} is not a question id; `burnrate check show ID` lists them (e.g. scope.providers, keys.per_account)"
        ))
    })
}

fn clean_note(note: Option<&str>) -> Result<Option<String>> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note {
        if n.chars().count() > MAX_NOTE_CHARS {
            return Err(Error::invalid_input(format!(
                "the note is {} characters; notes can be at most {MAX_NOTE_CHARS}. Attach longer text as a file",
                n.chars().count()
            )));
        }
    }
    Ok(note.map(str::to_owned))
}

/// An assessment's details as given, validated.
struct Details<'a> {
    name: &'a str,
    base_url: &'a str,
    claim: ClaimKind,
    claim_text: Option<&'a str>,
    source_id: Option<i64>,
    days: u32,
}

fn details<'a>(conn: &Connection, req: &'a NewAssessmentRequest) -> Result<Details<'a>> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid_input("give the gateway a name of 1 to 200 characters"));
    }
    smoke::api_root(&req.base_url)?;
    let claim_text = req.claim.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let claim = claim_text.map_or(ClaimKind::OpenaiCompatible, ClaimKind::from_text);
    let days = req.recheck_after_days.unwrap_or(90);
    if !(1..=3650).contains(&days) {
        return Err(Error::invalid_input("the re-check interval must be between 1 and 3650 days"));
    }
    let source_id = req.source.as_deref().map(|s| sources::get(conn, s).map(|s| s.id)).transpose()?;
    Ok(Details { name, base_url: req.base_url.trim(), claim, claim_text, source_id, days })
}

pub(super) fn touch(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.execute("UPDATE assessments SET updated_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

fn io_write_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::DataDirUnwritable,
        format!("cannot write {}: {e}; free some disk space or check permissions", path.display()),
    )
}

impl Burnrate {
    /// Starts an assessment of a gateway.
    pub fn new_assessment(&self, req: &NewAssessmentRequest) -> Result<AssessmentView> {
        let conn = self.open()?;
        let d = details(&conn, req)?;
        let now = self.clock.now().timestamp();
        conn.execute(
            "INSERT INTO assessments (name, base_url, claim, claim_text, source_id, created_at, updated_at, recheck_after_days)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
            params![d.name, d.base_url, d.claim.as_str(), d.claim_text, d.source_id, now, d.days],
        )?;
        let id = conn.last_insert_rowid();
        tracing::info!(assessment = id, claim = d.claim.as_str(), "gateway assessment started");
        build_view(&conn, self.paths.data_dir(), load_row(&conn, id)?, self.clock.now())
    }

    /// Replaces an assessment's details (name, base URL, claim, linked source, re-check
    /// interval), validated like a new one. Answers, flags and evidence stay; the verdict follows
    /// the new claim.
    pub fn update_assessment(&self, id: i64, req: &NewAssessmentRequest) -> Result<AssessmentView> {
        let conn = self.open()?;
        load_row(&conn, id)?;
        let d = details(&conn, req)?;
        let now = self.clock.now().timestamp();
        conn.execute(
            "UPDATE assessments SET name = ?2, base_url = ?3, claim = ?4, claim_text = ?5, source_id = ?6,
                    recheck_after_days = ?7, updated_at = ?8
             WHERE id = ?1",
            params![id, d.name, d.base_url, d.claim.as_str(), d.claim_text, d.source_id, d.days, now],
        )?;
        tracing::info!(assessment = id, claim = d.claim.as_str(), "gateway assessment details changed");
        build_view(&conn, self.paths.data_dir(), load_row(&conn, id)?, self.clock.now())
    }

    pub fn list_assessments(&self) -> Result<Vec<AssessmentSummary>> {
        let conn = self.open()?;
        let mut stmt = conn.prepare(&format!("{ROW_SQL} ORDER BY a.id"))?;
        let rows = stmt.query_map([], row_from)?.collect::<rusqlite::Result<Vec<_>>>()?;
        let now = self.clock.now();
        rows.into_iter()
            .map(|row| {
                let (id, name, base_url, claim, claim_text) =
                    (row.id, row.name.clone(), row.base_url.clone(), row.claim, row.claim_text.clone());
                let v = build_view(&conn, self.paths.data_dir(), row, now)?;
                let questions: u32 = v.steps.iter().map(|s| s.questions.len() as u32).sum();
                let answered: u32 =
                    v.steps.iter().flat_map(|s| &s.questions).filter(|q| q.answer.is_some()).count() as u32;
                Ok(AssessmentSummary {
                    id,
                    name,
                    base_url,
                    claim,
                    claim_text,
                    created_at: v.created_at,
                    updated_at: v.updated_at,
                    recheck_due: v.recheck_due,
                    recheck_overdue: v.recheck_overdue,
                    verdict: v.verdict,
                    answered,
                    questions,
                    evidence_count: v.evidence.len() as u32,
                    integrity_problems: v.integrity_problems,
                    pages_changed: v.pages_changed,
                })
            })
            .collect()
    }

    /// An assessment with its verdict; every evidence file is re-hashed.
    pub fn get_assessment(&self, id: i64) -> Result<AssessmentView> {
        let conn = self.open()?;
        build_view(&conn, self.paths.data_dir(), load_row(&conn, id)?, self.clock.now())
    }

    /// Answers a question (replacing an earlier answer; a note given replaces the note).
    pub fn answer(&self, id: i64, question_id: &str, answer: Answer, note: Option<&str>) -> Result<AssessmentView> {
        let q = check_question(question_id)?;
        let note = clean_note(note)?;
        let conn = self.open()?;
        load_row(&conn, id)?;
        let now = self.clock.now().timestamp();
        conn.execute(
            "INSERT INTO assessment_answers (assessment_id, question_id, answer, note, answered_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (assessment_id, question_id) DO UPDATE SET answer = excluded.answer,
               note = COALESCE(excluded.note, note), answered_at = excluded.answered_at",
            params![id, q, answer.as_str(), note, now],
        )?;
        touch(&conn, id, now)?;
        build_view(&conn, self.paths.data_dir(), load_row(&conn, id)?, self.clock.now())
    }

    pub fn set_red_flag(&self, id: i64, flag_id: &str, checked: bool) -> Result<AssessmentView> {
        let flag = content::red_flag(flag_id.trim()).ok_or_else(|| {
            Error::invalid_input(format!(
                "{flag_id:?} is not a red flag id; one of: {}",
                RED_FLAGS.iter().map(|f| f.id).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let conn = self.open()?;
        load_row(&conn, id)?;
        let now = self.clock.now().timestamp();
        conn.execute(
            "INSERT INTO assessment_red_flags (assessment_id, flag_id, checked, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (assessment_id, flag_id) DO UPDATE SET checked = excluded.checked, updated_at = excluded.updated_at",
            params![id, flag.id, i64::from(checked), now],
        )?;
        touch(&conn, id, now)?;
        build_view(&conn, self.paths.data_dir(), load_row(&conn, id)?, self.clock.now())
    }

    /// Copies a file into the evidence store and attaches it to a question. The file row and
    /// the stored file are saved both or neither; the same file twice on one question is refused.
    pub fn attach_file(&self, id: i64, question_id: &str, path: &Path) -> Result<EvidenceView> {
        let q = check_question(question_id)?;
        let conn = self.open()?;
        load_row(&conn, id)?;
        let name =
            evidence::sanitize_name(&path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        let stored = evidence::store_file(self.paths.data_dir(), path)?;
        self.attach_stored(conn, id, q, &name, stored)
    }

    /// Stores `bytes` as evidence named `name` (sanitized) on a question: the desktop app's
    /// upload, since a web view cannot hand over a path. The same store, size limit (refused from
    /// the length, before anything is written), name sanitizing and duplicate rule as
    /// [`Self::attach_file`].
    pub fn attach_bytes(&self, id: i64, question_id: &str, name: &str, bytes: &[u8]) -> Result<EvidenceView> {
        let q = check_question(question_id)?;
        let conn = self.open()?;
        load_row(&conn, id)?;
        let name = evidence::sanitize_name(name);
        let stored = evidence::store_bytes(self.paths.data_dir(), bytes)?;
        self.attach_stored(conn, id, q, &name, stored)
    }

    /// Records a blob already in the evidence store as a file on question `q`. On any error the
    /// blob is removed again if this attach created it and nothing else uses it.
    fn attach_stored(
        &self,
        mut conn: Connection,
        id: i64,
        q: &str,
        name: &str,
        stored: evidence::Stored,
    ) -> Result<EvidenceView> {
        let now = self.clock.now().timestamp();
        let result = (|| -> Result<i64> {
            let tx = conn.transaction()?;
            let dup: Option<i64> = tx
                .query_row(
                    "SELECT id FROM assessment_evidence WHERE assessment_id = ?1 AND question_id = ?2 AND sha256 = ?3",
                    params![id, q, stored.sha256],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = dup {
                return Err(Error::new(
                    ErrorCode::EvidenceExists,
                    format!(
                        "this file is already attached to {q} (evidence {existing}, sha256 {}); nothing was added",
                        stored.sha256
                    ),
                ));
            }
            tx.execute(
                "INSERT INTO assessment_evidence (assessment_id, question_id, kind, sha256, original_name, size_bytes, captured_at)
                 VALUES (?1, ?2, 'file', ?3, ?4, ?5, ?6)",
                params![id, q, stored.sha256, name, stored.size as i64, now],
            )?;
            let eid = tx.last_insert_rowid();
            touch(&tx, id, now)?;
            tx.commit()?;
            Ok(eid)
        })();
        match result {
            Ok(eid) => {
                tracing::info!(assessment = id, evidence = eid, size = stored.size, "evidence file attached");
                self.evidence_view(&conn, eid)
            }
            Err(e) => {
                if stored.created && !sha_referenced(&conn, &stored.sha256)? {
                    evidence::remove_blob(self.paths.data_dir(), &stored.sha256);
                }
                Err(e)
            }
        }
    }

    /// Attaches a URL, with the time it was captured (now) and an optional note.
    pub fn attach_url(&self, id: i64, question_id: &str, url: &str, note: Option<&str>) -> Result<EvidenceView> {
        let q = check_question(question_id)?;
        let parsed = crate::net::http_url(url)
            .map_err(|why| Error::new(ErrorCode::InvalidUrl, format!("{url:?} is not a usable web address ({why})")))?;
        let note = clean_note(note)?;
        let conn = self.open()?;
        load_row(&conn, id)?;
        let dup: Option<i64> = conn
            .query_row(
                "SELECT id FROM assessment_evidence WHERE assessment_id = ?1 AND question_id = ?2 AND url = ?3",
                params![id, q, parsed.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(existing) = dup {
            return Err(Error::new(
                ErrorCode::EvidenceExists,
                format!("this URL is already attached to {q} (evidence {existing}); nothing was added"),
            ));
        }
        let now = self.clock.now().timestamp();
        conn.execute(
            "INSERT INTO assessment_evidence (assessment_id, question_id, kind, url, note, captured_at) VALUES (?1, ?2, 'url', ?3, ?4, ?5)",
            params![id, q, parsed.as_str(), note, now],
        )?;
        let eid = conn.last_insert_rowid();
        touch(&conn, id, now)?;
        self.evidence_view(&conn, eid)
    }

    pub fn attach_note(&self, id: i64, question_id: &str, text: &str) -> Result<EvidenceView> {
        let q = check_question(question_id)?;
        let note = clean_note(Some(text))?.ok_or_else(|| Error::invalid_input("the note is empty"))?;
        let conn = self.open()?;
        load_row(&conn, id)?;
        let now = self.clock.now().timestamp();
        conn.execute(
            "INSERT INTO assessment_evidence (assessment_id, question_id, kind, note, captured_at) VALUES (?1, ?2, 'note', ?3, ?4)",
            params![id, q, note, now],
        )?;
        let eid = conn.last_insert_rowid();
        touch(&conn, id, now)?;
        self.evidence_view(&conn, eid)
    }

    fn evidence_view(&self, conn: &Connection, eid: i64) -> Result<EvidenceView> {
        let aid: i64 =
            conn.query_row("SELECT assessment_id FROM assessment_evidence WHERE id = ?1", [eid], |r| r.get(0))?;
        load_evidence(conn, self.paths.data_dir(), aid)?
            .into_iter()
            .find(|e| e.id == eid)
            .ok_or_else(|| Error::internal("evidence vanished while it was read"))
    }

    /// A copy to re-run later: answers, red flags and evidence (the same stored files), not the paid tests.
    pub fn duplicate_assessment(&self, id: i64) -> Result<AssessmentView> {
        let mut conn = self.open()?;
        load_row(&conn, id)?;
        let now = self.clock.now().timestamp();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO assessments (name, base_url, claim, claim_text, source_id, created_at, updated_at, recheck_after_days, duplicated_from)
             SELECT name, base_url, claim, claim_text, source_id, ?2, ?2, recheck_after_days, id FROM assessments WHERE id = ?1",
            params![id, now],
        )?;
        let new_id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO assessment_answers (assessment_id, question_id, answer, note, answered_at)
             SELECT ?2, question_id, answer, note, answered_at FROM assessment_answers WHERE assessment_id = ?1",
            params![id, new_id],
        )?;
        tx.execute(
            "INSERT INTO assessment_red_flags (assessment_id, flag_id, checked, updated_at)
             SELECT ?2, flag_id, checked, updated_at FROM assessment_red_flags WHERE assessment_id = ?1",
            params![id, new_id],
        )?;
        tx.execute(
            "INSERT INTO assessment_evidence (assessment_id, question_id, kind, sha256, original_name, size_bytes, url, note, captured_at)
             SELECT ?2, question_id, kind, sha256, original_name, size_bytes, url, note, captured_at
             FROM assessment_evidence WHERE assessment_id = ?1 ORDER BY id",
            params![id, new_id],
        )?;
        tx.commit()?;
        tracing::info!(assessment = new_id, from = id, "gateway assessment duplicated");
        build_view(&conn, self.paths.data_dir(), load_row(&conn, new_id)?, self.clock.now())
    }

    /// Deletes an assessment and the stored files no other assessment uses.
    pub fn delete_assessment(&self, id: i64) -> Result<()> {
        let mut conn = self.open()?;
        load_row(&conn, id)?;
        let shas: Vec<String> = {
            let mut stmt = conn.prepare(
                "SELECT DISTINCT sha256 FROM assessment_evidence WHERE assessment_id = ?1 AND sha256 IS NOT NULL",
            )?;
            let rows = stmt.query_map([id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM assessments WHERE id = ?1", [id])?;
        tx.commit()?;
        for sha in shas {
            if !sha_referenced(&conn, &sha)? {
                evidence::remove_blob(self.paths.data_dir(), &sha);
            }
        }
        tracing::info!(assessment = id, "gateway assessment deleted");
        Ok(())
    }

    /// Removes one evidence item from an assessment (an attachment made by mistake). Its stored
    /// file goes too unless other evidence uses the same content; a paid-test run keeps its
    /// result but no longer points at the removed item.
    pub fn remove_evidence(&self, id: i64, evidence_id: i64) -> Result<AssessmentView> {
        let mut conn = self.open()?;
        load_row(&conn, id)?;
        let sha: Option<Option<String>> = conn
            .query_row(
                "SELECT sha256 FROM assessment_evidence WHERE id = ?1 AND assessment_id = ?2",
                params![evidence_id, id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sha) = sha else {
            return Err(Error::invalid_input(format!(
                "assessment {id} has no evidence {evidence_id}; `burnrate check show {id}` lists its evidence ids"
            )));
        };
        let now = self.clock.now().timestamp();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM assessment_evidence WHERE id = ?1", [evidence_id])?;
        touch(&tx, id, now)?;
        tx.commit()?;
        if let Some(sha) = sha {
            if !sha_referenced(&conn, &sha)? {
                evidence::remove_blob(self.paths.data_dir(), &sha);
            }
        }
        tracing::info!(assessment = id, evidence = evidence_id, "evidence removed");
        build_view(&conn, self.paths.data_dir(), load_row(&conn, id)?, self.clock.now())
    }

    /// The assessment as a report document (integrity checked now).
    pub fn assessment_report(&self, id: i64, format: ReportFormat) -> Result<String> {
        let view = self.get_assessment(id)?;
        let generated = ts_to_rfc3339(self.clock.now().timestamp());
        Ok(match format {
            ReportFormat::Md => report::markdown(&view, &generated),
            ReportFormat::Html => report::html(&view, &generated),
        })
    }

    /// Writes the report to a new file under the data directory's `exports/` and returns its path.
    pub fn export_assessment_report(&self, id: i64, format: ReportFormat) -> Result<PathBuf> {
        let text = self.assessment_report(id, format)?;
        let ext = match format {
            ReportFormat::Md => "md",
            ReportFormat::Html => "html",
        };
        let dir = self.paths.export_dir();
        let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("gateway-check-{id}-{stamp}.{ext}"));
        std::fs::create_dir_all(&dir)
            .and_then(|()| crate::fs::write_atomic(&path, text.as_bytes()))
            .map_err(|e| io_write_error(&path, e))?;
        tracing::info!(path = %path.display(), "gateway report exported");
        Ok(path)
    }
}

pub(super) fn sha_referenced(conn: &Connection, sha: &str) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM assessment_evidence WHERE sha256 = ?1)", [sha], |r| r.get(0))?)
}
