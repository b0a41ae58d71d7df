-- Outputs of kis_intel_assets.analytics. Column names match the DataFrames the analytics return, every
-- table is keyed by (entity, time) so re-running a partition is an idempotent upsert, and per-entity
-- history is served by the primary key (entity first) while (time DESC) indexes serve "latest day" pages.
-- Percent columns keep two decimals; returns keep six because rotation chains them into index levels.

-- Sector money flow (sector_flow.py): the columns 001 did not have.
ALTER TABLE sector_rotation
    ADD COLUMN market                      text CHECK (market IN ('KOSPI', 'KOSDAQ')),
    ADD COLUMN member_count                integer CHECK (member_count >= 0),
    ADD COLUMN flow_member_count           integer CHECK (flow_member_count >= 0),
    ADD COLUMN market_cap                  bigint CHECK (market_cap >= 0),
    ADD COLUMN trading_value               bigint CHECK (trading_value >= 0),
    ADD COLUMN flow_intensity_cap_bp       numeric(14, 4),
    ADD COLUMN flow_intensity_turnover_pct numeric(12, 2),
    ADD COLUMN flow_z20                    numeric(8, 2),
    ADD COLUMN flow_z60                    numeric(8, 2),
    ADD COLUMN sector_return_pct           numeric(12, 6),
    ADD COLUMN market_return_pct           numeric(12, 6);

-- Per-stock Money Flow Index (TA-Lib conventions, period 14).
CREATE TABLE stock_mfi (
    time                date          NOT NULL,
    symbol              text          NOT NULL,
    money_flow_index    numeric(6, 2) NOT NULL CHECK (money_flow_index BETWEEN 0 AND 100),
    PRIMARY KEY (symbol, time)
);
CREATE INDEX stock_mfi_time_idx ON stock_mfi (time DESC);

-- Rotation signal and RRG state per sector-day (rotation.py).
CREATE TABLE rotation_signal (
    time            date          NOT NULL,
    sector_code     text          NOT NULL,
    signal          text          NOT NULL CHECK (signal IN ('INFLOW', 'OUTFLOW', 'NEUTRAL')),
    score           numeric(8, 4) NOT NULL,
    reason          text          NOT NULL,
    rs_ratio        numeric(10, 4),
    rs_momentum     numeric(10, 4),
    quadrant        text CHECK (quadrant IN ('Leading', 'Weakening', 'Lagging', 'Improving')),
    flow_z20        numeric(8, 2),
    flow_z60        numeric(8, 2),
    PRIMARY KEY (sector_code, time)
);
CREATE INDEX rotation_signal_time_idx ON rotation_signal (time DESC);

-- A sector's quadrant or signal changed between its consecutive rows.
CREATE TABLE rotation_transition (
    time            date    NOT NULL,
    sector_code     text    NOT NULL,
    kind            text    NOT NULL CHECK (kind IN ('quadrant', 'signal')),
    from_state      text    NOT NULL,
    to_state        text    NOT NULL CHECK (to_state <> from_state),
    PRIMARY KEY (sector_code, kind, time)
);
CREATE INDEX rotation_transition_time_idx ON rotation_transition (time DESC);

-- Scorecard of the rotation signal vs placebo and momentum (scorecard.py); `time` is the evaluation date
-- (the last day of the history evaluated).
CREATE TABLE rotation_scorecard (
    time                    date          NOT NULL,
    method                  text          NOT NULL CHECK (method IN ('signal', 'placebo', 'momentum')),
    horizon                 integer       NOT NULL CHECK (horizon > 0),
    period_start            date          NOT NULL,
    period_end              date          NOT NULL,
    n_signals               integer       NOT NULL CHECK (n_signals >= 0),
    n_inflow                integer       NOT NULL CHECK (n_inflow >= 0),
    n_outflow               integer       NOT NULL CHECK (n_outflow >= 0),
    hits                    integer       NOT NULL CHECK (hits >= 0),
    hit_rate                numeric(6, 2) CHECK (hit_rate BETWEEN 0 AND 100),
    ci_low                  numeric(6, 2) CHECK (ci_low BETWEEN 0 AND 100),
    ci_high                 numeric(6, 2) CHECK (ci_high BETWEEN 0 AND 100),
    mean_signed_return_pct  numeric(12, 4),
    mean_ic                 numeric(8, 4),
    ic_std                  numeric(8, 4),
    ic_t_stat               numeric(10, 2),
    n_ic_dates              integer       NOT NULL CHECK (n_ic_dates >= 0),
    PRIMARY KEY (method, horizon, time)
);

-- 공매도 과열종목 designations (short_overheat.py): one row per designated symbol-day.
CREATE TABLE short_overheat (
    time                     date           NOT NULL,
    symbol                   text           NOT NULL,
    market                   text           NOT NULL CHECK (market IN ('KOSPI', 'KOSDAQ')),
    rule_type                smallint       NOT NULL CHECK (rule_type BETWEEN 1 AND 4),
    price_change_pct         numeric(8, 2),
    short_ratio              numeric(7, 2)  NOT NULL CHECK (short_ratio BETWEEN 0 AND 100),
    short_value_multiple     numeric(20, 2) NOT NULL,
    avg_short_value_40d      numeric(20, 2) NOT NULL,
    short_ratio_40d          numeric(7, 2),
    traded_days_40d          smallint       NOT NULL,
    quarter_ratio_threshold  numeric(7, 2),
    ban_start                date,
    ban_date                 date,
    ban_days                 smallint       NOT NULL CHECK (ban_days >= 0),
    PRIMARY KEY (symbol, time)
);
CREATE INDEX short_overheat_time_idx ON short_overheat (time DESC);

-- 외국인/기관 집중 매수 flags (concentrated_buying.py).
CREATE TABLE concentrated_buying (
    time                date           NOT NULL,
    symbol              text           NOT NULL,
    investor            text           NOT NULL CHECK (investor IN ('foreign', 'institution')),
    net_value_5d        bigint         NOT NULL,
    pct_of_market_cap   numeric(10, 2),
    zscore              numeric(8, 2),
    consecutive_days    smallint       NOT NULL CHECK (consecutive_days >= 0),
    reason              text           NOT NULL,
    PRIMARY KEY (symbol, investor, time)
);
CREATE INDEX concentrated_buying_time_idx ON concentrated_buying (time DESC);
