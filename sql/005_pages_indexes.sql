-- Indexes for the pages (kis_intel_assets/pages): the overheat dashboard reads short_selling by day
-- (one day's rows, the 40-day baseline, the previous quarter), which the (symbol, time) keys cannot serve
-- without scanning the whole table.
CREATE INDEX short_selling_time_idx ON short_selling (time DESC);
