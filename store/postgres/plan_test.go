package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// TestWriterLooksUpByKey checks the planner settings of the writer's
// connection (keyedOnly): on a runs table that grew since it was analyzed,
// as every new deployment's does, a batch joined with runs is planned as
// lookups by key, not as a scan of the table, and with one generic plan.
func TestWriterLooksUpByKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t, nil)
	defer st.Close()
	reqs := make([]store.CreateRunParams, 500)
	for i := range reqs {
		reqs[i] = store.CreateRunParams{ID: fmt.Sprintf("r%d", i), Workflow: "w", Time: time.Unix(1, 0),
			Events: []weftype.NewEvent{{Type: "Started"}}}
	}
	if _, err := st.CreateRuns(ctx, &store.CreateRunsParams{Runs: reqs}); err != nil {
		t.Fatal(err)
	}
	// Exec runs in a write transaction, on the writer's connection.
	var plan []string
	err := st.Exec(ctx, func(ctx context.Context, tx store.Tx) error {
		for setting, want := range map[string]string{"enable_seqscan": "off", "plan_cache_mode": "force_generic_plan", "jit": "off"} {
			var got string
			if err := tx.QueryRowContext(ctx, "SHOW "+setting).Scan(&got); err != nil {
				return err
			}
			if got != want {
				t.Errorf("writer's %s = %q, want %q", setting, got, want)
			}
		}
		rows, err := tx.QueryContext(ctx, `EXPLAIN SELECT r.status FROM unnest($1::text[]) AS i(id) LEFT JOIN runs r ON r.id = i.id`, "{r1,r2}")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan = append(plan, line)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "Seq Scan on runs") || !strings.Contains(text, "runs_pkey") {
		t.Errorf("a batch joined with runs is not looked up by key:\n%s", text)
	}
}
