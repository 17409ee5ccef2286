-- W3C traceparent of the request that submitted the job: passed to the worker and on into the
-- job's environment (TRACEPARENT), so one trace covers client, server, worker and job.
ALTER TABLE jobs ADD COLUMN traceparent text;
