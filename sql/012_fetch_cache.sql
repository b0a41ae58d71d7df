-- Parsed rows of the symbols an unfinished ingest run already fetched, so that re-running the partition
-- asks KIS only for the symbols that are still missing.
--
-- A partition stays all-or-nothing for what is *written*: these rows are not market data, only what a
-- run has already paid KIS requests for. The transaction that upserts the partition deletes its entries,
-- and a run whose data is rejected deletes them too, so a later run always starts from KIS again.
-- `frame` is the pickled DataFrame the client returned (dtypes, dates and NULLs exactly as parsed); it
-- is written and read only by kis_intel_assets/storage/fetch_cache.py.

CREATE TABLE kis_fetch_cache (
    dataset      text        NOT NULL,
    window_start date        NOT NULL,
    window_end   date        NOT NULL,
    symbol       text        NOT NULL,
    row_count    integer     NOT NULL CHECK (row_count >= 0),
    frame        bytea       NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, window_start, window_end, symbol)
);
