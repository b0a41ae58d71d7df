-- Request slots per app key, so the shared limiter can run at the full KIS budget without EGW00201.
--
-- Even spacing alone (kis_rate_limit.tat) needs a safety margin: the server counts arrivals, and network
-- jitter can squeeze 21 arrivals into one second even when they were sent 50 ms apart. With N slots per
-- key (N = requests per 1-s window) each request holds a slot from its send until its reply came back,
-- and the slot opens again only one window after that reply. A request can only reach the server after
-- it was sent and before its reply, so two requests through the same slot arrive at least one window
-- apart and no window can ever see more than N arrivals, whatever the jitter.

CREATE TABLE kis_rate_limit_slot (
    key_hash  text             NOT NULL REFERENCES kis_rate_limit (key_hash) ON DELETE CASCADE,
    slot      integer          NOT NULL CHECK (slot >= 0),
    -- epoch seconds (database clock): while `claim` is set, the lease end (a process that died
    -- mid-request gives its slot back then); after release, when the slot may carry the next request
    free_at   double precision NOT NULL,
    claim     bigint,
    PRIMARY KEY (key_hash, slot)
);

-- Claims the slot that opens first and the next spacing tick, whichever is later; returns NULL slot when
-- every slot carries a request in flight (the caller polls). Locking the key's kis_rate_limit row makes
-- claims from every process strictly sequential; releases touch only their own slot row.
CREATE FUNCTION kis_rate_limit_claim(
    p_key_hash text, p_slots integer, p_spacing double precision, p_lease double precision, p_claim bigint
) RETURNS TABLE (slot integer, start_at double precision, now_at double precision)
LANGUAGE plpgsql AS $$
DECLARE
    v_now   double precision;
    v_tat   double precision;
    v_slot  integer;
    v_free  double precision;
    v_busy  boolean;
    v_start double precision;
BEGIN
    SELECT r.tat INTO v_tat FROM kis_rate_limit AS r WHERE r.key_hash = p_key_hash FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kis_rate_limit has no row for this app key';
    END IF;
    v_now := extract(epoch FROM clock_timestamp());
    SELECT s.slot, s.free_at, s.claim IS NOT NULL AND s.free_at > v_now
      INTO v_slot, v_free, v_busy
      FROM kis_rate_limit_slot AS s
     WHERE s.key_hash = p_key_hash AND s.slot < p_slots
     ORDER BY 3, 2, 1
     LIMIT 1;
    IF v_slot IS NULL THEN
        RAISE EXCEPTION 'kis_rate_limit_slot has no slots for this app key';
    END IF;
    IF v_busy THEN
        RETURN QUERY SELECT NULL::integer, NULL::double precision, v_now;
        RETURN;
    END IF;
    v_start := GREATEST(v_tat, v_free, v_now);
    UPDATE kis_rate_limit SET tat = v_start + p_spacing WHERE key_hash = p_key_hash;
    UPDATE kis_rate_limit_slot AS s SET free_at = v_start + p_lease, claim = p_claim
     WHERE s.key_hash = p_key_hash AND s.slot = v_slot;
    RETURN QUERY SELECT v_slot, v_start, v_now;
END
$$;
