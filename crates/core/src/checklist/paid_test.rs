//! The paid test's operations on [`Burnrate`]: the gateway key, the plan, the run (with the
//! linked source's balance read before and after) and the price baseline it leaves.

use rusqlite::{params, OptionalExtension};

use super::api::{load_row, sha_referenced, touch};
use super::content::PAID_TEST_QUESTION;
use super::dto::{SmokePlan, SmokeRequest, SmokeResult};
use super::{evidence, smoke};
use crate::api::Burnrate;
use crate::days::{ts_to_rfc3339, DayRange};
use crate::dto::KeyInput;
use crate::error::{Error, ErrorCode, Result};
use crate::money::format_human;
use crate::providers::http::Progress;
use crate::providers::PollContext;
use crate::redact::register_secret;
use crate::secrets::key_from_env;
use crate::sources;

impl Burnrate {
    /// The gateway key for the paid test: typed in (used for this request only, never stored)
    /// or read from an environment variable of this process. Registered with the redactor, so
    /// no message or log line can carry it.
    pub fn gateway_key(&self, key: Option<&KeyInput>) -> Result<String> {
        match key {
            Some(KeyInput::Env { var }) => key_from_env(self.env.as_ref(), var.trim()),
            Some(KeyInput::Secret { value }) if !value.trim().is_empty() => {
                let key = value.trim().to_owned();
                register_secret(&key);
                Ok(key)
            }
            _ => Err(Error::new(
                ErrorCode::KeyMissing,
                "no gateway key: type it in, or name an environment variable that holds it",
            )),
        }
    }

    /// What the paid test will send and cost at most; nothing paid is sent. With no models
    /// named, the gateway's (free) model list is read to pick priced ones.
    pub async fn smoke_plan(&self, id: i64, req: &SmokeRequest, key: &str) -> Result<SmokePlan> {
        let (base_url, source) = {
            let conn = self.open()?;
            let row = load_row(&conn, id)?;
            (row.base_url, row.source)
        };
        let prices = self.prices()?;
        smoke::plan(&base_url, req, &prices, key, source).await
    }

    /// Runs a plan from [`Self::smoke_plan`] and saves the result as `smoke` evidence on the
    /// paid-test question. With a linked source that reports a balance, the balance is read
    /// before and after and the multiplier (billed ÷ expected) becomes the source's baseline.
    pub async fn smoke_run(&self, id: i64, plan: &SmokePlan, key: &str) -> Result<SmokeResult> {
        register_secret(key);
        let (row_base, source_id, source_name) = {
            let conn = self.open()?;
            let row = load_row(&conn, id)?;
            (row.base_url, row.source_id, row.source)
        };
        // The plan must be one this assessment produced: same gateway, caps within limits.
        let root = smoke::api_root(&row_base)?;
        if smoke::api_root(&plan.base_url)? != root
            || plan.cap_micros <= 0
            || plan.cap_micros > smoke::MAX_CAP_MICROS
            || plan.paid_calls > smoke::MAX_CALLS + 1
            || plan.models.is_empty()
            || plan.models.len() > smoke::MAX_MODELS
        {
            return Err(Error::invalid_input(
                "the plan does not belong to this assessment or exceeds the limits; make a new plan",
            ));
        }
        let prices = self.prices()?;
        let before = match source_id {
            Some(sid) => Some(self.read_balance(sid).await),
            None => None,
        };
        let mut result = smoke::run(plan, key, &prices, || ts_to_rfc3339(self.clock.now().timestamp())).await?;
        match before {
            None => result.balance_note = Some("no Burnrate source is linked, so no balance was read".into()),
            Some(Err(e)) => result.balance_note = Some(format!("balance before the test: {}", e.message())),
            Some(Ok(None)) => {
                result.balance_note = Some(format!(
                    "the source {} reports no USD balance, so no multiplier was measured",
                    source_name.clone().unwrap_or_default()
                ))
            }
            Some(Ok(Some(b))) => match self.read_balance(source_id.expect("read before")).await {
                Ok(Some(a)) => smoke::apply_balance(&mut result, b, a),
                Ok(None) => result.balance_note = Some("the balance could not be read after the test".into()),
                Err(e) => result.balance_note = Some(format!("balance after the test: {}", e.message())),
            },
        }
        self.save_smoke(id, source_id, result)
    }

    /// (money left, spent so far) in USD micros from the source's connector, or None.
    async fn read_balance(&self, source_id: i64) -> Result<Option<(Option<i64>, Option<i64>)>> {
        let (source, key) = {
            let conn = self.open()?;
            let source = sources::list(&conn)?
                .into_iter()
                .find(|s| s.id == source_id)
                .ok_or_else(|| Error::new(ErrorCode::SourceNotFound, "the linked source was removed"))?;
            let key = source.key(self.env.as_ref(), self.secrets.as_ref())?;
            (source, key)
        };
        let connector = source.provider.connector().ok_or_else(|| {
            Error::new(ErrorCode::Unsupported, format!("{} sources cannot be read yet", source.provider.label()))
        })?;
        let today = self.clock.now().date_naive();
        let ctx = PollContext {
            provider: source.provider,
            base_url: source.base_url.clone(),
            key,
            range: DayRange::new(today, today)?,
            now: self.clock.now(),
            http: self.http.clone(),
            settings: source.settings.clone(),
            prices: self.prices()?,
            progress: Progress::default(),
        };
        let poll = connector.poll(&ctx).await?;
        let usd: Vec<_> = poll.balances.iter().filter(|b| b.currency.as_str() == "USD").collect();
        if usd.is_empty() {
            return Ok(None);
        }
        let sum = |f: &dyn Fn(&crate::poll::BalanceSnapshot) -> Option<i64>| -> Option<i64> {
            usd.iter().map(|b| f(b)).sum::<Option<i64>>()
        };
        Ok(Some((sum(&|b| b.balance_micros), sum(&|b| b.usage_micros))))
    }

    fn save_smoke(&self, id: i64, source_id: Option<i64>, mut result: SmokeResult) -> Result<SmokeResult> {
        let json =
            serde_json::to_string_pretty(&result).map_err(|e| Error::internal(format!("paid test JSON: {e}")))?;
        let stored = evidence::store_bytes(self.paths.data_dir(), json.as_bytes())?;
        let now = self.clock.now().timestamp();
        let name = format!("paid-test-{}.json", self.clock.now().format("%Y%m%dT%H%M%SZ"));
        let note = match &result.aborted {
            Some(reason) => format!("Paid test stopped: {reason}"),
            None if result.passed => "Paid test passed".to_owned(),
            None => "Paid test finished with problems (see the calls)".to_owned(),
        };
        let mut conn = self.open()?;
        let saved = (|| -> Result<i64> {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO assessment_evidence (assessment_id, question_id, kind, sha256, original_name, size_bytes, note, captured_at)
                 VALUES (?1, ?2, 'smoke', ?3, ?4, ?5, ?6, ?7)",
                params![id, PAID_TEST_QUESTION, stored.sha256, name, stored.size as i64, note, now],
            )?;
            let eid = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO smoke_runs (assessment_id, evidence_id, started_at, finished_at, aborted, result)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
                params![id, eid, now, result.aborted, json],
            )?;
            if let (Some(sid), Some(bp), Some(billed)) = (source_id, result.multiplier_bp, result.billed_micros) {
                tx.execute(
                    "INSERT INTO source_price_baselines (source_id, multiplier_bp, billed_micros, expected_micros, currency, assessment_id, measured_at)
                     VALUES (?1, ?2, ?3, ?4, 'USD', ?5, ?6)
                     ON CONFLICT (source_id) DO UPDATE SET multiplier_bp = excluded.multiplier_bp, billed_micros = excluded.billed_micros,
                       expected_micros = excluded.expected_micros, currency = excluded.currency,
                       assessment_id = excluded.assessment_id, measured_at = excluded.measured_at",
                    params![sid, bp.max(0), billed, result.expected_cost_micros, id, now],
                )?;
            }
            touch(&tx, id, now)?;
            tx.commit()?;
            Ok(eid)
        })();
        match saved {
            Ok(eid) => {
                result.evidence_id = Some(eid);
                tracing::info!(
                    assessment = id,
                    evidence = eid,
                    passed = result.passed,
                    expected = %format_human(result.expected_cost_micros, "USD"),
                    "paid test saved"
                );
                Ok(result)
            }
            Err(e) => {
                if stored.created && !sha_referenced(&conn, &stored.sha256)? {
                    evidence::remove_blob(self.paths.data_dir(), &stored.sha256);
                }
                Err(e)
            }
        }
    }

    /// The price multiplier the last paid test measured for a source (basis points), if any.
    pub fn price_baseline(&self, source: &str) -> Result<Option<i64>> {
        let conn = self.open()?;
        let s = sources::get(&conn, source)?;
        Ok(conn
            .query_row("SELECT multiplier_bp FROM source_price_baselines WHERE source_id = ?1", [s.id], |r| r.get(0))
            .optional()?)
    }
}
