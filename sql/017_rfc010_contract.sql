-- RFC-010's data contract (docs/rfc010_contract.md): the four tables the rest of the platform queries carry
-- every RFC column under the RFC's name and type; the richer columns stay alongside. Moves a database at
-- 016 to the new shape without losing a row.
--
-- Naming after this migration: in investor_trends and program_trading a bare name is shares (수량) and
-- `_value` is KRW; short_selling follows the RFC (short_amount, balance_amount in KRW).
-- `time` becomes timestamptz = 00:00 Asia/Seoul of the trading day (converted explicitly below, whatever
-- the session's time zone), and the primary keys lead with time: (time, symbol) / (time, sector_code).

-- 1. Renames, in place (a rename keeps every row, and works on TimescaleDB hypertables too).
ALTER TABLE investor_trends RENAME COLUMN foreign_buy_qty TO foreign_buy;
ALTER TABLE investor_trends RENAME COLUMN foreign_sell_qty TO foreign_sell;
ALTER TABLE investor_trends RENAME COLUMN foreign_net_qty TO foreign_net;
ALTER TABLE investor_trends RENAME COLUMN institution_buy_qty TO institution_buy;
ALTER TABLE investor_trends RENAME COLUMN institution_sell_qty TO institution_sell;
ALTER TABLE investor_trends RENAME COLUMN institution_net_qty TO institution_net;
ALTER TABLE investor_trends RENAME COLUMN securities_buy_qty TO securities_buy;
ALTER TABLE investor_trends RENAME COLUMN securities_sell_qty TO securities_sell;
ALTER TABLE investor_trends RENAME COLUMN securities_net_qty TO securities_net;
ALTER TABLE investor_trends RENAME COLUMN investment_trust_buy_qty TO investment_trust_buy;
ALTER TABLE investor_trends RENAME COLUMN investment_trust_sell_qty TO investment_trust_sell;
ALTER TABLE investor_trends RENAME COLUMN investment_trust_net_qty TO investment_trust_net;
ALTER TABLE investor_trends RENAME COLUMN private_fund_buy_qty TO private_fund_buy;
ALTER TABLE investor_trends RENAME COLUMN private_fund_sell_qty TO private_fund_sell;
ALTER TABLE investor_trends RENAME COLUMN private_fund_net_qty TO private_fund_net;
ALTER TABLE investor_trends RENAME COLUMN bank_buy_qty TO bank_buy;
ALTER TABLE investor_trends RENAME COLUMN bank_sell_qty TO bank_sell;
ALTER TABLE investor_trends RENAME COLUMN bank_net_qty TO bank_net;
ALTER TABLE investor_trends RENAME COLUMN insurance_buy_qty TO insurance_buy;
ALTER TABLE investor_trends RENAME COLUMN insurance_sell_qty TO insurance_sell;
ALTER TABLE investor_trends RENAME COLUMN insurance_net_qty TO insurance_net;
ALTER TABLE investor_trends RENAME COLUMN merchant_bank_buy_qty TO merchant_bank_buy;
ALTER TABLE investor_trends RENAME COLUMN merchant_bank_sell_qty TO merchant_bank_sell;
ALTER TABLE investor_trends RENAME COLUMN merchant_bank_net_qty TO merchant_bank_net;
ALTER TABLE investor_trends RENAME COLUMN pension_fund_buy_qty TO pension_fund_buy;
ALTER TABLE investor_trends RENAME COLUMN pension_fund_sell_qty TO pension_fund_sell;
ALTER TABLE investor_trends RENAME COLUMN pension_fund_net_qty TO pension_fund_net;
ALTER TABLE investor_trends RENAME COLUMN other_buy_qty TO other_buy;
ALTER TABLE investor_trends RENAME COLUMN other_sell_qty TO other_sell;
ALTER TABLE investor_trends RENAME COLUMN other_net_qty TO other_net;
ALTER TABLE investor_trends RENAME COLUMN other_corporation_buy_qty TO other_corporation_buy;
ALTER TABLE investor_trends RENAME COLUMN other_corporation_sell_qty TO other_corporation_sell;
ALTER TABLE investor_trends RENAME COLUMN other_corporation_net_qty TO other_corporation_net;
ALTER TABLE investor_trends RENAME COLUMN other_organization_buy_qty TO other_organization_buy;
ALTER TABLE investor_trends RENAME COLUMN other_organization_sell_qty TO other_organization_sell;
ALTER TABLE investor_trends RENAME COLUMN other_organization_net_qty TO other_organization_net;
ALTER TABLE investor_trends RENAME COLUMN individual_buy_qty TO retail_buy;
ALTER TABLE investor_trends RENAME COLUMN individual_buy_value TO retail_buy_value;
ALTER TABLE investor_trends RENAME COLUMN individual_sell_qty TO retail_sell;
ALTER TABLE investor_trends RENAME COLUMN individual_sell_value TO retail_sell_value;
ALTER TABLE investor_trends RENAME COLUMN individual_net_qty TO retail_net;
ALTER TABLE investor_trends RENAME COLUMN individual_net_value TO retail_net_value;
ALTER TABLE program_trading RENAME COLUMN program_buy_qty TO program_buy;
ALTER TABLE program_trading RENAME COLUMN program_sell_qty TO program_sell;
ALTER TABLE program_trading RENAME COLUMN program_net_qty TO program_net;
ALTER TABLE intraday_program_trading RENAME COLUMN program_buy_qty TO program_buy;
ALTER TABLE intraday_program_trading RENAME COLUMN program_sell_qty TO program_sell;
ALTER TABLE intraday_program_trading RENAME COLUMN program_net_qty TO program_net;
ALTER TABLE intraday_investor_estimates RENAME COLUMN foreign_net_qty TO foreign_net;
ALTER TABLE intraday_investor_estimates RENAME COLUMN institution_net_qty TO institution_net;

ALTER TABLE short_selling RENAME COLUMN short_value TO short_amount;
ALTER TABLE short_selling RENAME COLUMN short_volume_ratio TO short_ratio;
ALTER TABLE short_selling RENAME COLUMN short_balance_qty TO balance_volume;
ALTER TABLE short_selling RENAME COLUMN short_balance_value TO balance_amount;
ALTER TABLE short_selling RENAME CONSTRAINT short_selling_short_value_check TO short_selling_short_amount_check;
ALTER TABLE short_selling RENAME CONSTRAINT short_selling_short_volume_ratio_check TO short_selling_short_ratio_check;

-- 2. New `time` type and keys: each table is rebuilt (a new plain table, the rows copied, the old one
-- dropped) instead of ALTERed in place. TimescaleDB cannot change the type of a hypertable's partitioning
-- column, nor alter a compressed hypertable; a fresh plain table can be, and the migration runner then
-- makes it a hypertable on `time` again (timescale_plan, with migrate_data, re-applying compression and
-- retention), so both branches run this same SQL. LIKE copies columns, defaults, CHECKs and comments;
-- keys, indexes and the pages' change trigger are created again below. `time` is converted after the
-- copy, explicitly at 00:00 Asia/Seoul, so the session's time zone plays no part.
ALTER TABLE investor_trends RENAME TO investor_trends_016;
CREATE TABLE investor_trends (LIKE investor_trends_016 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS);
INSERT INTO investor_trends SELECT * FROM investor_trends_016;
DROP TABLE investor_trends_016;
ALTER TABLE investor_trends ALTER COLUMN time TYPE timestamptz USING (time::timestamp AT TIME ZONE 'Asia/Seoul');

ALTER TABLE short_selling RENAME TO short_selling_016;
CREATE TABLE short_selling (LIKE short_selling_016 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS);
INSERT INTO short_selling SELECT * FROM short_selling_016;
DROP TABLE short_selling_016;
ALTER TABLE short_selling ALTER COLUMN time TYPE timestamptz USING (time::timestamp AT TIME ZONE 'Asia/Seoul'),
    ALTER COLUMN short_ratio TYPE numeric(5, 2);

ALTER TABLE program_trading RENAME TO program_trading_016;
CREATE TABLE program_trading (LIKE program_trading_016 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS);
INSERT INTO program_trading SELECT * FROM program_trading_016;
DROP TABLE program_trading_016;
ALTER TABLE program_trading ALTER COLUMN time TYPE timestamptz USING (time::timestamp AT TIME ZONE 'Asia/Seoul');

ALTER TABLE sector_rotation RENAME TO sector_rotation_016;
CREATE TABLE sector_rotation (LIKE sector_rotation_016 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS);
INSERT INTO sector_rotation SELECT * FROM sector_rotation_016;
DROP TABLE sector_rotation_016;
ALTER TABLE sector_rotation ALTER COLUMN time TYPE timestamptz USING (time::timestamp AT TIME ZONE 'Asia/Seoul');

ALTER TABLE investor_trends ADD PRIMARY KEY (time, symbol);
ALTER TABLE short_selling ADD PRIMARY KEY (time, symbol);
ALTER TABLE program_trading ADD PRIMARY KEY (time, symbol);
ALTER TABLE sector_rotation ADD PRIMARY KEY (time, sector_code);

-- The RFC's indexes: per-entity history (entity, time DESC); the key (time first) serves one day's rows
-- and the newest days, so the former (time DESC) indexes are not recreated.
CREATE INDEX investor_trends_symbol_time_idx ON investor_trends (symbol, time DESC);
CREATE INDEX short_selling_symbol_time_idx ON short_selling (symbol, time DESC);
CREATE INDEX program_trading_symbol_time_idx ON program_trading (symbol, time DESC);
CREATE INDEX sector_rotation_sector_time_idx ON sector_rotation (sector_code, time DESC);
-- Heavily shorted stock-days (short_ratio is the volume share, percent). The former partial index on
-- short_value_ratio >= 10 was read by no query and is not recreated.
CREATE INDEX short_selling_high_short_ratio_idx ON short_selling (time DESC, symbol) WHERE short_ratio > 20;

-- 3. RFC types and columns.
ALTER TABLE short_selling
    ADD COLUMN balance_ratio numeric(5, 2) CHECK (balance_ratio BETWEEN 0 AND 100);
COMMENT ON COLUMN short_selling.balance_volume IS
    '공매도 잔고 (shares). KIS has no short-balance TR: filled only by the KRX source, NULL until then.';
COMMENT ON COLUMN short_selling.balance_amount IS
    '공매도 잔고금액 (KRW). Filled only by the KRX source, NULL until then.';
COMMENT ON COLUMN short_selling.balance_ratio IS
    'Short balance / listed shares x 100. Filled only by the KRX source, NULL until then.';

ALTER TABLE program_trading
    ADD COLUMN arbitrage_buy      bigint,
    ADD COLUMN arbitrage_sell     bigint,
    ADD COLUMN non_arbitrage_buy  bigint,
    ADD COLUMN non_arbitrage_sell bigint;
COMMENT ON COLUMN program_trading.arbitrage_buy IS
    'RFC-010 column, NULL: no source splits per-stock programme trading into 차익/비차익 (KIS per-stock TRs '
    'and the KRX portal give totals only); the split exists per market in program_trading_market.';
COMMENT ON COLUMN program_trading.arbitrage_sell IS 'NULL: see arbitrage_buy.';
COMMENT ON COLUMN program_trading.non_arbitrage_buy IS 'NULL: see arbitrage_buy.';
COMMENT ON COLUMN program_trading.non_arbitrage_sell IS 'NULL: see arbitrage_buy.';

-- Rows from the KRX data portal (another source of the same figures) are allowed.
ALTER TABLE investor_trends DROP CONSTRAINT investor_trends_source_check,
    ADD CONSTRAINT investor_trends_source_check CHECK (source IN ('KIS', 'KIWOOM', 'KRX'));
ALTER TABLE short_selling DROP CONSTRAINT short_selling_source_check,
    ADD CONSTRAINT short_selling_source_check CHECK (source IN ('KIS', 'KIWOOM', 'KRX'));
ALTER TABLE program_trading DROP CONSTRAINT program_trading_source_check,
    ADD CONSTRAINT program_trading_source_check CHECK (source IN ('KIS', 'KIWOOM', 'KRX'));

-- The rotation signal of each sector-day, beside its money flow (written by the rotation_signal asset);
-- existing days take the signal already computed.
ALTER TABLE sector_rotation
    ADD COLUMN rotation_signal text CHECK (rotation_signal IN ('INFLOW', 'OUTFLOW', 'NEUTRAL'));
UPDATE sector_rotation f
   SET rotation_signal = s.signal
  FROM rotation_signal s
 WHERE s.sector_code = f.sector_code AND s.time = (f.time AT TIME ZONE 'Asia/Seoul')::date;

-- 4. The pages' cache keeps seeing changes of the rebuilt tables (the trigger went with the old ones).
CREATE TRIGGER pages_data_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON investor_trends
    FOR EACH STATEMENT EXECUTE FUNCTION note_pages_data_change();
CREATE TRIGGER pages_data_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON short_selling
    FOR EACH STATEMENT EXECUTE FUNCTION note_pages_data_change();
CREATE TRIGGER pages_data_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sector_rotation
    FOR EACH STATEMENT EXECUTE FUNCTION note_pages_data_change();

-- 5. Answers an unfinished run kept for its re-run were parsed under 016's column names: drop them (the
-- re-run asks KIS again for those symbols).
DELETE FROM kis_fetch_cache;

ANALYZE investor_trends;
ANALYZE short_selling;
ANALYZE program_trading;
ANALYZE sector_rotation;
