-- weft schema, version 20: updates (weft.Update), synchronous requests to
-- a running workflow. A row is the request and, once the workflow answered
-- it, its answer: (run_id, id) is the caller's update ID, so that an update
-- sent twice is stored, handled and answered once. The request reaches the
-- run as a signal named weft.update (signal_id) so that it wakes the run
-- and is consumed in the commit that journals its acceptance. status is
-- pending, accepted (journaled, the handler runs), completed, failed (the
-- handler's error) or rejected (validator or no handler; never journaled).

-- +goose Up
CREATE TABLE updates (
    run_id      TEXT    NOT NULL REFERENCES runs (id),
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    input       BLOB    NOT NULL,
    signal_id   INTEGER  NOT NULL,
    status      TEXT    NOT NULL,
    result      BLOB,
    error       BLOB,
    sent_at     INTEGER  NOT NULL,
    answered_at INTEGER,
    PRIMARY KEY (run_id, id)
);

-- +goose Down
DROP TABLE updates;
