-- Days a run could not get from KIS, per table: not published yet (a run before the day's publication
-- time) or beyond the endpoint's history limit (FHPPG04600001 serves 8 months back). The table checks skip
-- these days instead of calling them missing and list them in a WARN check; a later run that gets the
-- day deletes its row. Keyed by `day`, not `time`, so it stays a plain table under TimescaleDB.
CREATE TABLE ingest_unavailable (
    table_name  text        NOT NULL,
    day         date        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('unpublished', 'beyond_history')),
    reason      text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, day)
);

-- KIS's own 3-digit 업종 code (idx_bztp_mcls_cd, e.g. "013"), as served. sector_code stays the unique
-- 4-digit 업종 index code derived from (market, KIS code): KOSPI 0xxx, KOSDAQ 1xxx, so a KOSPI and a
-- KOSDAQ sector with the same 3-digit code never merge.
ALTER TABLE stock_master ADD COLUMN sector_kis_code text;
