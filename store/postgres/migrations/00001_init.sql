-- weft schema, version 1, for PostgreSQL. The same tables and columns as the
-- SQLite store's 00001_init.sql; see internal/sqlstore for what each holds.
-- Times are unix nanoseconds (BIGINT); NULL where the zero time means "none".

-- +goose Up
CREATE TABLE streams (
    stream  TEXT   PRIMARY KEY,
    version BIGINT NOT NULL
);

-- Positions come from an identity sequence. Appends are serialized by a
-- transaction-level advisory lock (see store/postgres), so positions are
-- assigned, and become visible, in order; a write rolled back leaves a gap.
CREATE TABLE events (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream   TEXT   NOT NULL,
    version  BIGINT NOT NULL,
    type     TEXT   NOT NULL,
    data     BYTEA  NOT NULL,
    tags     TEXT,
    time     BIGINT NOT NULL,
    UNIQUE (stream, version)
);

CREATE TABLE event_tags (
    tag      TEXT   NOT NULL,
    position BIGINT NOT NULL REFERENCES events (position),
    PRIMARY KEY (tag, position)
);

CREATE TABLE runs (
    id               TEXT    PRIMARY KEY,
    workflow         TEXT    NOT NULL,
    parent           TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL,
    input            BYTEA,
    result           BYTEA,
    error            BYTEA,
    wake_at          BIGINT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_token      BIGINT  NOT NULL DEFAULT 0,
    lease_expires    BIGINT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
-- Claiming and NextWakeAt: only runs with a wake-up are in the index (a run
-- that ends loses its wake-up).
CREATE INDEX runs_due ON runs (wake_at, id) WHERE wake_at IS NOT NULL;
CREATE INDEX runs_parent ON runs (parent);
CREATE INDEX runs_workflow ON runs (workflow, created_at, id);
CREATE INDEX runs_created ON runs (created_at, id);

CREATE TABLE signals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      TEXT   NOT NULL REFERENCES runs (id),
    name        TEXT   NOT NULL,
    payload     BYTEA  NOT NULL,
    sent_at     BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX signals_pending ON signals (run_id, id) WHERE consumed_at IS NULL;

CREATE TABLE timers (
    run_id  TEXT    NOT NULL REFERENCES runs (id),
    seq     INTEGER NOT NULL,
    fire_at BIGINT  NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE snapshots (
    stream  TEXT   PRIMARY KEY,
    version BIGINT NOT NULL,
    data    BYTEA  NOT NULL
);

-- +goose Down
DROP TABLE snapshots;
DROP TABLE timers;
DROP TABLE signals;
DROP TABLE runs;
DROP TABLE event_tags;
DROP TABLE events;
DROP TABLE streams;
