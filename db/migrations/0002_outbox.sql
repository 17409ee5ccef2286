-- The transactional outbox relay (SPEC §8). job_events is the outbox; the relay publishes its
-- rows to Kafka in id order and remembers how far it got here. See src/store/pg_outbox.cpp
-- for why the two changes to job_events' ids below are needed.

-- How far each relay has published: every job_events row with id <= last_event_id has been
-- delivered to (or permanently skipped as a gap by) that relay. "kafka" is the only one today.
CREATE TABLE outbox_cursors (
  name          text PRIMARY KEY,
  last_event_id bigint NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO outbox_cursors (name) VALUES ('kafka');

-- An event id is taken only after the inserting transaction has its transaction id. The relay
-- decides that a missing id is a permanent gap once every transaction older than a recorded
-- transaction id has ended; that is sound only if the transaction that took the missing id
-- already had its id when it took it. (nextval alone does not assign one, and a transaction
-- whose first write is a job_events row would otherwise get it after the nextval.)
CREATE FUNCTION jq_job_event_id() RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  AS $$
BEGIN
  PERFORM pg_current_xact_id();
  RETURN nextval('job_events_id_seq');
END
$$;

ALTER TABLE job_events ALTER COLUMN id SET DEFAULT jq_job_event_id();

-- Ids must be handed out in increasing order across sessions: no per-session caching.
ALTER SEQUENCE job_events_id_seq CACHE 1;
