-- Opt-in rules that switch a leaking key off without waiting for the user: on a spike of the
-- key, or a key budget reaching 100 %. Only where the provider can switch the key back on.

CREATE TABLE auto_disable_rules (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    -- The provider's key id; NULL: every key of the source.
    key_id        TEXT,
    on_spike      INTEGER NOT NULL CHECK (on_spike IN (0, 1)),
    on_budget     INTEGER NOT NULL CHECK (on_budget IN (0, 1)),
    -- Record what would have been done, and do nothing.
    dry_run       INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    -- No second automatic action on the same key sooner than this after the last one.
    cooldown_secs INTEGER NOT NULL CHECK (cooldown_secs BETWEEN 0 AND 2592000),
    created_at    INTEGER NOT NULL,
    CHECK (on_spike = 1 OR on_budget = 1),
    UNIQUE (source_id, key_id)
) STRICT;

-- An automatic action names its rule; a dry run is recorded but reached no provider.
ALTER TABLE key_actions ADD COLUMN rule_id INTEGER REFERENCES auto_disable_rules(id) ON DELETE SET NULL;
ALTER TABLE key_actions ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1));
-- At most one automatic action per key and alert (an alert is one episode or one threshold),
-- even with two processes on one ledger: the row is claimed before the provider is called.
CREATE UNIQUE INDEX key_actions_one_automatic_per_alert ON key_actions (source_id, key_id, alert_id)
    WHERE rule_id IS NOT NULL;
