-- EXPLAIN QUERY PLAN of the queries a run's life sends to SQLite, as internal/sqlstore
-- writes them (placeholders filled with values). Every line must read SEARCH … USING INDEX.
.print '-- ClaimRuns (due runs of the engine''s workflows, in (wake_at, id) order, to the limit)'
EXPLAIN QUERY PLAN SELECT r.id FROM runs r WHERE r.wake_at IS NOT NULL AND r.wake_at <= 1000000500000 AND r.queue = '' AND r.status NOT IN ('completed','failed','cancelled','terminated','suspended','blocked') AND (r.lease_owner = '' OR r.lease_expires IS NULL OR r.lease_expires <= 5) AND r.id NOT IN ('a','b') AND (r.workflow || '') IN ('orders','billing') ORDER BY r.wake_at, r.id LIMIT 64;
.print '-- NextWakeAt (the timer wake-up)'
EXPLAIN QUERY PLAN SELECT MIN(wake_at) FROM runs WHERE wake_at IS NOT NULL AND status NOT IN ('completed','failed','cancelled','terminated','suspended','blocked');
.print '-- GetRun'
EXPLAIN QUERY PLAN SELECT * FROM runs r WHERE r.id = 'run-0500000';
.print '-- CreateRun'
EXPLAIN QUERY PLAN INSERT INTO runs (id, workflow, status, created_at, updated_at) VALUES ('x','orders','pending',1,1) ON CONFLICT (id) DO NOTHING;
.print '-- CommitRun: the run'
EXPLAIN QUERY PLAN UPDATE runs SET status = 'running', wake_at = NULL, updated_at = 2 WHERE id = 'run-0500000' AND lease_token = 1 AND status NOT IN ('completed','failed','cancelled','terminated');
.print '-- CommitRun: the stream version'
EXPLAIN QUERY PLAN UPDATE streams SET version = 4 WHERE stream = 'run:run-0500000' AND version = 3;
.print '-- CommitRun: the journal entry'
EXPLAIN QUERY PLAN INSERT INTO events (stream, version, type, data, time) VALUES ('run:run-0500000', 4, 'step', x'00', 2);
.print '-- CommitRun: signals consumed, timers removed'
EXPLAIN QUERY PLAN UPDATE signals SET consumed_at = 1 WHERE run_id = 'run-0500000' AND consumed_at IS NULL AND id <= 5;
EXPLAIN QUERY PLAN DELETE FROM timers WHERE run_id = 'run-0500000';
.print '-- ReadStream (loading a run''s journal)'
EXPLAIN QUERY PLAN SELECT position, stream, version, type, data, tags, time FROM events WHERE stream = 'run:run-0500000' AND version > 0 ORDER BY version LIMIT 1000;
.print '-- PendingSignals'
EXPLAIN QUERY PLAN SELECT id, run_id, name, payload, sent_at FROM signals WHERE run_id = 'run-0500000' AND consumed_at IS NULL ORDER BY id;
.print '-- parent wake-up on a child''s end'
EXPLAIN QUERY PLAN SELECT parent FROM runs WHERE id = 'run-0500000';
