-- Revoking JWTs before they expire (docs/security.md, "JWT"): jq does not store JWTs, so a
-- revocation names a subject (the `sub` claim) and a time; every token of that subject issued
-- (`iat`) at or before it is refused. Read by every replica with the API keys.
CREATE TABLE jwt_revocations (
  subject text PRIMARY KEY CHECK (length(subject) BETWEEN 1 AND 128),
  revoked_at timestamptz NOT NULL DEFAULT now(),
  revoked_by text NOT NULL
);
