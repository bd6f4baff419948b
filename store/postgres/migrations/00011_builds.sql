-- weft schema, version 11: builds. runs.build is the build a run executes
-- on (the BuildID of the engine that started it or, for a run that moves
-- to the newest build, of the worker that last claimed it; empty for runs
-- older than this version, which any worker may claim). worker_builds is
-- what each worker reports, refreshed by its heartbeat: the build it runs
-- and when it was last seen.

-- +goose Up
ALTER TABLE runs ADD COLUMN build TEXT NOT NULL DEFAULT '';
CREATE TABLE worker_builds (
    worker    TEXT   PRIMARY KEY,
    build     TEXT   NOT NULL,
    last_seen BIGINT NOT NULL
);

-- +goose Down
DROP TABLE worker_builds;
ALTER TABLE runs DROP COLUMN build;
