-- Daily roll-up per key without the model dimension: reports by key, by source or in total
-- (the common ones) read one row per source/day/key/currency/kind. Kept in step with
-- spend_daily in the poll's transaction.
CREATE TABLE spend_daily_key (
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    day           INTEGER NOT NULL,
    key_id        TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('billed', 'estimated')),
    amount_micros INTEGER NOT NULL,
    -- 1 when some of this spend is attributed to a model (decides whether billed or estimated
    -- rows answer a report by model).
    has_model     INTEGER NOT NULL CHECK (has_model IN (0, 1)),
    PRIMARY KEY (day, source_id, key_id, currency, kind)
) STRICT, WITHOUT ROWID;

INSERT INTO spend_daily_key (source_id, day, key_id, currency, kind, amount_micros, has_model)
SELECT source_id, day, key_id, currency, kind, sum(amount_micros), max(model != '')
FROM spend_daily
GROUP BY source_id, day, key_id, currency, kind;
