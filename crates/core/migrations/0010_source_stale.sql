-- A new alert kind, 'source_stale': a source has not synced for two of its poll intervals, so
-- Burnrate can no longer see what its keys spend. SQLite cannot change a CHECK in place, so the
-- table is rebuilt as in 0007 (the migration runner turns foreign keys off around it; the ids
-- are kept, so alert_deliveries and key_actions keep pointing at their alerts).

CREATE TABLE alerts_new (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('threshold', 'forecast', 'spike', 'price_drift', 'terms_changed', 'source_stale')),
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

-- A channel that takes every kind says so with "*", so kinds added later (like this one) reach
-- it too; a channel that chose some kinds keeps its choice.
UPDATE alert_channels SET alert_kinds = '["*"]'
 WHERE (SELECT count(DISTINCT value) FROM json_each(alert_kinds)
        WHERE value IN ('threshold', 'forecast', 'spike', 'price_drift', 'terms_changed')) = 5;
