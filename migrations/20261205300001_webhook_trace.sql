-- Webhook deliveries join the job's trace: the writer that makes a job final sets the
-- transaction-local `tintype.traceparent` (and `tintype.tracestate`) to its span's context, and the
-- trigger keeps it on the delivery, so the scheduler's POST is a child of the worker's job span.

ALTER TABLE webhook_deliveries ADD COLUMN trace_headers jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE OR REPLACE FUNCTION queue_job_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    headers jsonb := '{}'::jsonb;
BEGIN
    IF coalesce(current_setting('tintype.traceparent', true), '') <> '' THEN
        headers := jsonb_build_object('traceparent', current_setting('tintype.traceparent', true));
        IF coalesce(current_setting('tintype.tracestate', true), '') <> '' THEN
            headers := headers || jsonb_build_object('tracestate', current_setting('tintype.tracestate', true));
        END IF;
    END IF;
    INSERT INTO webhook_deliveries (job_id, url, event, trace_headers)
    VALUES (NEW.id, NEW.recipe -> 'webhook' ->> 'url', 'job.' || NEW.status::text, headers);
    RETURN NULL;
END
$$;
