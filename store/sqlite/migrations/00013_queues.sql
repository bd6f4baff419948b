-- weft schema, version 13: queues and keyed starts. A run on a queue
-- (runs.queue) waits there until a claim admits it (runs.admitted_at);
-- queued_at is when it joined the queue (its start time), priority and
-- concurrency_key decide its turn. queues holds each queue's limits as the
-- engines registered them last; a claim locks a queue's row while it admits.
-- start_keys holds the window of each dedup or debounce key of a workflow
-- and the run it started.

-- +goose Up
ALTER TABLE runs ADD COLUMN queue TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN concurrency_key TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN queued_at BIGINT;
ALTER TABLE runs ADD COLUMN admitted_at BIGINT;
CREATE INDEX runs_queue_waiting ON runs (queue, priority, queued_at) WHERE queue <> '' AND admitted_at IS NULL;
CREATE INDEX runs_queue_admitted ON runs (queue, admitted_at) WHERE admitted_at IS NOT NULL;
-- The runs holding a place in their queue: what a claim counts.
CREATE INDEX runs_queue_live ON runs (queue, concurrency_key)
    WHERE admitted_at IS NOT NULL AND status NOT IN ('completed', 'failed', 'cancelled', 'terminated');
CREATE TABLE queues (
    name            TEXT    PRIMARY KEY,
    concurrency     INTEGER NOT NULL,
    per_worker      INTEGER NOT NULL,
    rate_n          INTEGER NOT NULL,
    rate_per        BIGINT  NOT NULL,
    key_concurrency INTEGER NOT NULL,
    aging           BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE TABLE start_keys (
    workflow TEXT   NOT NULL,
    key      TEXT   NOT NULL,
    run_id   TEXT   NOT NULL,
    until    BIGINT NOT NULL,
    PRIMARY KEY (workflow, key)
);

-- +goose Down
DROP TABLE start_keys;
DROP TABLE queues;
DROP INDEX runs_queue_live;
DROP INDEX runs_queue_admitted;
DROP INDEX runs_queue_waiting;
ALTER TABLE runs DROP COLUMN admitted_at;
ALTER TABLE runs DROP COLUMN queued_at;
ALTER TABLE runs DROP COLUMN concurrency_key;
ALTER TABLE runs DROP COLUMN priority;
ALTER TABLE runs DROP COLUMN queue;
