-- Webhook deliveries: one row per message (its id is the `webhook-id` header, the same on every
-- retry), every attempt recorded. The trigger queues a delivery in the very transaction that
-- makes a job final, whoever writes it (worker, gateway cancel, reaper), so no final state can be
-- committed without its webhook and no writer has to remember it.

CREATE TABLE webhook_deliveries (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id           uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    url              text        NOT NULL,
    -- job.succeeded | job.failed | job.cancelled
    event            text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending',
    attempts         integer     NOT NULL DEFAULT 0,
    -- While an attempt is in flight this is pushed past its timeout, so a crashed scheduler's
    -- delivery comes due again instead of being lost.
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- Fixed at the first attempt, so every retry sends the same body.
    payload          jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    CONSTRAINT webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'failed'))
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (job_id, created_at);

CREATE TABLE webhook_attempts (
    id           bigserial   PRIMARY KEY,
    delivery_id  uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    latency_ms   integer     NOT NULL,
    error        text
);

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

CREATE FUNCTION queue_job_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (job_id, url, event)
    VALUES (NEW.id, NEW.recipe -> 'webhook' ->> 'url', 'job.' || NEW.status::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_queue_webhook
    AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled')
          AND OLD.status IS DISTINCT FROM NEW.status
          AND NEW.recipe -> 'webhook' ->> 'url' IS NOT NULL)
    EXECUTE FUNCTION queue_job_webhook();
