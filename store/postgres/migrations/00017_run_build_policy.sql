-- weft schema, version 17: the build policy of each run. runs.stay_on_build
-- is the policy of the run's workflow (weft.BuildPolicy) when the run was
-- started: TRUE when it stays on its build, FALSE when it moves to the
-- newest. The claim honours it whatever the claiming worker registered or
-- was configured with. NULL for runs started before this version (or by an
-- engine that did not know the workflow): for those the claimer's own
-- policy of the workflow decides, as before.

-- +goose Up
ALTER TABLE runs ADD COLUMN stay_on_build BOOLEAN;

-- +goose Down
ALTER TABLE runs DROP COLUMN stay_on_build;
