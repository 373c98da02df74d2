-- Delivery guarantees: dead letters, idempotency key expiry, and the worker registry.

-- Set when a job's message was dead-lettered (attempts exhausted, or the broker's delivery limit
-- reached); `GET /v1/dead-letters` lists these jobs, `POST /v1/jobs/{id}/retry` clears it.
ALTER TABLE jobs ADD COLUMN dead_lettered_at timestamptz;
CREATE INDEX jobs_dead_lettered_idx ON jobs (dead_lettered_at DESC, id DESC)
    WHERE dead_lettered_at IS NOT NULL;

-- An idempotency key answers with its job until it expires; then the key may be used again.
ALTER TABLE jobs ADD COLUMN idempotency_expires_at timestamptz;

-- Workers register at start and heartbeat; a worker whose heartbeat is old is dead.
CREATE TABLE workers (
    id            text        PRIMARY KEY,
    host          text        NOT NULL,
    queues        text[]      NOT NULL,
    concurrency   integer     NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    stopped_at    timestamptz,
    current_jobs  uuid[]      NOT NULL DEFAULT '{}',
    processed     bigint      NOT NULL DEFAULT 0,
    failed        bigint      NOT NULL DEFAULT 0
);

CREATE INDEX workers_last_seen_idx ON workers (last_seen_at DESC);
