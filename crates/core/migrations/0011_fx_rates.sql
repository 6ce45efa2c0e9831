-- Daily reference exchange rates, so amounts in one currency can be read in another at the
-- rate of their own day (the ledger itself never changes). Base: EUR, as the ECB publishes
-- them; EUR is implicitly 1 and never stored. `rate` is decimal text (units of `currency` per
-- 1 EUR), never a float.
CREATE TABLE fx_rates (
    -- Start of the UTC day, Unix seconds (like spend_daily.day).
    day        INTEGER NOT NULL,
    currency   TEXT    NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency) AND currency <> 'EUR'),
    rate       TEXT    NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('ecb', 'import')),
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (day, currency)
) STRICT, WITHOUT ROWID;

-- "The last rate on or before a day" for one currency walks this index backwards.
CREATE INDEX fx_rates_by_currency ON fx_rates (currency, day);

-- When a rate source was last fetched successfully, so the ECB is asked at most once a day.
CREATE TABLE fx_sync (
    source     TEXT    PRIMARY KEY CHECK (source IN ('ecb')),
    fetched_at INTEGER NOT NULL,
    -- The file that was fetched (eurofxref-hist.xml the first time, then the 90-day one).
    file       TEXT    NOT NULL
) STRICT;
