-- weft schema, version 14: named timers. A timer set under a name sends a
-- command to an entity or starts a workflow run when it comes due; id
-- changes each time the name is set again, so the firing of a replaced timer
-- cannot delete its replacement. due_at is NULL for a timer that failed for
-- good; lease_until is 0 when no worker holds the timer.

-- +goose Up
CREATE TABLE named_timers (
    name        TEXT    PRIMARY KEY,
    id          TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    payload     BLOB    NOT NULL,
    due_at      INTEGER,
    created_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX named_timers_due ON named_timers (due_at) WHERE due_at IS NOT NULL;

-- +goose Down
DROP TABLE named_timers;
