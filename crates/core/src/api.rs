//! The transport-agnostic operations the CLI and the desktop shell call. Each takes and returns
//! the DTOs in [`crate::dto`]; the shell's commands are one-line adapters over these.

use std::sync::{Arc, OnceLock};

use chrono::{Duration as Days, NaiveDate};

use crate::clock::Clock;
use crate::db;
use crate::dto::{AddSourceRequest, AppInfo, ReconcileRow, ReportQuery, ReportRow, SourceView, SyncOutcome};
use crate::error::{ApiError, Error, ErrorCode, Result};
use crate::import::{self, CsvFormat, ImportSummary};
use crate::ledger::{self, parse_day, DayRange};
use crate::paths::Paths;
use crate::prices::PriceTable;
use crate::providers::http::{Progress, ProgressFn};
use crate::providers::{Connector, HttpClient, PollContext, ProviderId};
use crate::secrets::{fingerprint, Environment, SecretStore};
use crate::sources::{self, Source};

/// Days of history fetched by a source's first sync.
pub const FIRST_SYNC_DAYS: i64 = 90;
/// Recent days re-fetched on every sync, because providers revise them.
pub const REVISION_DAYS: i64 = 3;

/// Everything the operations need, injected once at start-up.
pub struct Burnrate {
    pub paths: Paths,
    pub clock: Box<dyn Clock>,
    pub env: Box<dyn Environment>,
    pub secrets: Box<dyn SecretStore>,
    pub http: HttpClient,
    /// List prices for estimates; loaded on first use (see [`PriceTable::load`]).
    pub prices: OnceLock<Arc<PriceTable>>,
}

impl Burnrate {
    /// Builds the operations over injected parts.
    pub fn new(
        paths: Paths,
        clock: Box<dyn Clock>,
        env: Box<dyn Environment>,
        secrets: Box<dyn SecretStore>,
        http: HttpClient,
    ) -> Self {
        Burnrate { paths, clock, env, secrets, http, prices: OnceLock::new() }
    }

    /// The price table: a `model-prices.json` in the data directory, else the bundled one.
    pub fn prices(&self) -> Result<Arc<PriceTable>> {
        if let Some(p) = self.prices.get() {
            return Ok(p.clone());
        }
        let loaded = Arc::new(PriceTable::load(self.paths.data_dir())?);
        Ok(self.prices.get_or_init(|| loaded).clone())
    }

    pub(crate) fn open(&self) -> Result<rusqlite::Connection> {
        self.paths.ensure_writable()?;
        db::open(&self.paths.db_path())
    }

    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            data_dir: self.paths.data_dir().display().to_string(),
            log_dir: self.paths.log_dir().display().to_string(),
            providers: ProviderId::ALL.iter().map(|p| p.info()).collect(),
        }
    }

    pub fn list_sources(&self) -> Result<Vec<SourceView>> {
        let conn = self.open()?;
        sources::list(&conn)?.iter().map(|s| s.view(&conn)).collect()
    }

    pub fn add_source(&self, req: &AddSourceRequest) -> Result<SourceView> {
        let mut conn = self.open()?;
        let now = self.clock.now().timestamp();
        let source = sources::add(&mut conn, self.env.as_ref(), self.secrets.as_ref(), now, req)?;
        tracing::info!(source = %source.name, provider = %source.provider, "source added");
        source.view(&conn)
    }

    pub fn remove_source(&self, name: &str) -> Result<()> {
        let mut conn = self.open()?;
        sources::remove(&mut conn, self.secrets.as_ref(), name)?;
        tracing::info!(source = name, "source removed");
        Ok(())
    }

    /// The inclusive UTC day range a sync of `source` covers when the user gave none: the full
    /// history on the first sync, then from a few days before the last synced day.
    fn default_range(
        &self,
        conn: &rusqlite::Connection,
        source: &Source,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<DayRange> {
        let today = self.clock.now().date_naive();
        let to = to.unwrap_or(today);
        let from = match from {
            Some(f) => f,
            None => match ledger::last_success_window_end(conn, source.id)? {
                Some(end) => ledger::ts_to_day(end - 1) - Days::days(REVISION_DAYS),
                None => to - Days::days(FIRST_SYNC_DAYS - 1),
            }
            .min(to),
        };
        DayRange::new(from, to)
    }

    /// One sync pass over every source (or the named one). Each source's poll is written in
    /// its own transaction; a failing source is recorded and does not stop the others.
    pub async fn sync(&self, only: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Vec<SyncOutcome>> {
        self.sync_with_progress(only, from, to, None).await
    }

    /// [`Self::sync`], reporting progress of long polls to `progress`.
    pub async fn sync_with_progress(
        &self,
        only: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<SyncOutcome>> {
        let from = from.map(parse_day).transpose()?;
        let to = to.map(parse_day).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            DayRange::new(f, t)?;
        }
        let mut conn = self.open()?;
        let targets = match only {
            Some(name) => vec![sources::get(&conn, name)?],
            None => sources::list(&conn)?,
        };
        let mut outcomes = Vec::with_capacity(targets.len());
        for source in targets {
            let range = self.default_range(&conn, &source, from, to)?;
            let started = self.clock.now().timestamp();
            let prepared = self.prepare_poll(&conn, &source, range, &progress);
            let result = match prepared {
                Ok((connector, ctx)) => connector.poll(&ctx).await,
                Err(e) => Err(e),
            };
            let finished = self.clock.now().timestamp();
            let result = match result {
                Ok(poll) => ledger::write_poll(&mut conn, source.id, started, finished, range, &poll),
                Err(e) => Err(e),
            };
            let outcome = match result {
                Ok(rows) => {
                    tracing::info!(source = %source.name, rows, from = %range.from, to = %range.to, "synced");
                    SyncOutcome {
                        source: source.name.clone(),
                        ok: true,
                        rows_written: rows,
                        from: range.from.to_string(),
                        to: range.to.to_string(),
                        error: None,
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %source.name, code = ?e.code, "sync failed: {}", e.message());
                    ledger::record_failure(&conn, source.id, started, finished, range, &e)?;
                    SyncOutcome {
                        source: source.name.clone(),
                        ok: false,
                        rows_written: 0,
                        from: range.from.to_string(),
                        to: range.to.to_string(),
                        error: Some(ApiError::from(e)),
                    }
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Everything a poll of `source` needs, read before any await (the connection is not
    /// `Sync`, so it must not be held across one). Refreshes the displayed fingerprint when
    /// an environment variable now holds a different key.
    fn prepare_poll(
        &self,
        conn: &rusqlite::Connection,
        source: &Source,
        range: DayRange,
        progress: &Option<ProgressFn>,
    ) -> Result<(&'static dyn Connector, PollContext)> {
        let connector = source.provider.connector().ok_or_else(|| {
            Error::new(
                ErrorCode::Unsupported,
                format!(
                    "syncing {} sources is not supported yet; the source is saved and will sync once its connector lands",
                    source.provider.label()
                ),
            )
        })?;
        let key = source.key(self.env.as_ref(), self.secrets.as_ref())?;
        let fp = fingerprint(&key);
        if source.key_fingerprint.as_deref() != Some(fp.as_str()) {
            sources::update_fingerprint(conn, source.id, &fp)?;
        }
        let ctx = PollContext {
            provider: source.provider,
            base_url: source.base_url.clone(),
            key,
            range,
            now: self.clock.now(),
            http: self.http.clone(),
            settings: source.settings.clone(),
            prices: self.prices()?,
            progress: Progress::new(&source.name, progress.clone()),
        };
        Ok((connector, ctx))
    }

    /// Billed against estimated spend where both exist, over the query's day range.
    pub fn reconcile(&self, query: &ReportQuery) -> Result<Vec<ReconcileRow>> {
        let range = self.report_range(query)?;
        ledger::reconcile(&self.open()?, range)
    }

    /// Imports daily spend from a CSV file's bytes into the named source, replacing that
    /// source's rows of the file's kinds on the file's days. The file is parsed whole before the
    /// ledger is opened: a corrupt file changes nothing. See [`crate::import`].
    pub fn import_csv(&self, source: &str, format: CsvFormat, data: &[u8]) -> Result<ImportSummary> {
        let parsed = import::parse(format, data)?;
        let mut conn = self.open()?;
        let source = sources::get(&conn, source)?;
        let rows_written = import::write(&mut conn, source.id, self.clock.now().timestamp(), &parsed)?;
        tracing::info!(source = %source.name, rows_written, from = %parsed.from, to = %parsed.to, "imported CSV");
        Ok(ImportSummary {
            source: source.name,
            format,
            lines: parsed.lines,
            rows_written,
            from: parsed.from.to_string(),
            to: parsed.to.to_string(),
            kinds: parsed.windows.iter().map(|w| w.kind).collect(),
        })
    }

    fn report_range(&self, query: &ReportQuery) -> Result<DayRange> {
        let today = self.clock.now().date_naive();
        let to = query.to.as_deref().map(parse_day).transpose()?.unwrap_or(today);
        let from = query.from.as_deref().map(parse_day).transpose()?.unwrap_or(to - Days::days(29));
        DayRange::new(from, to)
    }

    pub fn daily_report(&self, query: &ReportQuery) -> Result<Vec<ReportRow>> {
        let range = self.report_range(query)?;
        ledger::daily_report(&self.open()?, &query.by, range)
    }
}
