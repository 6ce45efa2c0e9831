//! The transport-agnostic operations the CLI and the desktop shell call. Each takes and returns
//! the DTOs in [`crate::dto`]; the shell's commands are one-line adapters over these.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Duration as Days, NaiveDate, Utc};

use crate::alerts::check::{self, AlertCheck};
use crate::alerts::AlertView;
use crate::alerts::{deliver, engine, stale, store};
use crate::app_settings::{self, AppSettings};
use crate::budgets::{self, Budget, Scope};
use crate::budgets::{AddBudgetRequest, BudgetScopeKind, BudgetView};
use crate::charts::{ChartFormat, ChartKind, ChartQuery, ChartView};
use crate::clock::Clock;
use crate::connection_test::ConnectionCheck;
use crate::dashboard::KeyRow;
use crate::days::{parse_day, ts_to_rfc3339, DayRange};
use crate::db;
use crate::dto::{
    AddSourceRequest, AppInfo, Dimension, KeyInput, LedgerFormat, ReconcileRow, ReportQuery, ReportRow, SettingsView,
    SourceView, SyncOutcome, SyncReport,
};
use crate::environment::Environment;
use crate::error::{ApiError, Error, ErrorCode, Result};
use crate::fingerprint::fingerprint;
use crate::import::{self, CsvFormat, ImportSummary};
use crate::ledger::{self};
use crate::money::format_micros;
use crate::notify::{Notice, NoticeUrgency, Notifier};
use crate::paths::Paths;
use crate::prices::PriceTable;
use crate::providers::http::{Progress, ProgressFn};
use crate::providers::{Connector, HttpClient, PollContext, ProviderId};
use crate::secrets::SecretStore;
use crate::sources::{self, Source};
use crate::tray_status::{self, TrayStatus};

/// Days of history fetched by a source's first sync.
pub const FIRST_SYNC_DAYS: i64 = 90;
/// Recent days re-fetched on every sync, because providers revise them.
pub const REVISION_DAYS: i64 = 3;

/// Everything the operations need, injected once at start-up.
/// A budget just added, with the alerts that evaluating the ledger at once fired (already
/// recorded and handed to the notifier).
#[derive(Debug, Clone)]
pub struct BudgetAdded {
    pub budget: BudgetView,
    pub alerts: Vec<AlertView>,
}

pub struct Burnrate {
    pub paths: Paths,
    pub clock: Box<dyn Clock>,
    pub env: Box<dyn Environment>,
    pub secrets: Box<dyn SecretStore>,
    pub http: HttpClient,
    /// List prices for estimates; loaded on first use (see [`PriceTable::load`]), reloaded
    /// after a price is set.
    prices: Mutex<Option<Arc<PriceTable>>>,
    /// Where alerts are shown; None: this process has no desktop (alerts are still recorded).
    pub notifier: Option<Arc<dyn Notifier>>,
    /// The UTC hour (Unix hours) alerts were last evaluated in with nothing changed since, or
    /// -1. Alerts depend on the ledger, budgets, settings and the current hour only, so a sync
    /// that wrote nothing within the same hour skips the evaluation (most of an idle poll's CPU).
    alerts_evaluated_hour: AtomicI64,
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
        Burnrate {
            paths,
            clock,
            env,
            secrets,
            http,
            prices: Mutex::new(None),
            notifier: None,
            alerts_evaluated_hour: AtomicI64::new(-1),
        }
    }

    /// Shows alerts through `notifier` (the desktop's, or a test's).
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The price table: a `model-prices.json` in the data directory, else the bundled one.
    pub fn prices(&self) -> Result<Arc<PriceTable>> {
        let mut cached = self.prices.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        let loaded = Arc::new(PriceTable::load(self.paths.data_dir())?);
        *cached = Some(loaded.clone());
        Ok(loaded)
    }

    /// Adds or replaces a model's list price (USD per million tokens) in the data directory's
    /// `model-prices.json`. Estimates use it from the next sync on.
    pub fn set_model_price(&self, model: &str, input_per_million: &str, output_per_million: &str) -> Result<()> {
        crate::prices::set_price(self.paths.data_dir(), model, input_per_million, output_per_million)?;
        *self.prices.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.prices().map(|_| ())
    }

    /// Tokens over the range (default: the last 30 days) that no list price covers.
    pub fn unpriced(&self, from: Option<String>, to: Option<String>) -> Result<Vec<crate::unpriced::UnpricedModel>> {
        let range = self.report_range(&ReportQuery { by: Vec::new(), from, to })?;
        crate::unpriced::unpriced(&self.open()?, self.prices()?.as_ref(), range)
    }

    /// Fetches the ECB's reference rates (at most once a day unless `force`) from
    /// `BURNRATE_ECB_URL` or the ECB itself. See [`crate::fx::sync_ecb`].
    pub async fn sync_rates(&self, force: bool) -> Result<crate::fx::EcbSync> {
        crate::fx::sync_ecb(&mut self.open()?, &self.http, &self.ecb_url(), self.clock.now(), force).await
    }

    /// Where `rates sync` and the poller fetch the ECB's files: `BURNRATE_ECB_URL` or the ECB.
    fn ecb_url(&self) -> String {
        let base = self.env.var(crate::fx::ECB_URL_ENV).filter(|v| !v.trim().is_empty());
        base.unwrap_or_else(|| crate::fx::DEFAULT_ECB_URL.to_owned())
    }

    /// The poller's daily rate fetch (see [`crate::fx::sync_if_due`]); None when it did not ask.
    pub async fn refresh_rates_if_due(&self) -> Result<Option<crate::fx::EcbSync>> {
        let mut conn = self.open()?;
        let display_set = crate::app_settings::display_currency(&conn)?.is_some();
        crate::fx::sync_if_due(&mut conn, &self.http, &self.ecb_url(), self.clock.now(), display_set).await
    }

    /// How old the stored exchange rates are and whether fetching them works.
    pub fn rates_status(&self) -> Result<crate::fx::RatesStatus> {
        let conn = self.open()?;
        let display_set = crate::app_settings::display_currency(&conn)?.is_some();
        crate::fx::status(&conn, self.clock.now(), display_set)
    }

    /// Imports a CSV of rates (`date,currency,rate`), the whole file or nothing; how many were stored.
    pub fn import_rates(&self, data: &[u8]) -> Result<usize> {
        crate::fx::import_csv(&mut self.open()?, data, self.clock.now())
    }

    /// Stored rates, oldest first; `from`/`to` are `YYYY-MM-DD` UTC days.
    pub fn list_rates(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        currency: Option<&str>,
    ) -> Result<Vec<crate::fx::RateRow>> {
        let (from, to) = (from.map(parse_day).transpose()?, to.map(parse_day).transpose()?);
        if let (Some(f), Some(t)) = (from, to) {
            DayRange::new(f, t)?;
        }
        crate::fx::list(&self.open()?, from, to, currency)
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

    /// "Test connection" for a source not saved yet: polls its last two UTC days with the key
    /// from the form and reports what that key could read. Nothing is stored: not the key, not
    /// the source, not the spend. Input errors (bad URL, empty key, unset variable) are returned
    /// as errors; a provider's refusal is part of the check, with what to do.
    pub async fn test_connection(&self, req: &AddSourceRequest) -> Result<ConnectionCheck> {
        let base_url = sources::parse_base_url(req.provider, req.base_url.as_deref())?;
        let settings = crate::settings::Settings::validate(
            req.settings.clone().unwrap_or_default(),
            &req.provider.settings(),
            req.provider.as_str(),
        )?;
        let key = match &req.key {
            KeyInput::Env { var } => {
                let var = var.trim();
                crate::secrets::validate_env_var_name(var)?;
                crate::secrets::key_from_env(self.env.as_ref(), var)?
            }
            KeyInput::Secret { value } => crate::secrets::validate_key(value)?.to_owned(),
        };
        self.test_poll(req.provider, base_url, key, settings).await
    }

    /// "Test connection" for a saved source: what its key can read now. Writes nothing.
    pub async fn test_source(&self, name: &str) -> Result<ConnectionCheck> {
        let source = sources::get(&self.open()?, name)?;
        let key = source.key(self.env.as_ref(), self.secrets.as_ref())?;
        self.test_poll(source.provider, source.base_url, key, source.settings).await
    }

    async fn test_poll(
        &self,
        provider: ProviderId,
        base_url: url::Url,
        key: String,
        settings: crate::settings::Settings,
    ) -> Result<ConnectionCheck> {
        let connector = provider.connector().ok_or_else(|| {
            Error::new(ErrorCode::Unsupported, format!("{} sources cannot be synced yet", provider.label()))
        })?;
        let today = self.clock.now().date_naive();
        let range = DayRange::new(today - Days::days(1), today)?;
        let key_fingerprint = fingerprint(&key);
        let ctx = PollContext {
            provider,
            base_url: base_url.clone(),
            key,
            range,
            now: self.clock.now(),
            http: self.http.clone(),
            settings,
            prices: self.prices()?,
            progress: Progress::default(),
        };
        let started = std::time::Instant::now();
        let result = connector.poll(&ctx).await.map_err(ApiError::from);
        let elapsed = started.elapsed().as_millis() as u64;
        tracing::info!(provider = %provider, ok = result.is_ok(), elapsed_ms = elapsed, "connection tested");
        Ok(crate::connection_test::check(provider, &base_url, key_fingerprint, range, elapsed, result))
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
                Some(end) => crate::days::ts_to_day(end - 1) - Days::days(REVISION_DAYS),
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

    /// [`Self::sync`], reporting progress of long polls to `progress`. Alerts are evaluated,
    /// recorded and shown as in [`Self::sync_with_alerts`].
    pub async fn sync_with_progress(
        &self,
        only: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<SyncOutcome>> {
        Ok(self.sync_with_alerts(only, from, to, progress).await?.outcomes)
    }

    /// One sync pass, then the alert engine over the updated ledger: new alerts are recorded
    /// and shown through [`Self::notifier`] (see [`Self::evaluate_alerts`]). A failure to
    /// evaluate alerts is reported in `alerts_error`; the sync's writes stand.
    pub async fn sync_with_alerts(
        &self,
        only: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        progress: Option<ProgressFn>,
    ) -> Result<SyncReport> {
        let outcomes = self.sync_sources(only, from, to, progress).await?;
        let hour = self.clock.now().timestamp().div_euclid(3600);
        let changed = outcomes.iter().any(|o| o.ok && o.rows_written > 0);
        let stale = changed || self.alerts_evaluated_hour.load(Ordering::Relaxed) != hour;
        let (alerts, alerts_error) = if stale && outcomes.iter().any(|o| o.ok) {
            match self.evaluate_alerts() {
                Ok(alerts) => (alerts, None),
                Err(e) => {
                    tracing::warn!(code = ?e.code, "alert evaluation failed: {}", e.message());
                    (Vec::new(), Some(ApiError::from(e)))
                }
            }
        } else {
            (Vec::new(), None)
        };
        // A source that keeps failing is news whether or not the others synced.
        let mut alerts = alerts;
        match self.evaluate_stale_sources() {
            Ok(stale) => alerts.extend(stale),
            Err(e) => tracing::warn!(code = ?e.code, "checking for stale sources failed: {}", e.message()),
        }
        // Auto-disable rules act on what fired, before the channels hear of it (their
        // notification names the action). Alerts of earlier runs are covered too, so a run
        // killed between the alert and the action acts now.
        let auto_disabled = if outcomes.iter().any(|o| o.ok) {
            self.run_auto_disable().await.unwrap_or_else(|e| {
                tracing::warn!(code = ?e.code, "auto-disable rules could not run: {}", e.message());
                Vec::new()
            })
        } else {
            Vec::new()
        };
        // Alerts queued for the channels (now or by an earlier run whose delivery failed).
        let deliveries = match self.deliver_outbox().await {
            Ok(report) => report,
            Err(e) => {
                tracing::warn!(code = ?e.code, "delivering alerts to the channels failed: {}", e.message());
                Default::default()
            }
        };
        Ok(SyncReport { outcomes, alerts, alerts_error, auto_disabled, deliveries })
    }

    async fn sync_sources(
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
            outcomes.push(self.sync_source(&mut conn, &source, from, to, &progress).await);
        }
        Ok(outcomes)
    }

    /// Polls one source and writes what it returned, or records why not. Never fails: whatever
    /// goes wrong (the provider, the key, the ledger busy with another process, even recording
    /// the failure) is this source's outcome, and the pass goes on to the next source.
    async fn sync_source(
        &self,
        conn: &mut rusqlite::Connection,
        source: &Source,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        progress: &Option<ProgressFn>,
    ) -> SyncOutcome {
        let started = self.clock.now().timestamp();
        let range = match self.default_range(conn, source, from, to) {
            Ok(range) => range,
            Err(e) => {
                // No window to name: report the day asked for (or today).
                let day = to.unwrap_or_else(|| self.clock.now().date_naive());
                tracing::warn!(source = %source.name, code = ?e.code, "sync failed: {}", e.message());
                return SyncOutcome {
                    source: source.name.clone(),
                    ok: false,
                    rows_written: 0,
                    from: from.unwrap_or(day).to_string(),
                    to: day.to_string(),
                    error: Some(ApiError::from(e)),
                };
            }
        };
        // The network call happens outside any transaction; only the write below takes the
        // ledger's write lock, for as long as one transaction lasts.
        let result = match self.prepare_poll(conn, source, range, progress) {
            Ok((connector, ctx)) => connector.poll(&ctx).await,
            Err(e) => Err(e),
        };
        let finished = self.clock.now().timestamp();
        let result = result.and_then(|poll| ledger::write_poll(conn, source.id, started, finished, range, &poll));
        let (from, to) = (range.from.to_string(), range.to.to_string());
        match result {
            Ok(rows) => {
                tracing::info!(source = %source.name, rows, %from, %to, "synced");
                SyncOutcome { source: source.name.clone(), ok: true, rows_written: rows, from, to, error: None }
            }
            Err(e) => {
                tracing::warn!(source = %source.name, code = ?e.code, "sync failed: {}", e.message());
                // The record feeds status displays and stale-source alerts. When the ledger is
                // busy it cannot be written either; the outcome still reports the failure.
                if let Err(not_recorded) = ledger::record_failure(conn, source.id, started, finished, range, &e) {
                    tracing::warn!(
                        source = %source.name,
                        code = ?not_recorded.code,
                        "the failed sync could not be recorded: {}",
                        not_recorded.message()
                    );
                }
                SyncOutcome {
                    source: source.name.clone(),
                    ok: false,
                    rows_written: 0,
                    from,
                    to,
                    error: Some(ApiError::from(e)),
                }
            }
        }
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
            // Only what the source list shows; a busy ledger must not cost the poll.
            if let Err(e) = sources::update_fingerprint(conn, source.id, &fp) {
                tracing::warn!(source = %source.name, code = ?e.code, "key fingerprint not updated: {}", e.message());
            }
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
    /// source's rows of each kind on the days the file has lines of that kind. The file is
    /// parsed whole before the ledger is opened: a corrupt file changes nothing. The summary says
    /// what was replaced, billed rows from a sync included. See [`crate::import`].
    pub fn import_csv(&self, source: &str, format: CsvFormat, data: &[u8]) -> Result<ImportSummary> {
        self.import_csv_or_preview(source, format, data, false)
    }

    /// What [`Self::import_csv`] would write and replace, without writing anything: the
    /// preview the app confirms and `import csv --dry-run` prints.
    pub fn preview_csv_import(&self, source: &str, format: CsvFormat, data: &[u8]) -> Result<ImportSummary> {
        self.import_csv_or_preview(source, format, data, true)
    }

    fn import_csv_or_preview(
        &self,
        source: &str,
        format: CsvFormat,
        data: &[u8],
        dry_run: bool,
    ) -> Result<ImportSummary> {
        if data.len() > import::MAX_FILE_BYTES {
            return Err(Error::invalid_input(format!(
                "the file is {} MB; Burnrate imports files up to {} MB. Export a shorter date range and import each part",
                data.len().div_ceil(1024 * 1024),
                import::MAX_FILE_BYTES / (1024 * 1024)
            )));
        }
        let parsed = import::parse(format, data)?;
        let mut conn = self.open()?;
        let source = sources::get(&conn, source)?;
        let effect = import::write(&mut conn, source.id, self.clock.now().timestamp(), &parsed, dry_run)?;
        if !dry_run {
            self.alert_inputs_changed();
            tracing::info!(
                source = %source.name,
                rows_written = effect.rows_written,
                rows_replaced = effect.rows_replaced(),
                synced_billed_rows_replaced = effect.synced_billed_rows_replaced(),
                days = effect.days,
                from = %parsed.from,
                to = %parsed.to,
                "imported CSV"
            );
        }
        let mut kinds: Vec<_> = parsed.windows.iter().map(|w| w.kind).collect();
        kinds.dedup();
        Ok(ImportSummary {
            source: source.name,
            format,
            lines: parsed.lines,
            rows_written: effect.rows_written,
            from: parsed.from.to_string(),
            to: parsed.to.to_string(),
            kinds,
            dry_run,
            days: effect.days,
            rows_replaced: effect.rows_replaced(),
            synced_billed_rows_replaced: effect.synced_billed_rows_replaced(),
            replaced: effect.replaced,
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

    /// `report daily --convert-to CUR`: [`Self::daily_report`] with each row also in
    /// `convert_to`, at the rate of its own day (see [`ledger::daily_report_converted`]). A
    /// currency Burnrate has no rates for is refused before anything is read.
    pub fn daily_report_converted(&self, query: &ReportQuery, convert_to: &str) -> Result<ledger::ConvertedReport> {
        let conn = self.open()?;
        let target = crate::fx::convertible_currency(&conn, convert_to)?;
        let range = self.report_range(query)?;
        ledger::daily_report_converted(&conn, &query.by, range, &target)
    }

    /// Every key with its spend today, over 7 and 30 days, and its inventory flags.
    pub fn key_table(&self) -> Result<Vec<KeyRow>> {
        let now = self.clock.now();
        let conn = self.open()?;
        let settings = app_settings::load(&conn, self.env.as_ref())?;
        crate::dashboard::key_table(
            &conn,
            self.prices()?.as_ref(),
            now.date_naive(),
            now.timestamp(),
            settings.key_rotation_days,
            settings.display_currency.as_deref(),
        )
    }

    /// Labels a key dev, staging or prod; None clears the label.
    pub fn set_key_environment(&self, source: &str, key_id: &str, environment: Option<&str>) -> Result<Vec<KeyRow>> {
        crate::dashboard::set_environment(&self.open()?, source, key_id, environment)?;
        self.key_table()
    }

    /// A chart of spend as SVG with its geometry (see [`crate::charts`]).
    pub fn chart(&self, query: &ChartQuery) -> Result<ChartView> {
        let report = ReportQuery { by: vec![query.by], from: query.from.clone(), to: query.to.clone() };
        let range = self.report_range(&report)?;
        crate::charts::render(&self.open()?, query, range, self.clock.now().date_naive())
    }

    /// The ledger of a range as FOCUS 1.2 CSV (see [`crate::focus`] and docs/focus.md).
    pub fn export_focus(&self, from: Option<String>, to: Option<String>) -> Result<String> {
        let range = self.report_range(&ReportQuery { by: Vec::new(), from, to })?;
        crate::focus::focus_csv(&self.open()?, range)
    }

    /// Writes the ledger of a range (per day, source, key and model, billed or estimated, as
    /// `report daily --by source --by key --by model` counts it) to a new CSV or JSON file under
    /// the data directory's `exports/`, and returns its path.
    pub fn export_ledger(
        &self,
        from: Option<String>,
        to: Option<String>,
        format: LedgerFormat,
    ) -> Result<std::path::PathBuf> {
        let query = ReportQuery { by: vec![Dimension::Source, Dimension::Key, Dimension::Model], from, to };
        let range = self.report_range(&query)?;
        let rows = self.daily_report(&query)?;
        let (text, name, ext) = match format {
            LedgerFormat::Csv => (ledger::report_csv(&rows), "ledger", "csv"),
            LedgerFormat::Json => (
                serde_json::to_string_pretty(&rows).map_err(|e| Error::internal(format!("ledger JSON: {e}")))?,
                "ledger",
                "json",
            ),
            LedgerFormat::Focus => (crate::focus::focus_csv(&self.open()?, range)?, "focus", "csv"),
        };
        let dir = self.paths.export_dir();
        let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("{name}-{}-{}-{stamp}.{ext}", range.from, range.to));
        std::fs::create_dir_all(&dir).and_then(|()| crate::fs::write_atomic(&path, text.as_bytes())).map_err(|e| {
            Error::new(
                ErrorCode::DataDirUnwritable,
                format!(
                    "cannot write the ledger to {}: {e}; free some disk space or check permissions",
                    path.display()
                ),
            )
        })?;
        tracing::info!(path = %path.display(), rows = rows.len(), "ledger exported");
        Ok(path)
    }

    /// Writes the chart `query` describes to a new SVG or PNG file under the data directory's
    /// `exports/` and returns its path.
    pub fn save_chart(&self, query: &ChartQuery, format: ChartFormat) -> Result<std::path::PathBuf> {
        let view = self.chart(query)?;
        let (bytes, ext) = match format {
            ChartFormat::Svg => (view.svg.into_bytes(), "svg"),
            ChartFormat::Png => (crate::charts::svg_to_png(&view.svg, 2.0)?, "png"),
        };
        let dir = self.paths.export_dir();
        let by = match query.by {
            Dimension::Key => "key",
            Dimension::Model => "model",
            Dimension::Source => "source",
        };
        let kind = match query.kind {
            ChartKind::Daily => format!("daily-by-{by}"),
            ChartKind::Hourly => format!("hourly-by-{by}"),
            ChartKind::Cumulative => "month-to-date".to_owned(),
        };
        let stamp = self.clock.now().format("%Y%m%dT%H%M%SZ");
        let path = dir.join(format!("chart-{kind}-{}-{}-{stamp}.{ext}", view.from, view.to));
        std::fs::create_dir_all(&dir).and_then(|()| crate::fs::write_atomic(&path, &bytes)).map_err(|e| {
            Error::new(
                ErrorCode::DataDirUnwritable,
                format!("cannot write the chart to {}: {e}; free some disk space or check permissions", path.display()),
            )
        })?;
        tracing::info!(path = %path.display(), "chart exported");
        Ok(path)
    }

    pub fn add_budget(&self, req: &AddBudgetRequest) -> Result<BudgetAdded> {
        let conn = self.open()?;
        let budget = budgets::add(&conn, self.clock.now().timestamp(), req)?;
        self.alert_inputs_changed();
        tracing::info!(budget = budget.id, scope = %budget.scope.spec(), period = %budget.period, "budget added");
        let settings = self.settings_in(&conn)?;
        let view = self.budget_view(&conn, &budget, &settings)?;
        drop(conn);
        // A budget already passed fires now, not at the next poll. The budget is saved whatever
        // happens here; a failed evaluation is repeated by the next sync.
        let alerts = self.evaluate_alerts().unwrap_or_else(|e| {
            tracing::warn!(code = ?e.code, "alert evaluation after adding a budget failed: {}", e.message());
            Vec::new()
        });
        Ok(BudgetAdded { budget: view, alerts })
    }

    /// Budgets with what their scope spent in the current period.
    pub fn list_budgets(&self) -> Result<Vec<BudgetView>> {
        let conn = self.open()?;
        let settings = self.settings_in(&conn)?;
        budgets::list(&conn)?.iter().map(|b| self.budget_view(&conn, b, &settings)).collect()
    }

    pub fn remove_budget(&self, id: i64) -> Result<()> {
        budgets::remove(&self.open()?, id)?;
        tracing::info!(budget = id, "budget removed");
        Ok(())
    }

    fn budget_view(&self, conn: &rusqlite::Connection, b: &Budget, settings: &AppSettings) -> Result<BudgetView> {
        let today = self.clock.now().with_timezone(&settings.zone).date_naive();
        let spend = engine::period_spend(conn, b, b.period.containing(today))?;
        let (scope_kind, source, key_id, key_name) = match &b.scope {
            Scope::Total => (BudgetScopeKind::Total, None, None, None),
            Scope::Source { source, .. } => (BudgetScopeKind::Source, Some(source.clone()), None, None),
            Scope::Key { source_id, source, key_id } => (
                BudgetScopeKind::Key,
                Some(source.clone()),
                Some(key_id.clone()),
                Some(store::key_label_of(conn, *source_id, key_id)?),
            ),
        };
        Ok(BudgetView {
            id: b.id,
            scope: b.scope.spec(),
            scope_kind,
            source,
            key_id,
            key_name,
            period: b.period,
            amount: format_micros(b.amount_micros),
            currency: b.currency.to_string(),
            thresholds: b.thresholds.clone(),
            created_at: ts_to_rfc3339(b.created_at),
            period_start: spend.period.start.to_string(),
            period_end: spend.period.end.to_string(),
            spent: format_micros(spend.total_micros),
            estimated: spend.estimated,
            spent_known: spend.missing.is_none(),
            missing_rate: spend.missing,
            converted_from: spend.other_currencies,
        })
    }

    pub(crate) fn settings_in(&self, conn: &rusqlite::Connection) -> Result<AppSettings> {
        app_settings::load(conn, self.env.as_ref())
    }

    pub fn get_settings(&self) -> Result<SettingsView> {
        Ok(self.settings_in(&self.open()?)?.view())
    }

    /// Sets one setting (`time_zone`, `quiet_hours`, `alerts_paused_until`); see [`app_settings`].
    pub fn set_setting(&self, name: &str, value: &str) -> Result<SettingsView> {
        let conn = self.open()?;
        app_settings::set(&conn, name, value)?;
        self.alert_inputs_changed();
        tracing::info!(setting = name.trim(), "setting changed");
        Ok(self.settings_in(&conn)?.view())
    }

    /// Pauses desktop alerts for `seconds` from now (0 resumes them). Alerts are still recorded.
    pub fn pause_alerts(&self, seconds: i64) -> Result<SettingsView> {
        let value = if seconds <= 0 { "none".to_owned() } else { (self.clock.now().timestamp() + seconds).to_string() };
        self.set_setting(app_settings::ALERTS_PAUSED_UNTIL, &value)
    }

    /// Whether closing the app's window leaves Burnrate running in the tray (the
    /// `close_to_tray` setting). When the ledger cannot be read, it does: the tray's Quit still works.
    pub fn closes_to_tray(&self) -> bool {
        match self.open().and_then(|conn| self.settings_in(&conn)) {
            Ok(settings) => settings.close_to_tray,
            Err(e) => {
                tracing::warn!("cannot read the close_to_tray setting, keeping Burnrate in the tray: {}", e.message());
                true
            }
        }
    }

    /// Called when the window was closed and Burnrate kept running: the first time ever, tells
    /// the user so through the notifier. Returns whether the notice was shown now. A notice that
    /// could not be shown (no notification daemon) is tried again at the next close.
    /// Blocks until the daemon answers (at most a few seconds): call it off the UI thread.
    pub fn announce_running_in_tray(&self) -> Result<bool> {
        let Some(notifier) = self.notifier.as_deref() else { return Ok(false) };
        let conn = self.open()?;
        if !app_settings::mark_once(&conn, app_settings::TRAY_NOTICE_SHOWN)? {
            return Ok(false);
        }
        if let Err(e) = notifier.notify(&running_in_tray_notice()) {
            app_settings::unmark(&conn, app_settings::TRAY_NOTICE_SHOWN)?;
            return Err(e);
        }
        Ok(true)
    }

    /// The next sync evaluates alerts even if it writes nothing.
    fn alert_inputs_changed(&self) {
        self.alerts_evaluated_hour.store(-1, Ordering::Relaxed);
    }

    /// Fired alerts, newest first.
    pub fn list_alerts(&self, limit: Option<u32>) -> Result<Vec<AlertView>> {
        store::list(&self.open()?, limit)
    }

    /// Runs the alert engine over the ledger now, records what fires and shows it through
    /// [`Self::notifier`] (unless paused or in quiet hours). Returns the alerts announced: the
    /// new ones, and spike episodes announced again because their amount tripled (see
    /// [`engine::evaluate`]).
    pub fn evaluate_alerts(&self) -> Result<Vec<AlertView>> {
        let mut conn = self.open()?;
        let settings = self.settings_in(&conn)?;
        let now = self.clock.now();
        let announced = engine::evaluate(&mut conn, now, &settings)?;
        self.alerts_evaluated_hour.store(now.timestamp().div_euclid(3600), Ordering::Relaxed);
        let fired = store::get_many(&conn, &engine::Announcement::ids(&announced))?;
        deliver::deliver(&conn, &fired, self.notifier.as_deref(), now, &settings)
    }

    /// Records (and shows) a `source_stale` alert for each source that has gone two of its
    /// poll intervals without a good sync; once per episode (see [`stale`]).
    pub fn evaluate_stale_sources(&self) -> Result<Vec<AlertView>> {
        let conn = self.open()?;
        let settings = self.settings_in(&conn)?;
        let now = self.clock.now();
        let ids = stale::record_stale_sources(&conn, now.timestamp())?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let fired = store::get_many(&conn, &ids)?;
        deliver::deliver(&conn, &fired, self.notifier.as_deref(), now, &settings)
    }

    /// One verdict on the open alerts (`burnrate alerts --check`): critical when a budget is
    /// at or over its amount or a key spiked today (the user's day), warning when a budget
    /// passed a warning threshold or a spike or forecast fired in the last day, else ok.
    pub fn alert_check(&self) -> Result<AlertCheck> {
        let budgets = self.list_budgets()?;
        let alerts = self.list_alerts(Some(500))?;
        let status = self.tray_status_from(&budgets, &alerts)?;
        let zone: chrono_tz::Tz = self.get_settings()?.effective_time_zone.parse().unwrap_or(chrono_tz::UTC);
        let now = self.clock.now();
        let today_start = now
            .with_timezone(&zone)
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
            .map_or(now, |t| t.with_timezone(&Utc));
        Ok(check::check(&status, &budgets, &alerts, today_start))
    }

    /// The Spend view's headline: today, this month against its budget and forecast, credit
    /// left and when it runs out, unpriced tokens, as of when.
    pub fn spend_headline(&self) -> Result<crate::headline::SpendHeadline> {
        let now = self.clock.now();
        let (as_of, _) = tray_status::freshness(&self.list_sources()?, now);
        let unpriced = self.unpriced(None, None)?;
        let conn = self.open()?;
        let display = self.settings_in(&conn)?.display_currency;
        crate::headline::headline(&conn, now, as_of, unpriced, display.as_deref())
    }

    /// What the tray shows: its level, today and month-to-date, and the top keys today.
    pub fn tray_status(&self) -> Result<TrayStatus> {
        self.tray_status_from(&self.list_budgets()?, &self.list_alerts(Some(50))?)
    }

    /// [`Self::tray_status`] over budgets and recent alerts (newest first) already read.
    fn tray_status_from(&self, budgets: &[BudgetView], alerts: &[AlertView]) -> Result<TrayStatus> {
        let today = self.clock.now().date_naive();
        let day = |d: NaiveDate| Some(d.to_string());
        // By source too: a key id is only unique within its source, and the tray's key items
        // open the key by source and id.
        let today_by_key = self.daily_report(&ReportQuery {
            by: vec![Dimension::Source, Dimension::Key],
            from: day(today),
            to: day(today),
        })?;
        let month_start = today.with_day(1).expect("the first of a month exists");
        let month_total = self.daily_report(&ReportQuery { by: vec![], from: day(month_start), to: day(today) })?;
        let settings = self.get_settings()?;
        let paused = settings.alerts_paused_until;
        // With a display currency, the month also as one converted figure (each day at its rate).
        let month_converted = match settings.display_currency.as_deref() {
            Some(target) => {
                let conn = self.open()?;
                let mut converter =
                    crate::fx::Converter::load(&conn, target, crate::days::DayRange::new(month_start, today)?)?;
                tray_status::month_converted(&month_total, &mut converter)?
            }
            None => None,
        };
        Ok(tray_status::tray_status(
            &self.list_sources()?,
            budgets,
            &today_by_key,
            &month_total,
            month_converted.as_ref(),
            alerts,
            paused,
            self.clock.now(),
        ))
    }
}

/// The one notification after the window is first closed to the tray.
pub fn running_in_tray_notice() -> Notice {
    Notice {
        summary: "Burnrate keeps watching from the tray; Quit from its menu".into(),
        body: "Closing the window did not quit. To make it quit, turn off \u{201c}Keep watching from the tray\u{201d} in Settings.".into(),
        open_target: None,
        urgency: NoticeUrgency::Normal,
    }
}
