package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// TestRunEndNotifiedByCommit checks that the commit that ends a run tells
// the other processes of its end itself (store.RunEndCommitNotifier),
// with no NotifyRunEnded, and that a commit refused or not ending its run
// tells of nothing.
func TestRunEndNotifiedByCommit(t *testing.T) {
	t.Parallel()
	ctx, a, b := twoStores(t)
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

// TestSignalNotifiesUnlessClaimed checks that a signal's NOTIFY
// (store.SignalNotifier) goes only when the signal did not claim its run
// (store.SendSignalParams.Claim): a run leased to the sender resumes there,
// and the other processes would wake for nothing.
func TestSignalNotifiesUnlessClaimed(t *testing.T) {
	t.Parallel()
	ctx, a, b := twoStores(t)
	wake, err := b.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan []string, 16)
	if err := b.ListenRunEnds(ctx, func(ids []string) { ended <- ids }); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	create := func(id string) {
		t.Helper()
		if _, err := a.CreateRun(ctx, &store.CreateRunParams{ID: id, Workflow: "w", Time: t0,
			Events: []weftype.NewEvent{{Type: "Started", Data: []byte(`{}`)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"held", "end1", "end2"} {
		create(id)
	}
	held := map[string]*weftype.Run{}
	runs, err := a.ClaimRuns(ctx, &store.ClaimRunsParams{Owner: "w1", Now: t0, LeaseFor: time.Minute, Limit: 10})
	if err != nil || len(runs) != 3 {
		t.Fatalf("claimed %d runs, err %v", len(runs), err)
	}
	for _, r := range runs {
		held[r.ID] = r
	}
	create("free")
	// end ends run id and waits until b heard of it: the notifications
	// of earlier commits on the channel were delivered before.
	end := func(id string) {
		t.Helper()
		r := held[id]
		if _, err := a.CommitRun(ctx, &store.CommitRunParams{RunID: id, LeaseToken: r.LeaseToken, ExpectedVersion: r.Version,
			Events: []weftype.NewEvent{{Type: "Ended", Data: []byte(`{}`)}}, Status: weftype.StatusCompleted, Time: t0, ReleaseLease: true}); err != nil {
			t.Fatal(err)
		}
		testwait.For(t, "the end of run "+id+" to be heard", func() bool {
			select {
			case ids := <-ended:
				return len(ids) == 1 && ids[0] == id
			default:
				return false
			}
		})
	}
	signal := func(id string) *store.SendSignalResult {
		t.Helper()
		res, err := a.SendSignal(ctx, &store.SendSignalParams{RunID: id, Name: "go", Time: t0.Add(time.Second),
			Claim: &store.ClaimRunsParams{Owner: "w2", LeaseFor: time.Minute, Workflows: []string{"w"}}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	end("end1")
	select {
	case <-wake: // the listener's first connection
	default:
	}
	if res := signal("free"); res.Claimed == nil {
		t.Fatal("the signal to a free run did not claim it")
	}
	end("end2")
	select {
	case <-wake:
		t.Error("a signal that claimed its run notified")
	default:
	}
	if res := signal("held"); res.Claimed != nil {
		t.Fatal("the signal claimed a run held by a live lease")
	}
	testwait.For(t, "the NOTIFY of a signal that did not claim", func() bool {
		select {
		case <-wake:
			return true
		default:
			return false
		}
	})
}
