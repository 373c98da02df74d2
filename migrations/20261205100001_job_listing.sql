-- The job listing and the dashboard's statistics (GET /v1/jobs, GET /v1/stats).

-- `metadata=key:value` filters are containment (`metadata @> '{"key": "value"}'`); jsonb_path_ops
-- is the smaller GIN flavour and serves exactly that operator.
CREATE INDEX jobs_metadata_idx ON jobs USING gin (metadata jsonb_path_ops);

-- Throughput and latency percentiles read the jobs that started or finished within a window.
CREATE INDEX jobs_started_idx ON jobs (started_at) WHERE started_at IS NOT NULL;
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
