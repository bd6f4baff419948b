package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

// TestRunEndNotifiedByCommit checks that the commit that ends a run tells
// the other processes of its end itself (store.RunEndCommitNotifier),
// with no NotifyRunEnded, and that a commit refused or not ending its run
// tells of nothing.
func TestRunEndNotifiedByCommit(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var st store.Store = a
	if n, ok := st.(store.RunEndCommitNotifier); !ok || !n.NotifiesRunEnds() {
		t.Fatal("the PostgreSQL store does not notify run ends in their commits")
	}
	ended := make(chan []string, 16)
	if err := b.ListenRunEnds(ctx, func(ids []string) { ended <- ids }); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	claimed := map[string]*weftype.Run{}
	for _, id := range []string{"kept", "refused", "done"} {
		if _, err := a.CreateRun(ctx, &store.CreateRunParams{ID: id, Workflow: "w", Time: t0,
			Events: []weftype.NewEvent{{Type: "Started", Data: []byte(`{}`)}}}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := a.ClaimRuns(ctx, &store.ClaimRunsParams{Owner: "w1", Now: t0, LeaseFor: time.Minute, Limit: 10})
	if err != nil || len(runs) != 3 {
		t.Fatalf("claimed %d runs, err %v", len(runs), err)
	}
	for _, r := range runs {
		claimed[r.ID] = r
	}
	commit := func(id string, token int64, status weftype.RunStatus) error {
		r := claimed[id]
		_, err := a.CommitRun(ctx, &store.CommitRunParams{RunID: id, LeaseToken: token, ExpectedVersion: r.Version,
			Events: []weftype.NewEvent{{Type: "Ended", Data: []byte(`{}`)}}, Status: status, Time: t0, ReleaseLease: true})
		return err
	}
	if err := commit("kept", claimed["kept"].LeaseToken, weftype.StatusWaiting); err != nil {
		t.Fatal(err)
	}
	if err := commit("refused", claimed["refused"].LeaseToken+1, weftype.StatusCompleted); !errors.Is(err, weftype.ErrLeaseLost) {
		t.Fatalf("commit with a wrong lease token: %v, want ErrLeaseLost", err)
	}
	if err := commit("done", claimed["done"].LeaseToken, weftype.StatusCompleted); err != nil {
		t.Fatal(err)
	}
	// Notifications arrive in commit order: the first one heard is of the
	// run that ended, none of the others.
	var got []string
	testwait.For(t, "the end of run done to be heard", func() bool {
		select {
		case ids := <-ended:
			if ids == nil {
				return false // the listening connection (re)connected
			}
			got = ids
			return true
		default:
			return false
		}
	})
	if len(got) != 1 || got[0] != "done" {
		t.Errorf("ends heard %v, want [done]", got)
	}
}
