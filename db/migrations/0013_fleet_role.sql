-- The fleet role (docs/security.md, "Roles"): the WorkerService for every tenant and nothing
-- else, so a shared worker pool need not hold an admin key.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('admin', 'producer', 'worker', 'fleet'));
