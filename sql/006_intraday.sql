-- Intraday snapshots, labelled provisional: KIS publishes final daily investor and programme figures only
-- after the close, so these rows answer "what is happening now" and are marked superseded once the daily
-- assets have written the final data for their day. Time-keyed, so TimescaleDB makes them hypertables and
-- KIS_INTEL_TIMESCALE_RETENTION can drop them after e.g. 30 days (the RFC's intraday retention).

-- Programme trading per stock through the day (FHPPG04650101); `time` is the bar's KST time.
CREATE TABLE intraday_program_trading (
    time                 timestamptz NOT NULL,
    symbol               text        NOT NULL,
    price                bigint      NOT NULL,
    volume               bigint      NOT NULL,
    program_buy_qty      bigint      NOT NULL,
    program_sell_qty     bigint      NOT NULL,
    program_net_qty      bigint      NOT NULL,
    program_buy_value    bigint      NOT NULL,
    program_sell_value   bigint      NOT NULL,
    program_net_value    bigint      NOT NULL,
    provisional          boolean     NOT NULL DEFAULT true,
    superseded           boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (symbol, time)
);
CREATE INDEX intraday_program_trading_time_idx ON intraday_program_trading (time DESC);

-- Provisional foreign / institution totals (가집계, FHPTJ04400000), keyed by the snapshot time.
CREATE TABLE intraday_investor_estimates (
    time                   timestamptz NOT NULL,
    symbol                 text        NOT NULL,
    market                 text        NOT NULL CHECK (market IN ('KOSPI', 'KOSDAQ')),
    name                   text        NOT NULL,
    price                  bigint      NOT NULL,
    foreign_net_qty        bigint,
    foreign_net_value      bigint,
    institution_net_qty    bigint,
    institution_net_value  bigint,
    provisional            boolean     NOT NULL DEFAULT true,
    superseded             boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (symbol, time)
);
CREATE INDEX intraday_investor_estimates_time_idx ON intraday_investor_estimates (time DESC);
