-- weft schema, version 21: steps on queues. A step given weft.StepOnQueue
-- takes a slot of its queue for each attempt. step_slots holds one row per
-- attempt: waiting (admitted_at NULL) until the queue admits it, held from
-- admitted_at until released_at, and kept after that for the queue's rate
-- window. A held slot counts only while its run's lease is the one it was
-- taken under (owner, lease_token) and has not expired, so the slot of a
-- worker that dies frees itself with the lease. step is the attempt's key
-- (the step's idempotency key and attempt).

-- +goose Up
CREATE TABLE step_slots (
    queue       TEXT    NOT NULL,
    run_id      TEXT    NOT NULL,
    step        TEXT    NOT NULL,
    lease_token BIGINT  NOT NULL,
    owner       TEXT    NOT NULL DEFAULT '',
    priority    INTEGER NOT NULL,
    queued_at   BIGINT  NOT NULL,
    admitted_at BIGINT,
    released_at BIGINT,
    PRIMARY KEY (queue, run_id, step, lease_token)
);
CREATE INDEX step_slots_waiting ON step_slots (queue, priority, queued_at) WHERE admitted_at IS NULL;
CREATE INDEX step_slots_admitted ON step_slots (queue, admitted_at) WHERE admitted_at IS NOT NULL;
CREATE INDEX step_slots_run ON step_slots (run_id);

-- +goose Down
DROP INDEX step_slots_run;
DROP INDEX step_slots_admitted;
DROP INDEX step_slots_waiting;
DROP TABLE step_slots;
