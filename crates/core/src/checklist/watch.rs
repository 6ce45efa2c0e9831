//! Watching the pages attached as URL evidence (terms, pricing, data policy). A gateway that
//! changes them after you checked it should be checked again, so each check fetches every URL
//! item, hashes the page's visible text and compares it with the last fetch. A change is recorded
//! on the item and fires a `terms_changed` alert (shown like any other alert).
//!
//! The hash covers the visible text only (scripts, styles, tags and comments removed,
//! whitespace collapsed): a new session token or reordered markup is not a change, a changed
//! sentence is. The first fetch of an item sets its reference; nothing is compared then.

use std::time::Duration;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::alerts::deliver;
use crate::alerts::store::{self as alert_store, NewAlert};
use crate::alerts::AlertKind;
use crate::api::Burnrate;
use crate::days::ts_to_rfc3339;
use crate::error::Result;

/// Pages larger than this are not compared (and say so).
pub const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum UrlStatus {
    /// Fetched for the first time: the reference for later checks.
    First,
    Unchanged,
    Changed,
    /// Could not be fetched or compared; `detail` says why. The item keeps its reference.
    Failed,
}

/// What one URL evidence item's check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct UrlCheck {
    #[ts(type = "number")]
    pub evidence_id: i64,
    #[ts(type = "number")]
    pub assessment_id: i64,
    pub assessment: String,
    pub question_id: String,
    pub url: String,
    pub status: UrlStatus,
    pub detail: Option<String>,
    /// RFC 3339 UTC.
    pub checked_at: String,
}

/// The visible text of an HTML page: no scripts, styles, comments or tags; whitespace collapsed.
pub fn visible_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    let bytes = html.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let rest = &lower[i..];
            let skip_to = if rest.starts_with("<!--") {
                rest.find("-->").map(|e| i + e + 3)
            } else if rest.starts_with("<script") {
                rest.find("</script").and_then(|e| lower[i + e..].find('>').map(|g| i + e + g + 1))
            } else if rest.starts_with("<style") {
                rest.find("</style").and_then(|e| lower[i + e..].find('>').map(|g| i + e + g + 1))
            } else {
                rest.find('>').map(|e| i + e + 1)
            };
            out.push(' ');
            i = skip_to.unwrap_or(bytes.len());
            continue;
        }
        let next = lower[i..].find('<').map_or(bytes.len(), |n| i + n);
        out.push_str(&html[i..next]);
        i = next;
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// SHA-256 of what a page says: its visible text for HTML, its bytes otherwise.
pub fn content_hash(content_type: &str, body: &[u8]) -> String {
    let text;
    let hashed: &[u8] = if content_type.contains("html") {
        text = visible_text(&String::from_utf8_lossy(body));
        text.as_bytes()
    } else {
        body
    };
    hex(&Sha256::digest(hashed))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Item {
    evidence_id: i64,
    assessment_id: i64,
    assessment: String,
    source_id: Option<i64>,
    question_id: String,
    url: String,
    reference: Option<String>,
    reference_at: Option<i64>,
}

async fn fetch(client: &reqwest::Client, url: &str) -> std::result::Result<String, String> {
    let mut resp = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("no answer within {} s", FETCH_TIMEOUT.as_secs())
        } else {
            format!("cannot fetch it ({})", crate::redact::redact(&e.without_url().to_string()))
        }
    })?;
    if !resp.status().is_success() {
        return Err(format!("it answered HTTP {}", resp.status().as_u16()));
    }
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("the answer broke off ({})", e.without_url()))? {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(format!("the page is larger than {} MB; not compared", MAX_PAGE_BYTES / (1024 * 1024)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(content_hash(&content_type, &body))
}

/// The client for evidence pages. They carry no key, so redirects are followed (a page moved
/// to https, or to its new address), but never more than five and without a `Referer`.
fn page_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .referer(false)
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("burnrate-check/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| crate::error::Error::internal(format!("cannot build the HTTP client: {e}")))
}

impl Burnrate {
    /// Fetches every URL evidence item (of one assessment, or of all) and compares its page
    /// with the last fetch. Changes are recorded on the item and fire a `terms_changed` alert,
    /// delivered like the others. Unreachable pages are reported, never counted as changed.
    pub async fn recheck_urls(&self, assessment: Option<i64>) -> Result<Vec<UrlCheck>> {
        let items: Vec<Item> = {
            let conn = self.open()?;
            if let Some(id) = assessment {
                super::api::load_row(&conn, id)?;
            }
            let mut stmt = conn.prepare(
                "SELECT e.id, a.id, a.name, a.source_id, e.question_id, e.url, e.content_sha256, e.content_checked_at
                 FROM assessment_evidence e JOIN assessments a ON a.id = e.assessment_id
                 WHERE e.kind = 'url' AND (?1 IS NULL OR a.id = ?1) ORDER BY e.id",
            )?;
            let rows = stmt.query_map([assessment], |r| {
                Ok(Item {
                    evidence_id: r.get(0)?,
                    assessment_id: r.get(1)?,
                    assessment: r.get(2)?,
                    source_id: r.get(3)?,
                    question_id: r.get(4)?,
                    url: r.get(5)?,
                    reference: r.get(6)?,
                    reference_at: r.get(7)?,
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let client = page_client()?;
        let mut fetched = Vec::with_capacity(items.len());
        for item in items {
            let result = fetch(&client, &item.url).await;
            fetched.push((item, result));
        }

        let now = self.clock.now();
        let ts = now.timestamp();
        let mut conn = self.open()?;
        let tx = conn.transaction()?;
        let mut checks = Vec::new();
        let mut fired = Vec::new();
        for (item, result) in fetched {
            let (status, detail) = match &result {
                Err(why) => (UrlStatus::Failed, Some(why.clone())),
                Ok(hash) if item.reference.is_none() => {
                    tx.execute(
                        "UPDATE assessment_evidence SET content_sha256 = ?2, content_checked_at = ?3 WHERE id = ?1",
                        params![item.evidence_id, hash, ts],
                    )?;
                    (UrlStatus::First, None)
                }
                Ok(hash) if item.reference.as_deref() == Some(hash.as_str()) => {
                    tx.execute(
                        "UPDATE assessment_evidence SET content_checked_at = ?2 WHERE id = ?1",
                        params![item.evidence_id, ts],
                    )?;
                    (UrlStatus::Unchanged, None)
                }
                Ok(hash) => {
                    tx.execute(
                        "UPDATE assessment_evidence SET content_sha256 = ?2, content_checked_at = ?3, content_changed_at = ?3
                         WHERE id = ?1",
                        params![item.evidence_id, hash, ts],
                    )?;
                    let since = item.reference_at.map(ts_to_rfc3339).unwrap_or_default();
                    let alert = NewAlert {
                        kind: AlertKind::TermsChanged,
                        dedupe_key: format!(
                            "terms_changed:{}:{}",
                            item.evidence_id,
                            hash.get(..16).unwrap_or(hash.as_str())
                        ),
                        budget_id: None,
                        source_id: item.source_id,
                        key_id: None,
                        period_start: None,
                        threshold_pct: None,
                        amount_micros: 0,
                        limit_micros: None,
                        currency: "USD".into(),
                        estimated: false,
                        title: format!("{}: a page you checked has changed", item.assessment),
                        body: format!(
                            "{} (evidence for {}) says something different than when it was last fetched ({since}). \
                             Read it again and re-check the gateway's assessment before relying on it.",
                            item.url, item.question_id
                        ),
                        details: json!({"assessment_id": item.assessment_id, "evidence_id": item.evidence_id, "url": item.url}),
                    };
                    if let Some(id) = alert_store::insert(&tx, &alert, ts)? {
                        fired.push(id);
                    }
                    (UrlStatus::Changed, None)
                }
            };
            tracing::info!(evidence = item.evidence_id, status = ?status, "evidence page checked");
            checks.push(UrlCheck {
                evidence_id: item.evidence_id,
                assessment_id: item.assessment_id,
                assessment: item.assessment,
                question_id: item.question_id,
                url: item.url,
                status,
                detail,
                checked_at: ts_to_rfc3339(ts),
            });
        }
        tx.commit()?;
        if !fired.is_empty() {
            let settings = crate::app_settings::load(&conn, self.env.as_ref())?;
            let alerts = alert_store::get_many(&conn, &fired)?;
            deliver::deliver(&conn, &alerts, self.notifier.as_deref(), now, &settings)?;
        }
        Ok(checks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_ignores_markup_scripts_and_whitespace() {
        let a = "<html><head><style>p{color:red}</style><script>var t='abc123';</script></head>\
                 <body><p class=x>Refunds  within <b>14</b> days.</p><!-- build 42 --></body></html>";
        let b = "<html><head><script>var t = 'zzz999';</script></head><body>\n<p>Refunds within\n<b>14</b> days.</p></body></html>";
        assert_eq!(visible_text(a), "Refunds within 14 days.");
        assert_eq!(content_hash("text/html; charset=utf-8", a.as_bytes()), content_hash("text/html", b.as_bytes()));
        let c = "<p>Refunds within <b>7</b> days.</p>";
        assert_ne!(content_hash("text/html", a.as_bytes()), content_hash("text/html", c.as_bytes()));
        // Not HTML: the bytes count.
        assert_ne!(content_hash("text/plain", b"a  b"), content_hash("text/plain", b"a b"));
        // Unclosed markup does not loop or panic.
        assert_eq!(visible_text("text <script>never closed"), "text");
        assert_eq!(visible_text("a < b"), "a");
    }
}
