-- Job state: Postgres is the source of truth; every transition is one conditional UPDATE.

CREATE TYPE job_status AS ENUM
    ('queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled', 'expired', 'deleted');

CREATE TYPE job_priority AS ENUM ('high', 'default', 'low');

CREATE TABLE jobs (
    id                  uuid PRIMARY KEY,
    status              job_status   NOT NULL DEFAULT 'queued',
    priority            job_priority NOT NULL DEFAULT 'default',
    recipe              jsonb        NOT NULL,
    -- Object key of the original in the bucket (uploads and `source.object`).
    source_key          text,
    -- Remote source, fetched by the worker.
    source_url          text,
    -- What the header said at submit time: {"format", "width", "height", "frames", "bytes"}.
    source_info         jsonb,
    outputs             jsonb        NOT NULL DEFAULT '[]',
    metadata            jsonb        NOT NULL DEFAULT '{}',
    attempts            integer      NOT NULL DEFAULT 0,
    max_attempts        integer      NOT NULL DEFAULT 3,
    timeout_secs        integer      NOT NULL DEFAULT 120,
    error_code          text,
    error_message       text,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    updated_at          timestamptz  NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    -- Ownership of a running job: the worker and its lease, extended by heartbeats.
    worker_id           text,
    lease_expires_at    timestamptz,
    heartbeat_at        timestamptz,
    next_attempt_at     timestamptz,
    cancel_requested_at timestamptz,
    trace_id            text,
    idempotency_key     text,
    request_hash        text,
    CONSTRAINT jobs_attempts_nonnegative CHECK (attempts >= 0),
    CONSTRAINT jobs_has_source CHECK (source_key IS NOT NULL OR source_url IS NOT NULL)
);

CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_status_created_idx ON jobs (status, created_at DESC);
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_idempotency_key_idx ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- History: what happened to a job, when, on which worker, in which attempt.
CREATE TABLE job_events (
    id         bigserial   PRIMARY KEY,
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    kind       text        NOT NULL,
    status     job_status  NOT NULL,
    attempt    integer     NOT NULL DEFAULT 0,
    worker_id  text,
    detail     jsonb
);

CREATE INDEX job_events_job_idx ON job_events (job_id, id);

-- Transactional outbox: a message is written in the same transaction as the state it announces
-- and published afterwards (at once by the writer, or later by the scheduler's relay).
CREATE TABLE outbox (
    id            bigserial   PRIMARY KEY,
    exchange      text        NOT NULL,
    routing_key   text        NOT NULL,
    payload       bytea       NOT NULL,
    message_type  text        NOT NULL,
    headers       jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text
);

CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL;
