-- API keys for the gateway. Only a SHA-256 of each key is stored: keys are 256-bit random
-- strings, so a fast hash is as safe as a slow one and keeps the per-request check cheap.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    -- The key's first characters, shown in listings so an operator can tell keys apart.
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Named recipes clients submit by name ("preset": "thumbs").
CREATE TABLE presets (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    recipe      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
