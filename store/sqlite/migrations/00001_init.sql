-- weft schema, version 1. See internal/sqlstore for what each table holds.
-- Times are unix nanoseconds; NULL where the zero time means "none".

-- +goose Up
CREATE TABLE streams (
    stream  TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TABLE events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    stream   TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    data     BLOB    NOT NULL,
    tags     TEXT,
    time     INTEGER NOT NULL,
    UNIQUE (stream, version)
);

CREATE TABLE event_tags (
    tag      TEXT    NOT NULL,
    position INTEGER NOT NULL REFERENCES events (position),
    PRIMARY KEY (tag, position)
) WITHOUT ROWID;

CREATE TABLE runs (
    id               TEXT    PRIMARY KEY,
    workflow         TEXT    NOT NULL,
    parent           TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL,
    input            BLOB,
    result           BLOB,
    error            BLOB,
    wake_at          INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT FALSE,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_expires    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- Claiming and NextWakeAt: only runs with a wake-up are in the index (a run
-- that ends loses its wake-up).
CREATE INDEX runs_due ON runs (wake_at) WHERE wake_at IS NOT NULL;
CREATE INDEX runs_parent ON runs (parent);
CREATE INDEX runs_workflow ON runs (workflow, created_at, id);
CREATE INDEX runs_created ON runs (created_at, id);

CREATE TABLE signals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT    NOT NULL REFERENCES runs (id),
    name        TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    sent_at     INTEGER NOT NULL,
    consumed_at INTEGER
);
CREATE INDEX signals_pending ON signals (run_id, id) WHERE consumed_at IS NULL;

CREATE TABLE timers (
    run_id  TEXT    NOT NULL REFERENCES runs (id),
    seq     INTEGER NOT NULL,
    fire_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE snapshots (
    stream  TEXT    PRIMARY KEY,
    version INTEGER NOT NULL,
    data    BLOB    NOT NULL
);

-- +goose Down
DROP TABLE snapshots;
DROP TABLE timers;
DROP TABLE signals;
DROP TABLE runs;
DROP TABLE event_tags;
DROP TABLE events;
DROP TABLE streams;
