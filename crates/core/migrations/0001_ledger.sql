-- Burnrate ledger, version 1. Append-only: never edit a migration that has shipped;
-- add a new numbered file instead.
-- Money columns are integer micro-units (1e-6) of the row's `currency` (ISO-4217, upper case).
-- Times are Unix seconds, UTC.

CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    provider        TEXT    NOT NULL,
    base_url        TEXT    NOT NULL,
    -- Where the key is: 'keyring' (OS secret store, account 'source:<name>') or 'env'.
    -- The key itself is never stored in this database.
    key_storage     TEXT    NOT NULL CHECK (key_storage IN ('keyring', 'env')),
    key_env_var     TEXT    CHECK ((key_storage = 'env') = (key_env_var IS NOT NULL)),
    key_fingerprint TEXT,
    -- Provider-specific, non-secret settings as a JSON object.
    settings        TEXT    NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY,
    source_id       INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    -- The provider's own id for the key (OpenAI key_…, OpenRouter hash, …).
    provider_key_id TEXT    NOT NULL,
    display_name    TEXT,
    fingerprint     TEXT,
    project         TEXT,
    created_at      INTEGER,
    last_used_at    INTEGER,
    environment     TEXT    CHECK (environment IN ('dev', 'staging', 'prod')),
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    UNIQUE (source_id, provider_key_id)
) STRICT;

-- Spend per source, key, model and UTC bucket. '' in key_id/model/project means "not
-- attributed" (the provider did not say); deleted keys keep their raw provider id.
-- A re-poll replaces the rows of its window, so the primary key is the bucket's identity.
CREATE TABLE spend (
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    key_id        TEXT    NOT NULL DEFAULT '',
    model         TEXT    NOT NULL DEFAULT '',
    project       TEXT    NOT NULL DEFAULT '',
    bucket_start  INTEGER NOT NULL,
    bucket_width  TEXT    NOT NULL CHECK (bucket_width IN ('day', 'hour')),
    currency      TEXT    NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    kind          TEXT    NOT NULL CHECK (kind IN ('billed', 'estimated')),
    amount_micros INTEGER NOT NULL,
    input_tokens  INTEGER,
    output_tokens INTEGER,
    requests      INTEGER,
    fetched_at    INTEGER NOT NULL,
    PRIMARY KEY (source_id, bucket_width, kind, bucket_start, key_id, model, project, currency)
) STRICT, WITHOUT ROWID;

CREATE INDEX spend_by_day ON spend (bucket_start);

CREATE TABLE balance_snapshots (
    id              INTEGER PRIMARY KEY,
    source_id       INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    key_id          TEXT    NOT NULL DEFAULT '',
    taken_at        INTEGER NOT NULL,
    currency        TEXT    NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    -- What is left to spend (credit balance or limit remaining); NULL when unlimited.
    balance_micros  INTEGER,
    limit_micros    INTEGER,
    usage_micros    INTEGER
) STRICT;

CREATE INDEX balance_by_source ON balance_snapshots (source_id, taken_at);

-- One row per poll of a source, written in the same transaction as the poll's data.
CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER NOT NULL,
    window_from   INTEGER NOT NULL,
    window_to     INTEGER NOT NULL,
    ok            INTEGER NOT NULL CHECK (ok IN (0, 1)),
    rows_written  INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT,
    error_message TEXT
) STRICT;

CREATE INDEX sync_runs_by_source ON sync_runs (source_id, finished_at);
