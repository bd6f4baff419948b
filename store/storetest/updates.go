package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// updateTests cover store.Updates and CommitRunParams.AnswerUpdates.
var updateTests = []test{
	{"Updates", testUpdates},
	{"UpdateAnswers", testUpdateAnswers},
	{"UpdateSendConcurrent", testUpdateSendConcurrent},
}

func (h *harness) sendUpdate(runID, id, name, input string, at time.Time) *store.SendUpdateResult {
	h.t.Helper()
	res, err := h.st.SendUpdate(h.ctx, &store.SendUpdateParams{RunID: runID, ID: id, Name: name, Input: []byte(input), Time: at})
	h.ok(err)
	return res
}

// waitingRun creates the run id, saved as waiting with no wake-up.
func (h *harness) waitingRun(id string) {
	h.t.Helper()
	h.create(id, "w", "", t0)
	c := h.claimOne(id, t0)
	h.commit(&store.CommitRunParams{RunID: id, LeaseToken: c.LeaseToken, ExpectedVersion: 1,
		Status: weftype.StatusWaiting, SetWakeAt: true, ReleaseLease: true})
}

func testUpdates(t *testing.T, h *harness) {
	h.waitingRun("r")
	at := t0.Add(time.Minute)
	res := h.sendUpdate("r", "u1", "seats", `{"seats":3}`, at)
	u := res.Update
	if !res.Created || u.RunID != "r" || u.ID != "u1" || u.Name != "seats" || string(u.Input) != `{"seats":3}` ||
		u.Status != weftype.UpdatePending || u.Signal == 0 || u.Result != nil || u.Error != nil {
		t.Fatalf("SendUpdate = %+v, %+v", res, u)
	}
	wantTime(t, "SentAt", u.SentAt, at)
	// The update wakes the run through a signal that carries its ID.
	wantTime(t, "WakeAt after an update", h.run("r").WakeAt, at)
	sigs, err := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"})
	h.ok(err)
	if len(sigs) != 1 || sigs[0].ID != u.Signal || sigs[0].Name != weftype.UpdateSignal || string(sigs[0].Payload) != "u1" {
		t.Fatalf("PendingSignals = %+v, want the update's signal %d", sigs, u.Signal)
	}
	got, err := h.st.GetUpdate(h.ctx, &store.GetUpdateParams{RunID: "r", ID: "u1"})
	h.ok(err)
	if got.Name != "seats" || got.Signal != u.Signal || got.Status != weftype.UpdatePending || !got.AnsweredAt.IsZero() {
		t.Errorf("GetUpdate = %+v", got)
	}
	wantTime(t, "GetUpdate's SentAt", got.SentAt, at)

	// The same ID again: the stored update, nothing written.
	again := h.sendUpdate("r", "u1", "other", `{}`, at.Add(time.Hour))
	if again.Created || again.Update.Name != "seats" || string(again.Update.Input) != `{"seats":3}` || again.Update.Signal != u.Signal {
		t.Errorf("SendUpdate of the same ID = %+v, %+v", again, again.Update)
	}
	if sigs, _ := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"}); len(sigs) != 1 {
		t.Errorf("the same ID sent again stored %d signals", len(sigs))
	}
	// The same ID on another run is another update.
	h.waitingRun("r2")
	if res := h.sendUpdate("r2", "u1", "seats", `{}`, at); !res.Created {
		t.Error("an update ID of one run hid the same ID on another")
	}

	_, err = h.st.GetUpdate(h.ctx, &store.GetUpdateParams{RunID: "r", ID: "nope"})
	wantErrIs(t, "GetUpdate of an unknown update", err, weftype.ErrUpdateNotFound)
	_, err = h.st.SendUpdate(h.ctx, &store.SendUpdateParams{RunID: "nope", ID: "u", Name: "x", Time: at})
	wantErrIs(t, "SendUpdate to an unknown run", err, weftype.ErrRunNotFound)
	if _, err := h.st.SendUpdate(h.ctx, &store.SendUpdateParams{RunID: "r", Name: "x", Time: at}); err == nil {
		t.Error("SendUpdate without an ID succeeded")
	}
	h.end("r2", weftype.StatusCompleted, at)
	_, err = h.st.SendUpdate(h.ctx, &store.SendUpdateParams{RunID: "r2", ID: "u2", Name: "x", Time: at})
	wantErrIs(t, "SendUpdate to an ended run", err, weftype.ErrRunFinished)
	// An update stored before the run ended is still returned.
	if res, err := h.st.SendUpdate(h.ctx, &store.SendUpdateParams{RunID: "r2", ID: "u1", Name: "seats", Time: at}); err != nil || res.Created {
		t.Errorf("SendUpdate of a stored ID on an ended run = %+v, %v", res, err)
	}
	// Deleting the run deletes its updates.
	h.ok(h.st.DeleteRun(h.ctx, "r2"))
	_, err = h.st.GetUpdate(h.ctx, &store.GetUpdateParams{RunID: "r2", ID: "u1"})
	wantErrIs(t, "GetUpdate of a deleted run's update", err, weftype.ErrUpdateNotFound)
}

func testUpdateAnswers(t *testing.T, h *harness) {
	h.waitingRun("r")
	at := t0.Add(time.Minute)
	u1 := h.sendUpdate("r", "u1", "seats", `1`, at).Update
	u2 := h.sendUpdate("r", "u2", "seats", `2`, at).Update
	c := h.claimOne("r", at)
	// Accepted with its journal entry; rejected with no entry.
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 1, Time: at,
		Events: []weftype.NewEvent{ev("UpdateAccepted", "u1")}, ConsumeSignals: []int64{u1.Signal, u2.Signal},
		AnswerUpdates: []store.UpdateAnswer{
			{ID: "u1", Status: weftype.UpdateAccepted},
			{ID: "u2", Status: weftype.UpdateRejected, Error: []byte(`{"type":"x"}`)},
		}})
	get := func(id string) *weftype.Update {
		u, err := h.st.GetUpdate(h.ctx, &store.GetUpdateParams{RunID: "r", ID: id})
		h.ok(err)
		return u
	}
	if u := get("u1"); u.Status != weftype.UpdateAccepted || !u.AnsweredAt.IsZero() {
		t.Errorf("accepted update = %+v", u)
	}
	if u := get("u2"); u.Status != weftype.UpdateRejected || string(u.Error) != `{"type":"x"}` || u.Result != nil {
		t.Errorf("rejected update = %+v", u)
	} else {
		wantTime(t, "AnsweredAt", u.AnsweredAt, at)
	}
	if sigs, _ := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"}); len(sigs) != 0 {
		t.Errorf("signals of handled updates still pending: %+v", sigs)
	}
	// A stale lease writes no answer.
	_, err := h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken - 1, ExpectedVersion: 2,
		AnswerUpdates: []store.UpdateAnswer{{ID: "u1", Status: weftype.UpdateFailed, Error: []byte(`{}`)}}})
	wantErrIs(t, "CommitRun with a stale lease", err, weftype.ErrLeaseLost)
	if u := get("u1"); u.Status != weftype.UpdateAccepted {
		t.Errorf("a refused commit answered the update: %+v", u)
	}
	later := at.Add(time.Second)
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 2, Time: later,
		Events:        []weftype.NewEvent{ev("UpdateCompleted", "u1")},
		AnswerUpdates: []store.UpdateAnswer{{ID: "u1", Status: weftype.UpdateCompleted, Result: []byte(`7`)}}})
	u := get("u1")
	if u.Status != weftype.UpdateCompleted || string(u.Result) != "7" {
		t.Errorf("completed update = %+v", u)
	}
	wantTime(t, "AnsweredAt", u.AnsweredAt, later)
	// An answer stays: a second one is ignored.
	h.commit(&store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3, Time: later,
		AnswerUpdates: []store.UpdateAnswer{{ID: "u1", Status: weftype.UpdateFailed, Error: []byte(`{}`)}}})
	if u := get("u1"); u.Status != weftype.UpdateCompleted || string(u.Result) != "7" {
		t.Errorf("a second answer replaced the first: %+v", u)
	}
	_, err = h.st.CommitRun(h.ctx, &store.CommitRunParams{RunID: "r", LeaseToken: c.LeaseToken, ExpectedVersion: 3,
		AnswerUpdates: []store.UpdateAnswer{{ID: "u1", Status: "bogus"}}})
	if err == nil {
		t.Error("CommitRun with an invalid update status succeeded")
	}
}

func testUpdateSendConcurrent(t *testing.T, h *harness) {
	h.waitingRun("r")
	const n = 8
	var wg sync.WaitGroup
	created := make([]bool, n)
	signals := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			res, err := h.st.SendUpdate(h.ctx, &store.SendUpdateParams{RunID: "r", ID: "u", Name: "seats", Input: []byte(`1`), Time: t0})
			if err != nil {
				t.Error(err)
				return
			}
			created[i], signals[i] = res.Created, res.Update.Signal
		})
	}
	wg.Wait()
	count := 0
	for i := range n {
		if created[i] {
			count++
		}
		if signals[i] != signals[0] {
			t.Errorf("senders got signals %v, want one", signals)
			break
		}
	}
	if count != 1 {
		t.Errorf("%d of %d concurrent sends of one ID created it, want 1", count, n)
	}
	if sigs, _ := h.st.PendingSignals(h.ctx, &store.PendingSignalsParams{RunID: "r"}); len(sigs) != 1 {
		t.Errorf("%d signals for one update", len(sigs))
	}
}
