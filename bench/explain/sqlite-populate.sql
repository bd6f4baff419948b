-- Fills a weft SQLite store (created by `weft migrate --db FILE`) with :N runs in all,
-- for EXPLAIN QUERY PLAN of the hot queries at that size (docs/benchmarks.md, "Growth"):
--   sqlite3 -cmd ".parameter set :N 100000" FILE < sqlite-populate.sql && sqlite3 FILE < sqlite-hot.sql
-- :N runs; 70% completed (no wake_at), 30% waiting with a due time; 3 journal events each
PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT (SELECT COUNT(*) FROM runs) UNION ALL SELECT i+1 FROM n WHERE i+1 < :N)
INSERT INTO runs (id, workflow, status, input, wake_at, created_at, updated_at)
SELECT printf('run-%07d', i), CASE i % 3 WHEN 0 THEN 'orders' WHEN 1 THEN 'billing' ELSE 'mail' END,
  CASE WHEN i % 10 < 7 THEN 'completed' ELSE 'waiting' END, x'00',
  CASE WHEN i % 10 < 7 THEN NULL ELSE 1000000000000 + i * 1000 END, 1000 + i, 1000 + i FROM n;
WITH RECURSIVE n(i) AS (SELECT (SELECT COUNT(*) FROM streams) UNION ALL SELECT i+1 FROM n WHERE i+1 < :N)
INSERT INTO streams (stream, version) SELECT printf('run:run-%07d', i), 3 FROM n;
WITH RECURSIVE n(i) AS (SELECT (SELECT COUNT(*) FROM streams) - (:N - (SELECT COUNT(*) FROM events)/3) UNION ALL SELECT i+1 FROM n WHERE i+1 < :N),
 v(k) AS (VALUES (1),(2),(3))
INSERT INTO events (stream, version, type, data, time) SELECT printf('run:run-%07d', i), k, 'step', zeroblob(160), 1000 + i FROM n, v;
DELETE FROM timers; DELETE FROM signals;
INSERT INTO timers (run_id, seq, fire_at) SELECT id, 1, wake_at FROM runs WHERE status = 'waiting';
INSERT INTO signals (run_id, name, payload, sent_at, consumed_at)
SELECT id, 'ping', x'00', created_at, CASE WHEN created_at % 20 = 0 THEN NULL ELSE created_at + 1 END FROM runs WHERE created_at % 10 = 0;
COMMIT;
SELECT COUNT(*) FROM runs; SELECT COUNT(*) FROM events;
