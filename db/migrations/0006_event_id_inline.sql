-- Event ids at a fraction of the cost (issue 11). 0002's jq_job_event_id() is plpgsql: its
-- PERFORM runs as a query of its own for every job_events row, ~1.4 µs of backend CPU per
-- row, about 7% of a 1,000-job report statement. The same guarantee as one SQL expression:
-- the CASE evaluates pg_current_xact_id() (which assigns the transaction its id) before
-- nextval, and PostgreSQL inlines a LANGUAGE sql function like this one into the insert.
-- (SECURITY DEFINER or a SET clause would stop the inlining: keep it plain.)
CREATE OR REPLACE FUNCTION jq_job_event_id() RETURNS bigint
  LANGUAGE sql VOLATILE
  AS $$ SELECT CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('job_events_id_seq') END $$;
