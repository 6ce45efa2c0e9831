//! Attaching a file's bytes (the desktop app: a web view cannot hand over a path, so it sends
//! the content). The same store, size limit, name sanitizing and duplicate rule as
//! [`Burnrate::attach_file`]; the row and the stored file are saved both or neither.

use rusqlite::{params, OptionalExtension};

use super::content;
use super::dto::EvidenceView;
use super::evidence;
use crate::api::Burnrate;
use crate::error::{Error, ErrorCode, Result};

impl Burnrate {
    /// Stores `bytes` as evidence named `name` (sanitized) on a question of an assessment.
    pub fn attach_bytes(&self, id: i64, question_id: &str, name: &str, bytes: &[u8]) -> Result<EvidenceView> {
        let q = content::question(question_id.trim()).map(|(_, q)| q.id).ok_or_else(|| {
            Error::invalid_input(format!(
                "{question_id:?} is not a question id; `burnrate check show ID` lists them (e.g. scope.providers, keys.per_account)"
            ))
        })?;
        let mut conn = self.open()?;
        let exists: bool =
            conn.query_row("SELECT EXISTS (SELECT 1 FROM assessments WHERE id = ?1)", [id], |r| r.get(0))?;
        if !exists {
            return Err(Error::new(
                ErrorCode::AssessmentNotFound,
                format!("no gateway assessment has id {id}; `burnrate check list` shows the ids"),
            ));
        }
        let name = evidence::sanitize_name(name);
        // Refuses more than the size limit from the length, before anything is written.
        let stored = evidence::store_bytes(self.paths.data_dir(), bytes)?;
        let now = self.clock.now().timestamp();
        let saved = (|| -> Result<i64> {
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
            tx.execute("UPDATE assessments SET updated_at = ?2 WHERE id = ?1", params![id, now])?;
            tx.commit()?;
            Ok(eid)
        })();
        match saved {
            Ok(eid) => {
                tracing::info!(assessment = id, evidence = eid, size = stored.size, "evidence file attached (upload)");
                self.get_assessment(id)?
                    .evidence
                    .into_iter()
                    .find(|e| e.id == eid)
                    .ok_or_else(|| Error::internal("evidence vanished while it was read"))
            }
            Err(e) => {
                let used: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM assessment_evidence WHERE sha256 = ?1)",
                    [&stored.sha256],
                    |r| r.get(0),
                )?;
                if stored.created && !used {
                    evidence::remove_blob(self.paths.data_dir(), &stored.sha256);
                }
                Err(e)
            }
        }
    }
}
