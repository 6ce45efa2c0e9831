-- Two alert kinds: 'price_drift', a gateway's effective price (billed ÷ list-price estimate)
-- moved away from the multiplier its paid test measured (source_price_baselines); and
-- 'terms_changed', a page attached as evidence (terms, pricing, data policy) changed since it was
-- captured. URL evidence gains the hash of its page's text to notice that. SQLite cannot
-- change a CHECK in place, so the table is rebuilt (SQLite's documented 12-step procedure; the
-- migration runner turns foreign keys off around it, so key_actions.alert_id keeps its values).

CREATE TABLE alerts_new (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('threshold', 'forecast', 'spike', 'price_drift', 'terms_changed')),
    dedupe_key     TEXT    NOT NULL UNIQUE,
    -- Kept when the budget or source is removed later: the history stays readable.
    budget_id      INTEGER REFERENCES budgets(id) ON DELETE SET NULL,
    source_id      INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    key_id         TEXT,
    -- The budget period's first local day (threshold, forecast); the first day judged (price_drift).
    period_start   TEXT,
    threshold_pct  INTEGER,
    amount_micros  INTEGER NOT NULL,
    -- The budget amount, the spike's baseline, or what the drift window would cost at the measured multiplier.
    limit_micros   INTEGER,
    currency       TEXT    NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    estimated      INTEGER NOT NULL CHECK (estimated IN (0, 1)),
    title          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    -- Kind-specific facts as a JSON object (spike window and kind, forecast crossing date, multipliers, …).
    details        TEXT    NOT NULL DEFAULT '{}',
    fired_at       INTEGER NOT NULL,
    -- Desktop delivery: when it was shown, or why it could not be (no daemon, quiet hours…).
    notified_at    INTEGER,
    notify_error   TEXT,
    acknowledged_at INTEGER
) STRICT;

INSERT INTO alerts_new SELECT id, kind, dedupe_key, budget_id, source_id, key_id, period_start, threshold_pct,
    amount_micros, limit_micros, currency, estimated, title, body, details, fired_at, notified_at, notify_error,
    acknowledged_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;

CREATE INDEX alerts_by_time ON alerts (fired_at);
CREATE INDEX alerts_by_key ON alerts (source_id, key_id, kind, fired_at);

-- URL evidence: SHA-256 of the page's visible text when last fetched, when that was, and when
-- a fetch last found different text (NULL: never changed since the first fetch).
ALTER TABLE assessment_evidence ADD COLUMN content_sha256 TEXT CHECK (content_sha256 IS NULL OR length(content_sha256) = 64);
ALTER TABLE assessment_evidence ADD COLUMN content_checked_at INTEGER;
ALTER TABLE assessment_evidence ADD COLUMN content_changed_at INTEGER;
