-- Tenants' limits (SPEC §6): a NULL limit takes the configuration's default (limits.*).
CREATE TABLE tenants (
  name text PRIMARY KEY,
  max_running_jobs int CHECK (max_running_jobs >= 0),
  submit_rate int CHECK (submit_rate >= 0),
  submit_burst int CHECK (submit_burst >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Who asked for a transition an operator or client caused (cancel, retry, queue and worker
-- commands): the API key id, "jwt:<sub>" or "bootstrap". NULL for the system's own.
ALTER TABLE job_events ADD COLUMN actor text;
