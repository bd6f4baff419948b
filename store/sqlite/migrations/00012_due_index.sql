-- weft schema, version 12: the index of due runs orders by (wake_at, id),
-- the order ClaimRuns takes them in, as PostgreSQL's has since version 1,
-- so that a claim reads the first due runs from the index and stops at its
-- limit, however many runs the store holds (it sorted every due run before).

-- +goose Up
DROP INDEX runs_due;
CREATE INDEX runs_due ON runs (wake_at, id) WHERE wake_at IS NOT NULL;

-- +goose Down
DROP INDEX runs_due;
CREATE INDEX runs_due ON runs (wake_at) WHERE wake_at IS NOT NULL;
