-- Fills a weft PostgreSQL database (created by `weft migrate --db postgres://…`) with :n runs
-- in all, then ANALYZE (as autovacuum would):
--   psql -d DB -v n=1000000 -f postgres-populate.sql && psql -d DB -f postgres-hot.sql
-- :n runs in all; 70% completed (no wake_at), 30% waiting with a due time; 3 journal events each
INSERT INTO runs (id, workflow, status, input, wake_at, created_at, updated_at)
SELECT format('run-%s', lpad(i::text, 7, '0')), (ARRAY['orders','billing','mail'])[i % 3 + 1],
  CASE WHEN i % 10 < 7 THEN 'completed' ELSE 'waiting' END, '\x00',
  CASE WHEN i % 10 < 7 THEN NULL ELSE 1000000000000 + i * 1000 END, 1000 + i, 1000 + i
FROM generate_series((SELECT count(*) FROM runs), :n - 1) i;
INSERT INTO streams (stream, version) SELECT format('run:run-%s', lpad(i::text, 7, '0')), 3 FROM generate_series((SELECT count(*) FROM streams), :n - 1) i;
INSERT INTO events (stream, version, type, data, time)
SELECT format('run:run-%s', lpad(i::text, 7, '0')), k, 'step', convert_to(repeat('x', 160), 'UTF8'), 1000 + i
FROM generate_series((SELECT count(*) FROM events) / 3, :n - 1) i, generate_series(1, 3) k;
-- a timer per sleeping run, a signal per tenth run (half of them consumed)
TRUNCATE timers; TRUNCATE signals;
INSERT INTO timers (run_id, seq, fire_at) SELECT id, 1, wake_at FROM runs WHERE status = 'waiting';
INSERT INTO signals (run_id, name, payload, sent_at, consumed_at)
SELECT id, 'ping', '\x00', created_at, CASE WHEN created_at % 20 = 0 THEN NULL ELSE created_at + 1 END FROM runs WHERE created_at % 10 = 0;
ANALYZE runs; ANALYZE streams; ANALYZE events; ANALYZE signals; ANALYZE timers;
SELECT count(*) AS runs FROM runs; SELECT count(*) AS events FROM events;
