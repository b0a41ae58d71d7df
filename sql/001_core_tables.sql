-- Core market tables. Every table is keyed by (entity, time) so writes are idempotent upserts and
-- TimescaleDB can partition on `time` (see kis_intel_assets/storage/migrations.py).
-- Money columns are bigint KRW (trading values exceed 2^31); ratios are percent with two decimals.

-- Stock master, point in time: a new row opens whenever a stock's name, market, sector or share count
-- changes, so sector membership on any past day is the row with the latest valid_from <= that day.
-- last_seen is the latest universe refresh that listed the stock; ingestion follows the stocks listed
-- in the newest refresh, so delisted stocks keep their history without being fetched again.
CREATE TABLE stock_master (
    symbol          text        NOT NULL CHECK (symbol ~ '^[0-9A-Z]{6}$'),
    valid_from      date        NOT NULL,
    name            text        NOT NULL,
    market          text        NOT NULL CHECK (market IN ('KOSPI', 'KOSDAQ')),
    sector_code     text        NOT NULL,
    sector_name     text        NOT NULL,
    listed_shares   bigint      CHECK (listed_shares >= 0),
    last_seen       date        NOT NULL,
    PRIMARY KEY (symbol, valid_from)
);

CREATE TABLE daily_prices (
    time            date        NOT NULL,
    symbol          text        NOT NULL,
    open            bigint      NOT NULL CHECK (open >= 0),
    high            bigint      NOT NULL CHECK (high >= 0),
    low             bigint      NOT NULL CHECK (low >= 0),
    close           bigint      NOT NULL CHECK (close > 0),
    volume          bigint      NOT NULL CHECK (volume >= 0),
    trading_value   bigint      NOT NULL CHECK (trading_value >= 0),
    PRIMARY KEY (symbol, time)
);
CREATE INDEX daily_prices_time_idx ON daily_prices (time DESC);

-- Investor flows per stock-day (FHPTJ04160001). Investor groups follow KIS: `institution` is the
-- 기관계 total of its sub-groups, `other` (기타) is other_corporation + other_organization, and
-- foreign + individual + institution + other nets to zero on a complete row.
CREATE TABLE investor_trends (
    time            date        NOT NULL,
    symbol          text        NOT NULL,
    foreign_buy_qty bigint,
    foreign_buy_value bigint,
    foreign_sell_qty bigint,
    foreign_sell_value bigint,
    foreign_net_qty bigint,
    foreign_net_value bigint,
    individual_buy_qty bigint,
    individual_buy_value bigint,
    individual_sell_qty bigint,
    individual_sell_value bigint,
    individual_net_qty bigint,
    individual_net_value bigint,
    institution_buy_qty bigint,
    institution_buy_value bigint,
    institution_sell_qty bigint,
    institution_sell_value bigint,
    institution_net_qty bigint,
    institution_net_value bigint,
    securities_buy_qty bigint,
    securities_buy_value bigint,
    securities_sell_qty bigint,
    securities_sell_value bigint,
    securities_net_qty bigint,
    securities_net_value bigint,
    investment_trust_buy_qty bigint,
    investment_trust_buy_value bigint,
    investment_trust_sell_qty bigint,
    investment_trust_sell_value bigint,
    investment_trust_net_qty bigint,
    investment_trust_net_value bigint,
    private_fund_buy_qty bigint,
    private_fund_buy_value bigint,
    private_fund_sell_qty bigint,
    private_fund_sell_value bigint,
    private_fund_net_qty bigint,
    private_fund_net_value bigint,
    bank_buy_qty bigint,
    bank_buy_value bigint,
    bank_sell_qty bigint,
    bank_sell_value bigint,
    bank_net_qty bigint,
    bank_net_value bigint,
    insurance_buy_qty bigint,
    insurance_buy_value bigint,
    insurance_sell_qty bigint,
    insurance_sell_value bigint,
    insurance_net_qty bigint,
    insurance_net_value bigint,
    merchant_bank_buy_qty bigint,
    merchant_bank_buy_value bigint,
    merchant_bank_sell_qty bigint,
    merchant_bank_sell_value bigint,
    merchant_bank_net_qty bigint,
    merchant_bank_net_value bigint,
    pension_fund_buy_qty bigint,
    pension_fund_buy_value bigint,
    pension_fund_sell_qty bigint,
    pension_fund_sell_value bigint,
    pension_fund_net_qty bigint,
    pension_fund_net_value bigint,
    other_buy_qty bigint,
    other_buy_value bigint,
    other_sell_qty bigint,
    other_sell_value bigint,
    other_net_qty bigint,
    other_net_value bigint,
    other_corporation_buy_qty bigint,
    other_corporation_buy_value bigint,
    other_corporation_sell_qty bigint,
    other_corporation_sell_value bigint,
    other_corporation_net_qty bigint,
    other_corporation_net_value bigint,
    other_organization_buy_qty bigint,
    other_organization_buy_value bigint,
    other_organization_sell_qty bigint,
    other_organization_sell_value bigint,
    other_organization_net_qty bigint,
    other_organization_net_value bigint,
    PRIMARY KEY (symbol, time)
);
CREATE INDEX investor_trends_symbol_time_idx ON investor_trends (symbol, time DESC);
CREATE INDEX investor_trends_time_idx ON investor_trends (time DESC);

-- Short selling per stock-day (FHPST04830000). KIS has no short-balance (공매도 잔고) endpoint, so the
-- balance columns stay NULL unless another source fills them.
CREATE TABLE short_selling (
    time                 date          NOT NULL,
    symbol               text          NOT NULL,
    short_volume         bigint        NOT NULL CHECK (short_volume >= 0),
    short_value          bigint        NOT NULL CHECK (short_value >= 0),
    short_volume_ratio   numeric(7, 2) NOT NULL CHECK (short_volume_ratio BETWEEN 0 AND 100),
    short_value_ratio    numeric(7, 2) NOT NULL CHECK (short_value_ratio BETWEEN 0 AND 100),
    total_volume         bigint        NOT NULL CHECK (total_volume >= 0),
    total_value          bigint        NOT NULL CHECK (total_value >= 0),
    short_balance_qty    bigint,
    short_balance_value  bigint,
    PRIMARY KEY (symbol, time)
);
CREATE INDEX short_selling_symbol_time_idx ON short_selling (symbol, time DESC);
CREATE INDEX short_selling_high_ratio_idx ON short_selling (time DESC, symbol)
    WHERE short_value_ratio >= 10;

-- Program trading per stock-day (FHPPG04650201): programme totals (전체 합계).
CREATE TABLE program_trading (
    time                 date        NOT NULL,
    symbol               text        NOT NULL,
    program_buy_qty      bigint      NOT NULL,
    program_sell_qty     bigint      NOT NULL,
    program_net_qty      bigint      NOT NULL,
    program_buy_value    bigint      NOT NULL,
    program_sell_value   bigint      NOT NULL,
    program_net_value    bigint      NOT NULL,
    PRIMARY KEY (symbol, time)
);
CREATE INDEX program_trading_symbol_time_idx ON program_trading (symbol, time DESC);

-- Program trading per market-day (FHPPG04600001), split by trade type so arbitrage (차익) and
-- non-arbitrage (비차익) can be queried apart; `total` is the 전체 row as KIS reports it.
CREATE TABLE program_trading_market (
    time            date        NOT NULL,
    market          text        NOT NULL CHECK (market IN ('KOSPI', 'KOSDAQ')),
    trade_type      text        NOT NULL CHECK (trade_type IN ('arbitrage', 'non_arbitrage', 'total')),
    buy_qty         bigint      NOT NULL,
    sell_qty        bigint      NOT NULL,
    net_qty         bigint      NOT NULL,
    buy_value       bigint      NOT NULL,
    sell_value      bigint      NOT NULL,
    net_value       bigint      NOT NULL,
    PRIMARY KEY (market, trade_type, time)
);

-- Sector money flow per KRX 업종 sector and day (written by the sector_money_flow asset).
CREATE TABLE sector_rotation (
    time                date          NOT NULL,
    sector_code         text          NOT NULL,
    sector_name         text          NOT NULL,
    money_flow_index    numeric(6, 2) CHECK (money_flow_index BETWEEN 0 AND 100),
    foreign_flow        bigint,
    institution_flow    bigint,
    individual_flow     bigint,
    volume_change_pct   numeric(12, 2),
    PRIMARY KEY (sector_code, time)
);
CREATE INDEX sector_rotation_time_idx ON sector_rotation (time DESC);
