-- Daily roll-up of `spend`, kept in step by every poll (same transaction), so reports over
-- long ranges read one row per source/day/kind/key/model/currency instead of every hour.
-- `day` is the UTC day's start in Unix seconds. The project dimension is not rolled up.
CREATE TABLE spend_daily (
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    day           INTEGER NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('billed', 'estimated')),
    key_id        TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    amount_micros INTEGER NOT NULL,
    input_tokens  INTEGER,
    output_tokens INTEGER,
    requests      INTEGER,
    PRIMARY KEY (day, source_id, kind, key_id, model, currency)
) STRICT, WITHOUT ROWID;

INSERT INTO spend_daily (source_id, day, kind, key_id, model, currency, amount_micros, input_tokens, output_tokens, requests)
SELECT source_id, bucket_start - bucket_start % 86400, kind, key_id, model, currency,
       sum(amount_micros), sum(input_tokens), sum(output_tokens), sum(requests)
FROM spend
GROUP BY source_id, bucket_start - bucket_start % 86400, kind, key_id, model, currency;
