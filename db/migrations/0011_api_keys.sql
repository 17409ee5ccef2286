-- API keys (SPEC §11, docs/security.md). A key is "jq_<id>_<secret>": the id finds the row,
-- the secret (256 random bits) is kept only as its SHA-256, compared in constant time. A
-- secret that long needs no salt or slow hash: nobody can guess their way to one.
CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
  tenant text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'producer', 'worker')),
  secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
