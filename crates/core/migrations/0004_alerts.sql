-- Budgets, the alerts they and the spike detector fired, and what the user did about a key.
-- Dates of budget periods are the user's local calendar days ('YYYY-MM-DD'); the time zone
-- used is in app_settings. Money is integer micro-units of `currency`.

CREATE TABLE budgets (
    id            INTEGER PRIMARY KEY,
    -- 'total' (every source), 'source' (one source) or 'key' (one provider key of one source).
    scope         TEXT    NOT NULL CHECK (scope IN ('total', 'source', 'key')),
    source_id     INTEGER REFERENCES sources(id) ON DELETE CASCADE,
    key_id        TEXT,
    period        TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    amount_micros INTEGER NOT NULL CHECK (amount_micros > 0),
    currency      TEXT    NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    -- Percentages of the amount, ascending, as a JSON array, e.g. [50,80,100].
    thresholds    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    CHECK ((scope = 'total') = (source_id IS NULL)),
    CHECK ((scope = 'key') = (key_id IS NOT NULL))
) STRICT;

-- Every alert that fired. `dedupe_key` names what fired (a budget's period and threshold, a
-- key's spike episode), so evaluating again — after a restart too — never fires it twice.
CREATE TABLE alerts (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('threshold', 'forecast', 'spike')),
    dedupe_key     TEXT    NOT NULL UNIQUE,
    -- Kept when the budget or source is removed later: the history stays readable.
    budget_id      INTEGER REFERENCES budgets(id) ON DELETE SET NULL,
    source_id      INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    key_id         TEXT,
    -- The budget period's first local day, for threshold and forecast alerts.
    period_start   TEXT,
    threshold_pct  INTEGER,
    amount_micros  INTEGER NOT NULL,
    -- The budget amount, or the spike's baseline.
    limit_micros   INTEGER,
    currency       TEXT    NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    estimated      INTEGER NOT NULL CHECK (estimated IN (0, 1)),
    title          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    -- Kind-specific facts as a JSON object (spike window and kind, forecast crossing date, …).
    details        TEXT    NOT NULL DEFAULT '{}',
    fired_at       INTEGER NOT NULL,
    -- Desktop delivery: when it was shown, or why it could not be (no daemon, quiet hours…).
    notified_at    INTEGER,
    notify_error   TEXT,
    acknowledged_at INTEGER
) STRICT;

CREATE INDEX alerts_by_time ON alerts (fired_at);
CREATE INDEX alerts_by_key ON alerts (source_id, key_id, kind, fired_at);

-- Actions taken on a provider key (disable), with the provider's answer; the record a user
-- hands a provider with an incident dossier.
CREATE TABLE key_actions (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    key_id       TEXT    NOT NULL,
    action       TEXT    NOT NULL CHECK (action IN ('disable')),
    requested_at INTEGER NOT NULL,
    ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
    -- What the provider answered, or the error the user saw.
    detail       TEXT    NOT NULL,
    alert_id     INTEGER REFERENCES alerts(id) ON DELETE SET NULL
) STRICT;

CREATE INDEX key_actions_by_key ON key_actions (source_id, key_id, requested_at);

-- Application settings that are not per source: time zone, quiet hours, alerts paused until.
CREATE TABLE app_settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
