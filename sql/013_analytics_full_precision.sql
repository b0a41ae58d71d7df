-- Honest analytics (issue 16).
-- 1. What the rotation signal reads or ranks is stored at full precision: a flow z of 0.9964 stored as
--    numeric(8, 2) read back as 1.00 and turned NEUTRAL into INFLOW. double precision round-trips the
--    float64 the pure functions compute, so the pipeline gives exactly what they give.
ALTER TABLE sector_rotation
    ALTER COLUMN flow_z20          TYPE double precision,
    ALTER COLUMN flow_z60          TYPE double precision,
    ALTER COLUMN sector_return_pct TYPE double precision,
    ALTER COLUMN market_return_pct TYPE double precision;

-- 2. The price-only signal (RRG quadrant rule) beside the flow-weighted one, and which one `signal` holds.
ALTER TABLE rotation_signal
    ALTER COLUMN score       TYPE double precision,
    ALTER COLUMN rs_ratio    TYPE double precision,
    ALTER COLUMN rs_momentum TYPE double precision,
    ALTER COLUMN flow_z20    TYPE double precision,
    ALTER COLUMN flow_z60    TYPE double precision,
    ADD COLUMN signal_method text NOT NULL DEFAULT 'flow' CHECK (signal_method IN ('flow', 'price')),
    ADD COLUMN price_signal  text CHECK (price_signal IN ('INFLOW', 'OUTFLOW', 'NEUTRAL')),
    ADD COLUMN price_score   double precision;

-- 3. The scorecard gets the price-only row and says whether a row has enough signals to judge.
ALTER TABLE rotation_scorecard
    DROP CONSTRAINT rotation_scorecard_method_check,
    ADD CONSTRAINT rotation_scorecard_method_check
        CHECK (method IN ('signal', 'price_only', 'placebo', 'momentum')),
    ADD COLUMN judged boolean NOT NULL DEFAULT false;
