-- Exactly-once alert delivery where the channel allows it (kis_intel_assets/alerts/outbox.py).
--
-- Before a send, the delivering process commits a lease on the (alert, channel) row and an attempt row
-- without an outcome: the send-before marker. A process that dies mid-send leaves that marker behind;
-- once its lease has run out, the next pass knows the message may have gone out and either asks the
-- channel (Discord nonce, Slack bot history) or re-sends, recording the unknown attempt either way, so a
-- possible duplicate is visible here instead of hidden behind attempts = 1.

-- Sent with every attempt of one (alert, channel): Discord's message nonce (at most 25 characters) and
-- the Slack bot's message metadata, by which a re-send after a crash is recognised as the same message.
ALTER TABLE alert_delivery
    ADD COLUMN idempotency_key text NOT NULL
        DEFAULT substr(md5(random()::text || clock_timestamp()::text), 1, 24),
    ADD COLUMN lease_until timestamptz;

-- One row per send attempt. outcome NULL: in flight, or its process died (then `lease_until` of the
-- delivery has passed and the next pass settles it as 'unknown').
-- sent / retry / failed: what the channel answered; already_sent: the channel showed the message of an
-- unknown attempt, so nothing was posted again; unknown: the process died before recording an answer.
CREATE TABLE alert_attempt (
    alert_id    bigint      NOT NULL,
    channel     text        NOT NULL,
    attempt     integer     NOT NULL CHECK (attempt >= 1),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    outcome     text        CHECK (outcome IN ('sent', 'retry', 'failed', 'already_sent', 'unknown')),
    error       text,
    PRIMARY KEY (alert_id, channel, attempt),
    FOREIGN KEY (alert_id, channel) REFERENCES alert_delivery (alert_id, channel) ON DELETE CASCADE,
    CHECK ((outcome IS NULL) = (finished_at IS NULL))
);

-- The pages' cache of rendered day views (kis_intel_assets/pages/cache.py) is valid while no table the
-- pages read has changed: every write statement on one of them appends a row here (no row is locked, so
-- concurrent writers never wait on each other), and the count of committed rows is the data version.
CREATE TABLE pages_data_change (
    change_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text        NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION note_pages_data_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pages_data_change (table_name) VALUES (TG_TABLE_NAME);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    read_by_pages text;
BEGIN
    FOREACH read_by_pages IN ARRAY ARRAY[
        'stock_master', 'daily_prices', 'investor_trends', 'short_selling', 'sector_rotation',
        'rotation_signal', 'rotation_scorecard', 'short_overheat'
    ] LOOP
        EXECUTE format(
            'CREATE TRIGGER pages_data_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION note_pages_data_change()',
            read_by_pages
        );
    END LOOP;
END
$$;
