-- weft schema, version 12: on SQLite the index of due runs gains id, to
-- match the order ClaimRuns takes runs in. PostgreSQL's runs_due has been
-- (wake_at, id) since version 1, so nothing changes here; the version
-- keeps both stores' schemas numbered alike.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
