-- weft schema, version 6: runs.wakes counts the times a run was made due
-- by a signal, a cancel request or the end of a child. An execution that
-- saves the run as waiting passes the count it has accounted for, so that
-- a wake-up landing while it executed is not overwritten (see
-- store.CommitRunParams.CheckWakes).

-- +goose Up
ALTER TABLE runs ADD COLUMN wakes BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE runs DROP COLUMN wakes;
