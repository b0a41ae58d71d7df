-- How close each stock-day is to a type ① 공매도 과열종목 designation (analytics/short_overheat.py,
-- overheat_candidates): the /overheat page's watch list reads it instead of recomputing the rule. One row
-- per stock-day the rule can evaluate (a full 40-day baseline, traded on 20+ of it, a non-zero average),
-- designated or not; the page leaves out the day's designations.
CREATE TABLE overheat_candidates (
    time                     date             NOT NULL,
    symbol                   text             NOT NULL,
    market                   text             NOT NULL CHECK (market IN ('KOSPI', 'KOSDAQ')),
    price_change_pct         double precision,
    short_ratio              double precision NOT NULL CHECK (short_ratio BETWEEN 0 AND 100),
    short_value_multiple     double precision NOT NULL,
    avg_short_value_40d      double precision NOT NULL,
    traded_days_40d          smallint         NOT NULL,
    quarter_ratio_threshold  double precision NOT NULL,
    threshold_source         text             NOT NULL,
    required_multiple        double precision NOT NULL,
    drop_progress            double precision NOT NULL,
    ratio_progress           double precision NOT NULL,
    multiple_progress        double precision NOT NULL,
    closeness_pct            double precision NOT NULL CHECK (closeness_pct BETWEEN 0 AND 100),
    PRIMARY KEY (time, symbol)
);

-- A page rendered from it stays cached only while it is unchanged (sql/014, pages/cache.py).
CREATE TRIGGER pages_data_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON overheat_candidates
    FOR EACH STATEMENT EXECUTE FUNCTION note_pages_data_change();
