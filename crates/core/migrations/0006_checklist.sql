-- The gateway trust checklist: one assessment per gateway, its answers, red flags, evidence
-- and automated paid tests. Question and flag ids are the stable ids of checklist/content.rs.
-- Evidence files live content-addressed under <data dir>/evidence/<sha[0..2]>/<sha>; a row
-- here names the file by its SHA-256, so the same content is stored once.

CREATE TABLE assessments (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    base_url           TEXT    NOT NULL,
    -- The claim type (content.rs ClaimKind, snake_case) and the gateway's own wording of it.
    claim              TEXT    NOT NULL,
    claim_text         TEXT,
    -- The Burnrate source that reads this gateway's balance, for the paid test's multiplier.
    source_id          INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    recheck_after_days INTEGER NOT NULL DEFAULT 90 CHECK (recheck_after_days > 0),
    duplicated_from    INTEGER REFERENCES assessments(id) ON DELETE SET NULL
) STRICT;

CREATE TABLE assessment_answers (
    assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    question_id   TEXT    NOT NULL,
    answer        TEXT    NOT NULL CHECK (answer IN ('pass', 'fail', 'unknown', 'na')),
    note          TEXT,
    answered_at   INTEGER NOT NULL,
    PRIMARY KEY (assessment_id, question_id)
) STRICT;

CREATE TABLE assessment_red_flags (
    assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    flag_id       TEXT    NOT NULL,
    checked       INTEGER NOT NULL CHECK (checked IN (0, 1)),
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (assessment_id, flag_id)
) STRICT;

CREATE TABLE assessment_evidence (
    id            INTEGER PRIMARY KEY,
    assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    question_id   TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('file', 'url', 'note', 'smoke')),
    -- file and smoke: the stored file's SHA-256 (lower-case hex), its sanitized name and size.
    sha256        TEXT    CHECK (sha256 IS NULL OR length(sha256) = 64),
    original_name TEXT,
    size_bytes    INTEGER CHECK (size_bytes IS NULL OR size_bytes >= 0),
    url           TEXT,
    note          TEXT,
    captured_at   INTEGER NOT NULL,
    CHECK ((kind IN ('file', 'smoke')) = (sha256 IS NOT NULL AND size_bytes IS NOT NULL)),
    CHECK ((kind = 'url') = (url IS NOT NULL)),
    CHECK (kind <> 'note' OR note IS NOT NULL)
) STRICT;

CREATE INDEX assessment_evidence_by_assessment ON assessment_evidence (assessment_id, question_id);
CREATE INDEX assessment_evidence_by_sha ON assessment_evidence (sha256);

-- Automated paid tests: the result as JSON (the same document stored as smoke evidence).
CREATE TABLE smoke_runs (
    id            INTEGER PRIMARY KEY,
    assessment_id INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    evidence_id   INTEGER REFERENCES assessment_evidence(id) ON DELETE SET NULL,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER NOT NULL,
    aborted       TEXT,
    result        TEXT    NOT NULL
) STRICT;

CREATE INDEX smoke_runs_by_assessment ON smoke_runs (assessment_id, started_at);

-- The price multiplier a paid test measured for a source (billed / expected at list prices,
-- in basis points: 10000 = list price). Reconciliation of the source compares against it.
CREATE TABLE source_price_baselines (
    source_id      INTEGER NOT NULL PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    multiplier_bp  INTEGER NOT NULL CHECK (multiplier_bp >= 0),
    billed_micros  INTEGER NOT NULL,
    expected_micros INTEGER NOT NULL CHECK (expected_micros > 0),
    currency       TEXT    NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    assessment_id  INTEGER REFERENCES assessments(id) ON DELETE SET NULL,
    measured_at    INTEGER NOT NULL
) STRICT;
