-- The shared limiter, round two (kis_intel_assets/kis/ratelimit.py):
--
-- * Short leases kept alive by a heartbeat. A claimed slot's free_at is its lease end; the process that
--   holds it renews the lease every second while the request is in flight, so a process that dies
--   (SIGKILL, OOM) gives its slots back a few seconds later instead of after the read timeout.
-- * An adaptive budget per key. KIS holds a new customer's key to about 3 requests/s for its first days;
--   sustained EGW00201 under the limiter means the key's real limit is below the budget, so the key's
--   budget is halved here, for every process at once, and recovers slowly.

ALTER TABLE kis_rate_limit
    -- requests/s in force after KIS throttled the key; NULL = the budget each process was configured with
    ADD COLUMN budget         double precision CHECK (budget > 0),
    -- epoch seconds (database clock) of the last budget change and of the last EGW00201 reported
    ADD COLUMN changed_at     double precision,
    ADD COLUMN throttled_at   double precision,
    -- an open detection period: when its first EGW00201 came, how many came since, how many claims
    ADD COLUMN period_start   double precision,
    ADD COLUMN period_refused integer NOT NULL DEFAULT 0,
    ADD COLUMN period_claims  integer NOT NULL DEFAULT 0;

DROP FUNCTION kis_rate_limit_claim(text, integer, double precision, double precision, bigint);

-- The budget in force for a key whose processes are configured with p_budget, after any recovery step
-- that is due: every p_recover_every seconds without an EGW00201 the lowered budget grows by 10 % (at
-- least 0.5/s); reaching p_budget clears it. The caller holds the row lock.
CREATE FUNCTION kis_rate_limit_budget_in_force(
    p_key_hash text, p_budget double precision, p_recover_every double precision, p_now double precision
) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    v_budget double precision;
    v_since  double precision;
BEGIN
    SELECT r.budget, GREATEST(r.changed_at, COALESCE(r.throttled_at, r.changed_at))
      INTO v_budget, v_since FROM kis_rate_limit AS r WHERE r.key_hash = p_key_hash;
    IF v_budget IS NULL THEN
        RETURN p_budget;
    END IF;
    IF p_now - v_since >= p_recover_every THEN
        v_budget := GREATEST(v_budget * 1.1, v_budget + 0.5);
        UPDATE kis_rate_limit
           SET budget = CASE WHEN v_budget >= p_budget THEN NULL ELSE v_budget END, changed_at = p_now
         WHERE key_hash = p_key_hash;
    END IF;
    RETURN LEAST(v_budget, p_budget);
END
$$;

-- Claims the slot that opens first and the next spacing tick, whichever is later, under the budget in
-- force (slots = its floor, spacing = 1 / budget); returns a NULL slot when every slot in use carries a
-- request in flight (the caller polls). The lease is p_lease seconds; the holder's heartbeat renews it.
CREATE FUNCTION kis_rate_limit_take(
    p_key_hash text, p_budget double precision, p_lease double precision, p_claim bigint,
    p_recover_every double precision
) RETURNS TABLE (slot integer, start_at double precision, now_at double precision, budget double precision)
LANGUAGE plpgsql AS $$
DECLARE
    v_now    double precision;
    v_tat    double precision;
    v_budget double precision;
    v_slot   integer;
    v_free   double precision;
    v_busy   boolean;
    v_start  double precision;
BEGIN
    SELECT r.tat INTO v_tat FROM kis_rate_limit AS r WHERE r.key_hash = p_key_hash FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kis_rate_limit has no row for this app key';
    END IF;
    v_now := extract(epoch FROM clock_timestamp());
    v_budget := kis_rate_limit_budget_in_force(p_key_hash, p_budget, p_recover_every, v_now);
    SELECT s.slot, s.free_at, s.claim IS NOT NULL AND s.free_at > v_now
      INTO v_slot, v_free, v_busy
      FROM kis_rate_limit_slot AS s
     WHERE s.key_hash = p_key_hash AND s.slot < GREATEST(1, floor(v_budget))
     ORDER BY 3, 2, 1
     LIMIT 1;
    IF v_slot IS NULL THEN
        RAISE EXCEPTION 'kis_rate_limit_slot has no slots for this app key';
    END IF;
    IF v_busy THEN
        RETURN QUERY SELECT NULL::integer, NULL::double precision, v_now, v_budget;
        RETURN;
    END IF;
    v_start := GREATEST(v_tat, v_free, v_now);
    UPDATE kis_rate_limit AS r
       SET tat = v_start + 1.0 / v_budget,
           period_claims = r.period_claims + CASE WHEN r.period_start IS NULL THEN 0 ELSE 1 END
     WHERE r.key_hash = p_key_hash;
    UPDATE kis_rate_limit_slot AS s SET free_at = v_start + p_lease, claim = p_claim
     WHERE s.key_hash = p_key_hash AND s.slot = v_slot;
    RETURN QUERY SELECT v_slot, v_start, v_now, v_budget;
END
$$;

-- One EGW00201 seen under the limiter. When, within p_period seconds, at least p_sustained claims were
-- made and KIS refused at least p_share of them (a third of that once a lowered budget is in force),
-- the key's budget is halved (down to p_floor): 20 -> 10 -> 5 -> 2.5 for a new key held to 3/s. (The
-- accepted share itself is no estimate of KIS's rate: most refused requests were claimed before the
-- period opened.) Occasional refusals (a gateway hiccup, another tool briefly on the key) stay below the share
-- and are just retried. For one second
-- after a change refusals are not counted (requests claimed under the old budget are still arriving).
-- Returns the budget in force and whether this call lowered it.
CREATE FUNCTION kis_rate_limit_throttled(
    p_key_hash text, p_budget double precision, p_sustained integer, p_period double precision,
    p_share double precision, p_floor double precision
) RETURNS TABLE (budget double precision, lowered boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_now      double precision;
    v_row      kis_rate_limit%ROWTYPE;
    v_budget   double precision;
    v_accepted double precision;
BEGIN
    SELECT * INTO v_row FROM kis_rate_limit AS r WHERE r.key_hash = p_key_hash FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kis_rate_limit has no row for this app key';
    END IF;
    v_now := extract(epoch FROM clock_timestamp());
    v_budget := LEAST(COALESCE(v_row.budget, p_budget), p_budget);
    UPDATE kis_rate_limit SET throttled_at = v_now WHERE key_hash = p_key_hash;
    IF v_now - COALESCE(v_row.changed_at, 0) < 1.0 THEN
        RETURN QUERY SELECT v_budget, false;
        RETURN;
    END IF;
    IF v_row.period_start IS NULL OR v_now - v_row.period_start > p_period THEN
        UPDATE kis_rate_limit SET period_start = v_now, period_refused = 1, period_claims = 0
         WHERE key_hash = p_key_hash;
        v_row.period_refused := 1;
        v_row.period_claims := 0;
    ELSE
        v_row.period_refused := v_row.period_refused + 1;
        UPDATE kis_rate_limit SET period_refused = v_row.period_refused WHERE key_hash = p_key_hash;
    END IF;
    v_accepted := GREATEST(v_row.period_claims - v_row.period_refused, 0)::double precision
                  / GREATEST(v_row.period_claims, v_row.period_refused, 1);
    -- Once KIS has throttled the key (a lowered budget is in force), a third of the share is enough.
    IF v_row.period_claims < p_sustained OR v_budget <= p_floor
       OR 1 - v_accepted < (CASE WHEN v_row.budget IS NULL THEN p_share ELSE p_share / 3 END) THEN
        RETURN QUERY SELECT v_budget, false;
        RETURN;
    END IF;
    v_budget := GREATEST(p_floor, v_budget / 2);
    UPDATE kis_rate_limit
       SET budget = v_budget, changed_at = v_now, period_start = NULL, period_refused = 0,
           period_claims = 0
     WHERE key_hash = p_key_hash;
    RETURN QUERY SELECT v_budget, true;
END
$$;
