-- KRX data-portal datasets (optional source, off unless KRX_ID / KRX_PW are set; README "KRX data portal").

-- 공매도 잔고 per stock-day (srt/MDCSTAT30501, all stocks per request): reported T+2, visible from the
-- morning of T+3. The short_balance asset also copies these figures into short_selling's RFC columns
-- balance_volume / balance_amount / balance_ratio for the same stock-days.
CREATE TABLE short_balance (
    time            date          NOT NULL,
    symbol          text          NOT NULL CHECK (symbol ~ '^[0-9A-Z]{6}$'),
    balance_volume  bigint        NOT NULL CHECK (balance_volume >= 0),
    balance_amount  bigint        NOT NULL CHECK (balance_amount >= 0),
    listed_shares   bigint        CHECK (listed_shares >= 0),
    balance_ratio   numeric(5, 2) CHECK (balance_ratio BETWEEN 0 AND 100),
    PRIMARY KEY (time, symbol)
);
CREATE INDEX short_balance_symbol_time_idx ON short_balance (symbol, time DESC);

-- Investor trading per stock, day and investor group from KRX's all-stock table (MDCSTAT02401, one
-- request per group): quantities in shares, values in KRW. `group` uses investor_trends' group names.
CREATE TABLE krx_investor_flows (
    time            date        NOT NULL,
    symbol          text        NOT NULL CHECK (symbol ~ '^[0-9A-Z]{6}$'),
    "group"         text        NOT NULL,
    buy             bigint      NOT NULL CHECK (buy >= 0),
    sell            bigint      NOT NULL CHECK (sell >= 0),
    net             bigint      NOT NULL,
    buy_value       bigint      NOT NULL CHECK (buy_value >= 0),
    sell_value      bigint      NOT NULL CHECK (sell_value >= 0),
    net_value       bigint      NOT NULL,
    PRIMARY KEY (time, symbol, "group")
);
CREATE INDEX krx_investor_flows_symbol_time_idx ON krx_investor_flows (symbol, time DESC);
