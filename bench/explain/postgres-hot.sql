-- EXPLAIN of the queries a run's life sends to PostgreSQL, as internal/sqlstore and
-- store/postgres write them (parameters filled with values). No Seq Scan on a filled table.
\echo '-- ClaimRuns (one statement: pick due runs in (wake_at, id) order, lease them, return them)'
EXPLAIN WITH c AS (SELECT r.id FROM runs r WHERE r.wake_at IS NOT NULL AND r.wake_at <= 1000000500000 AND r.queue = '' AND r.status NOT IN ('completed','failed','cancelled','terminated','suspended','blocked') AND (r.lease_owner = '' OR r.lease_expires IS NULL OR r.lease_expires <= 5) AND r.id NOT IN ('a','b') AND (r.workflow || '') IN ('orders','billing') ORDER BY r.wake_at, r.id LIMIT 64 FOR UPDATE SKIP LOCKED),
 u AS (UPDATE runs SET lease_owner = 'w', lease_token = lease_token + 1, lease_expires = 9, updated_at = 9 FROM c WHERE runs.id = c.id RETURNING runs.*)
 SELECT * FROM u r ORDER BY r.wake_at, r.id;
\echo '-- NextWakeAt (the timer wake-up)'
EXPLAIN SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL AND status NOT IN ('completed','failed','cancelled','terminated','suspended','blocked');
\echo '-- GetRun'
EXPLAIN SELECT * FROM runs r WHERE r.id = 'run-0050000';
\echo '-- CommitRun: the run, the stream version, the journal entry'
EXPLAIN UPDATE runs SET status = 'running', wake_at = NULL, updated_at = 2 WHERE id = 'run-0050000' AND lease_token = 1 AND status NOT IN ('completed','failed','cancelled','terminated');
EXPLAIN UPDATE streams SET version = 4 WHERE stream = 'run:run-0050000' AND version = 3;
EXPLAIN INSERT INTO events (stream, version, type, data, time) VALUES ('run:run-0050000', 4, 'step', '\x00', 2);
\echo '-- CommitRun: signals consumed, timers removed'
EXPLAIN UPDATE signals SET consumed_at = 1 WHERE run_id = 'run-0050000' AND consumed_at IS NULL AND id <= 5;
EXPLAIN DELETE FROM timers WHERE run_id = 'run-0050000';
\echo '-- ReadStream (loading a run''s journal)'
EXPLAIN SELECT position, stream, version, type, data, tags, time FROM events WHERE stream = 'run:run-0050000' AND version > 0 ORDER BY version LIMIT 1000;
\echo '-- PendingSignals'
EXPLAIN SELECT id, run_id, name, payload, sent_at FROM signals WHERE run_id = 'run-0050000' AND consumed_at IS NULL ORDER BY id;
