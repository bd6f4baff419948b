package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

// BenchmarkInsertCommit is the baseline: one single-row INSERT per
// transaction (autocommit, prepared), on one connection: one durable
// commit, one round trip.
func BenchmarkInsertCommit(b *testing.B) {
	ctx := context.Background()
	dsn, schema := pgtest.Schema(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE `+schema+`.base (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k TEXT, v BYTEA)`); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 100)
	for b.Loop() {
		if _, err := conn.Exec(ctx, `INSERT INTO `+schema+`.base (k, v) VALUES ($1, $2)`, "run:x", payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitStep commits a plain step (one event appended to a run's
// journal, under its lease) per call, one at a time: what a step of a lone
// run costs the store, against BenchmarkInsertCommit.
func BenchmarkCommitStep(b *testing.B) {
	ctx := context.Background()
	dsn, _ := pgtest.Schema(b)
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	if _, err := st.CreateRun(ctx, &store.CreateRunParams{ID: "r", Workflow: "w", Time: t0,
		Events: []weftype.NewEvent{{Type: "Started"}}, LeaseOwner: "me", LeaseUntil: t0.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 100)
	version := int64(1)
	for b.Loop() {
		res, err := st.CommitRun(ctx, &store.CommitRunParams{RunID: "r", LeaseToken: 1, ExpectedVersion: version,
			Events: []weftype.NewEvent{{Type: "StepCompleted", Data: payload}}})
		if err != nil {
			b.Fatal(err)
		}
		version = res.Version
	}
}
