-- Schedules: a recipe and a source fired as jobs by a cron expression or an interval in an IANA
-- zone. Each due tick is claimed by locking the schedule row (`FOR UPDATE SKIP LOCKED`) in the
-- transaction that inserts the job, its outbox rows and the run, and advances `next_fire_at`; the
-- unique (schedule_id, fire_at) of `schedule_runs` makes a second job for one tick impossible
-- even if two schedulers disagreed about the clock.

CREATE TABLE schedules (
    id            uuid PRIMARY KEY,
    name          text        NOT NULL,
    -- The validated recipe without its source (a preset is expanded when the schedule is saved).
    recipe        jsonb       NOT NULL,
    source_url    text,
    source_key    text,
    cron          text,
    every_secs    bigint,
    timezone      text        NOT NULL DEFAULT 'UTC',
    misfire       text        NOT NULL DEFAULT 'fire_once',
    priority      job_priority NOT NULL DEFAULT 'default',
    metadata      jsonb       NOT NULL DEFAULT '{}',
    paused_at     timestamptz,
    -- The next tick to fire; NULL when the timing never fires again.
    next_fire_at  timestamptz,
    last_fire_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_one_source CHECK ((source_url IS NULL) <> (source_key IS NULL)),
    CONSTRAINT schedules_one_timing CHECK ((cron IS NULL) <> (every_secs IS NULL)),
    CONSTRAINT schedules_misfire CHECK (misfire IN ('fire_once', 'skip'))
);

CREATE INDEX schedules_due_idx ON schedules (next_fire_at) WHERE paused_at IS NULL;
CREATE INDEX schedules_created_idx ON schedules (created_at DESC, id DESC);

-- Run history: one row per claimed tick, with the job it made (none for a skipped misfire).
CREATE TABLE schedule_runs (
    id            bigserial   PRIMARY KEY,
    schedule_id   uuid        NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    fire_at       timestamptz NOT NULL,
    job_id        uuid        REFERENCES jobs (id) ON DELETE SET NULL,
    -- fired | misfire_fired | misfire_skipped
    outcome       text        NOT NULL,
    -- For misfires: the last missed tick the run stands for.
    missed_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedule_runs_once_per_tick UNIQUE (schedule_id, fire_at),
    CONSTRAINT schedule_runs_outcome CHECK (outcome IN ('fired', 'misfire_fired', 'misfire_skipped'))
);

CREATE INDEX schedule_runs_recent_idx ON schedule_runs (schedule_id, fire_at DESC);

-- The stuck-job reaper looks for running jobs whose lease ran out (jobs_lease_idx covers it) and
-- retention for final jobs finished long ago.
CREATE INDEX jobs_retention_idx ON jobs (finished_at)
    WHERE status IN ('succeeded', 'failed', 'cancelled');
