-- KRX data-portal client state (issue 15). The portal blocks an IP for about a day after heavy automated
-- use, and every retry during a block extends it; so a block seen by any process opens this circuit and
-- every process and run sharing the database stays away from that portal until reopens_at.
-- Request pacing is shared through kis_rate_limit* (sql/002, 007, 008) under the portal's own key hash.
CREATE TABLE krx_circuit (
    portal     text        PRIMARY KEY,  -- host[:port] of the portal, e.g. data.krx.co.kr
    opened_at  timestamptz NOT NULL,
    reopens_at timestamptz NOT NULL CHECK (reopens_at > opened_at),
    reason     text        NOT NULL,     -- what the portal answered (status and notice), never a credential
    opened_by  text        NOT NULL      -- host:pid of the process that saw the block
);
