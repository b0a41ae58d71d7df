-- Alert outbox (kis_intel_assets/alerts). Producers insert each alert once: its identity is
-- (alert_type, entity, trading_day, detail), so re-reading a source row on every sensor tick is harmless.
-- Delivery state is kept per channel, so a Slack outage neither blocks Discord nor loses the Slack copy.
-- Channels are stored by name ('slack', 'slack_bot', 'discord', 'console'): webhook URLs and tokens are
-- credentials and never reach the database.

CREATE TABLE alert_outbox (
    alert_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_type      text        NOT NULL CHECK (alert_type IN (
                                    'rotation_transition', 'concentrated_buying', 'short_overheat',
                                    'asset_check_failure', 'run_failure')),
    entity          text        NOT NULL CHECK (entity <> ''),
    trading_day     date        NOT NULL,
    detail          text        NOT NULL DEFAULT '',
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alert_type, entity, trading_day, detail)
);
CREATE INDEX alert_outbox_created_idx ON alert_outbox (created_at);

-- One row per (alert, channel) once a delivery pass has taken the alert on for that channel.
-- pending: not yet delivered (next_attempt_at says when to try again); sent: delivered at sent_at;
-- failed: the channel rejected it permanently (e.g. 404 for a deleted webhook), last_error says why.
CREATE TABLE alert_delivery (
    alert_id        bigint      NOT NULL REFERENCES alert_outbox (alert_id) ON DELETE CASCADE,
    channel         text        NOT NULL CHECK (channel ~ '^[a-z_]+$'),
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, channel),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX alert_delivery_due_idx ON alert_delivery (next_attempt_at) WHERE status = 'pending';
