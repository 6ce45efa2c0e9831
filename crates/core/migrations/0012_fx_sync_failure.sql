-- The last failed attempt to fetch exchange rates since the last success, so the app can say
-- "the ECB could not be reached; using rates of DAY" and the poller waits before trying again
-- (cleared by the next success).
CREATE TABLE fx_sync_failure (
    source    TEXT    PRIMARY KEY CHECK (source IN ('ecb')),
    failed_at INTEGER NOT NULL,
    message   TEXT    NOT NULL
) STRICT;
