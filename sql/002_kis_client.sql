-- State the KIS client shares between processes and Dagster runs. Both tables are keyed by a
-- SHA-256 hash of the app key, so the key itself is never stored.

-- One access token per app key (KIS allows one issuance per minute and sends a notice for each).
-- The token is AES-GCM encrypted with a key derived from the app secret; the key hash is the AAD.
CREATE TABLE kis_token_store (
    key_hash     text        PRIMARY KEY CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    nonce        bytea       NOT NULL CHECK (octet_length(nonce) = 12),
    ciphertext   bytea       NOT NULL,
    expires_at   timestamptz NOT NULL,
    issued_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Shared request pacing (GCRA): `tat` is the theoretical arrival time of the next request in epoch
-- seconds on the database clock; each acquire is one UPDATE ... RETURNING on this row.
CREATE TABLE kis_rate_limit (
    key_hash     text             PRIMARY KEY CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    tat          double precision NOT NULL
);
