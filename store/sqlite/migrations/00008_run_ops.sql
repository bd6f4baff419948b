-- weft schema, version 8: the links between a run and the run it was reset
-- into (runs.reset_to) or from (runs.reset_from), empty when none. Both
-- journals record the link too (RunResetTo / RunResetFrom entries).

-- +goose Up
ALTER TABLE runs ADD COLUMN reset_from TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN reset_to TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE runs DROP COLUMN reset_to;
ALTER TABLE runs DROP COLUMN reset_from;
