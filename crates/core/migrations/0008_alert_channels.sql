-- Alert channels beyond the desktop (webhook, Slack, Discord, ntfy, e-mail, a command) and an
-- outbox of deliveries to them. A channel's URL or password is a secret: it lives in the OS
-- secret store (account `channel:NAME`) or an environment variable, never here; `target` is
-- only what may be shown (scheme and host, the mail recipient, the command's program).

CREATE TABLE alert_channels (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    kind           TEXT    NOT NULL CHECK (kind IN ('webhook', 'slack', 'discord', 'ntfy', 'email', 'exec')),
    -- Where the secret is: the OS secret store, an environment variable, or none (exec).
    secret_storage TEXT    NOT NULL CHECK (secret_storage IN ('keyring', 'env', 'none')),
    secret_env_var TEXT,
    target         TEXT    NOT NULL,
    -- Settings that are not secret, as a JSON object (SMTP host, port, sender, recipients, TLS;
    -- the command and its timeout).
    settings       TEXT    NOT NULL DEFAULT '{}',
    -- The alert kinds it receives, as a JSON array of alerts.kind values.
    alert_kinds    TEXT    NOT NULL,
    -- Whether quiet hours and "pause alerts" hold its deliveries back (until they end).
    quiet_hours    INTEGER NOT NULL CHECK (quiet_hours IN (0, 1)),
    created_at     INTEGER NOT NULL,
    CHECK ((secret_storage = 'env') = (secret_env_var IS NOT NULL))
) STRICT;

-- The outbox: one row per alert, channel and announcement (`round` 0 is the alert, later
-- rounds re-announce a growing spike episode). Written in the transaction that records the
-- alert, so an alert is never recorded without its deliveries, and drained at least once.
CREATE TABLE alert_deliveries (
    id              INTEGER PRIMARY KEY,
    alert_id        INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel_id      INTEGER NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    round           INTEGER NOT NULL DEFAULT 0,
    -- pending (not yet delivered; retried), delivered, failed (given up: see last_error).
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT,
    UNIQUE (alert_id, channel_id, round)
) STRICT;

CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at);

-- Every attempt, with the receiver's HTTP status or the command's exit code.
CREATE TABLE alert_delivery_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES alert_deliveries(id) ON DELETE CASCADE,
    attempted_at INTEGER NOT NULL,
    ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
    status       INTEGER,
    error        TEXT
) STRICT;

CREATE INDEX alert_delivery_attempts_by_delivery ON alert_delivery_attempts (delivery_id);
