-- Stock lending (대차거래) per stock-day from KIS 종목별 일별 대차거래추이 (HHPST074500C0): shares newly lent
-- (new_volume), repaid (redeemed_volume) and outstanding (balance_volume), and the outstanding balance in
-- KRW (balance_amount). KIS has no short-interest (공매도 잔고) endpoint; the lending balance is the usual
-- proxy for it. A bare name is shares, `_amount` is KRW, as in short_selling. Keyed by (time, symbol) with
-- `time` in the primary key, so TimescaleDB makes it a hypertable where available.
CREATE TABLE stock_lending (
    time            date        NOT NULL,
    symbol          text        NOT NULL CHECK (symbol ~ '^[0-9A-Z]{6}$'),
    new_volume      bigint      NOT NULL CHECK (new_volume >= 0),
    redeemed_volume bigint      NOT NULL CHECK (redeemed_volume >= 0),
    balance_volume  bigint      NOT NULL CHECK (balance_volume >= 0),
    balance_amount  bigint      NOT NULL CHECK (balance_amount >= 0),
    source          text        NOT NULL DEFAULT 'KIS' CHECK (source IN ('KIS', 'KIWOOM', 'KRX')),
    PRIMARY KEY (time, symbol)
);
CREATE INDEX stock_lending_symbol_time_idx ON stock_lending (symbol, time DESC);
