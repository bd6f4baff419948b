package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft/examples/booking"
	"github.com/weftrun/weft/internal/cli"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// entity returns `weft entity show --json` of an entity.
func entity(t *testing.T, db, typ, id string) cli.EntityOutput {
	t.Helper()
	var out cli.EntityOutput
	if err := json.Unmarshal([]byte(ok(t, "--db", db, "entity", "show", typ, id, "--json")), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// consumers returns `weft consumers ls --json` by name.
func consumers(t *testing.T, db string) map[string]cli.ConsumerView {
	t.Helper()
	var list []cli.ConsumerView
	if err := json.Unmarshal([]byte(ok(t, "--db", db, "consumers", "ls", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]cli.ConsumerView{}
	for _, c := range list {
		out[c.Name] = c
	}
	return out
}

// appendPoison appends, from this process, a BookingPlaced event whose data
// does not decode, which the confirmation consumer of `weft dev` parks.
func appendPoison(t *testing.T, db, id string) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, &sqlite.Options{MustExist: true, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stream := booking.EntityName + ":" + id
	res, err := st.Append(ctx, &store.AppendParams{Stream: stream, ExpectedVersion: weftype.AnyVersion, Time: time.Now(),
		Events: []weftype.NewEvent{{Type: booking.TypePlaced, Data: []byte(`"not a booking"`), Tags: []string{booking.EntityName, stream}}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Positions[0]
}

func TestEventSideCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "weft.db")
	d := startDev(t, db)

	types := strings.Fields(ok(t, "--db", db, "entity", "types"))
	if !strings.Contains(strings.Join(types, ","), booking.EntityName) {
		t.Fatalf("entity types %v, want booking among them", types)
	}

	// A booking for a free concert is placed, confirmed and settled by the
	// consumers of weft dev.
	place := `{"place":{"client":"ann","concert":"open-rehearsal","seats":["A1","A2"]}}`
	out := ok(t, "--db", db, "entity", "send", "booking", "b-1", place, "--command-id", "place-b-1")
	for _, want := range []string{"sent: 1 event(s) appended to booking:b-1, now at version 1", `"status": "placed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("entity send lacks %q:\n%s", want, out)
		}
	}
	testwait.For(t, "b-1 settled", func() bool {
		var s booking.State
		e := entity(t, db, "booking", "b-1")
		return json.Unmarshal(e.State, &s) == nil && s.Status == booking.StatusSettled
	})
	e := entity(t, db, "booking", "b-1")
	if len(e.Events) < 3 || e.Events[0].Type != booking.TypePlaced || e.Version != int64(len(e.Events)) || e.Stream != "booking:b-1" {
		t.Fatalf("entity show --json: %+v", e)
	}
	text := ok(t, "--db", db, "entity", "show", "booking", "b-1")
	for _, want := range []string{"entity    booking b-1", "stream    booking:b-1", `"status": "settled"`, "VER", booking.TypePlaced, booking.TypeConfirmed, `"seats":["A1","A2"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("entity show lacks %q:\n%s", want, text)
		}
	}
	if out := ok(t, "--db", db, "entity", "show", "booking", "nobody"); !strings.Contains(out, "version   0") || !strings.Contains(out, "no events") {
		t.Errorf("entity show of a booking without events:\n%s", out)
	}

	// The log, filtered by tag and type.
	tail := ok(t, "--db", db, "events", "tail", "--tag", "booking:b-1")
	for _, want := range []string{"POS", "STREAM", "VER", "TYPE", "TAGS", "TIME", "DATA", "booking:b-1", booking.TypePlaced, booking.TypeConfirmed} {
		if !strings.Contains(tail, want) {
			t.Errorf("events tail --tag lacks %q:\n%s", want, tail)
		}
	}
	placed := ok(t, "--db", db, "events", "tail", "--from", "1", "--type", booking.TypePlaced, "--json")
	var lines []cli.EventView
	for _, l := range strings.Split(strings.TrimSpace(placed), "\n") {
		var ev cli.EventView
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("events tail --json line %q: %v", l, err)
		}
		lines = append(lines, ev)
	}
	if len(lines) != 1 || lines[0].Stream != "booking:b-1" || lines[0].Type != booking.TypePlaced || !strings.Contains(string(lines[0].Data), `"client":"ann"`) {
		t.Errorf("events tail --type %s --json: %+v", booking.TypePlaced, lines)
	}
	if out := ok(t, "--db", db, "events", "tail", "--last", "2"); strings.Count(strings.TrimSpace(out), "\n") != 2 {
		t.Errorf("events tail --last 2 printed:\n%s", out)
	}

	// Consumers with their lag; all of them catch up.
	var cs map[string]cli.ConsumerView
	testwait.For(t, "the booking consumers caught up", func() bool {
		cs = consumers(t, db)
		c, found := cs[booking.ConfirmationConsumer]
		return found && c.Lag == 0 && c.Position > 0
	})
	ls := ok(t, "--db", db, "consumers", "ls")
	for _, want := range []string{"NAME", "KIND", "POSITION", "HEAD", "LAG", "OLDEST", "PARKED", "STOPPED", booking.ConfirmationConsumer, "projection"} {
		if !strings.Contains(ls, want) {
			t.Errorf("consumers ls lacks %q:\n%s", want, ls)
		}
	}

	// An event the confirmation process cannot decode is parked.
	pos := appendPoison(t, db, "bad")
	testwait.For(t, "the poison event parked", func() bool {
		return strings.Contains(ok(t, "--db", db, "parked", "ls", booking.ConfirmationConsumer), fmt.Sprintf("%s  %d ", booking.ConfirmationConsumer, pos))
	})
	if c := consumers(t, db)[booking.ConfirmationConsumer]; c.Parked != 1 {
		t.Errorf("consumer %+v, want one parked event", c)
	}
	var parked []cli.ParkedView
	if err := json.Unmarshal([]byte(ok(t, "--db", db, "parked", "ls", booking.ConfirmationConsumer, "--json")), &parked); err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Consumer != booking.ConfirmationConsumer || parked[0].Position != pos || parked[0].Stream != "booking:bad" || parked[0].Error == "" {
		t.Errorf("parked ls --json: %+v", parked)
	}
	if all := ok(t, "--db", db, "parked", "ls"); !strings.Contains(all, "CONSUMER") || !strings.Contains(all, "booking:bad") {
		t.Errorf("parked ls:\n%s", all)
	}
	fails(t, 1, fmt.Sprintf("retrying the event at position %d failed again; it stays parked", pos), "--db", db, "parked", "retry", booking.ConfirmationConsumer, fmt.Sprint(pos))

	// Skipping it moves it to the parked history, with its error and the reason.
	fails(t, 2, "--reason is required", "--db", db, "parked", "skip", booking.ConfirmationConsumer, fmt.Sprint(pos))
	if out := ok(t, "--db", db, "parked", "skip", booking.ConfirmationConsumer, fmt.Sprint(pos), "--reason", "not a booking"); !strings.Contains(out, fmt.Sprintf("skipped the event at position %d", pos)) {
		t.Errorf("parked skip: %q", out)
	}
	fails(t, 1, fmt.Sprintf("has no parked event at position %d", pos), "--db", db, "parked", "skip", booking.ConfirmationConsumer, fmt.Sprint(pos), "--reason", "again")
	var history []cli.ResolvedParkedView
	if err := json.Unmarshal([]byte(ok(t, "--db", db, "parked", "ls", booking.ConfirmationConsumer, "--history", "--json")), &history); err != nil {
		t.Fatal(err)
	}
	if len(history) != 1 || history[0].Position != pos || history[0].Outcome != "skipped" || history[0].Reason != "not a booking" || history[0].Error == "" {
		t.Errorf("parked ls --history --json: %+v", history)
	}
	if out := ok(t, "--db", db, "parked", "ls", "--history"); !strings.Contains(out, "OUTCOME") || !strings.Contains(out, "not a booking") {
		t.Errorf("parked ls --history:\n%s", out)
	}
	if c := consumers(t, db)[booking.ConfirmationConsumer]; c.Parked != 0 {
		t.Errorf("consumer %+v, want no parked event after the skip", c)
	}

	// Reset moves the checkpoint; the consumer goes on from there.
	head := cs[booking.ReleaseConsumer].Head
	if out := ok(t, "--db", db, "consumers", "reset", booking.ReleaseConsumer, "0"); !strings.Contains(out, "reset consumer "+booking.ReleaseConsumer+" from position") {
		t.Errorf("consumers reset: %q", out)
	}
	testwait.For(t, "the release consumer caught up again", func() bool {
		return consumers(t, db)[booking.ReleaseConsumer].Position >= head
	})

	// A query of a run.
	ok(t, "--db", db, "start", "onboarding", "q-1", `{"email":"ann@example.com"}`)
	testwait.For(t, "q-1 waiting", func() bool { return show(t, db, "q-1").Run.Status == "waiting" })
	if out := ok(t, "--db", db, "runs", "query", "q-1", "status"); strings.TrimSpace(out) != `"waiting for verification"` {
		t.Errorf("runs query: %q", out)
	}

	// Errors.
	fails(t, 1, `unknown entity type "nope"; known entity types: `+strings.Join(types, ", "), "--db", db, "entity", "show", "nope", "x")
	fails(t, 1, `unknown entity type "nope"`, "--db", db, "entity", "send", "nope", "x", `{}`)
	fails(t, 1, `booking "b-2" rejected the command`, "--db", db, "entity", "send", "booking", "b-2", `{"cancel":{"reason":"never placed"}}`)
	fails(t, 1, `invalid command for entity "booking"`, "--db", db, "entity", "send", "booking", "b-2", `"not a command"`)
	fails(t, 2, "is not valid JSON", "--db", db, "entity", "send", "booking", "b-2", `{place`)
	fails(t, 1, `no consumer "nope"`, "--db", db, "consumers", "reset", "nope", "0")
	fails(t, 1, `no consumer "nope"`, "--db", db, "parked", "ls", "nope")
	fails(t, 1, `no consumer "nope"`, "--db", db, "parked", "retry", "nope", "1")
	fails(t, 1, "is past the end of the log", "--db", db, "consumers", "reset", booking.ReleaseConsumer, "99999999")
	fails(t, 2, "POS must be a log position", "--db", db, "consumers", "reset", booking.ReleaseConsumer, "3x")
	fails(t, 2, "POS must be a log position", "--db", db, "parked", "retry", booking.ConfirmationConsumer, "x")
	fails(t, 1, "has no parked event at position 1", "--db", db, "parked", "retry", booking.ConfirmationConsumer, "1")
	fails(t, 1, `run "q-1" has no query "nope"`, "--db", db, "runs", "query", "q-1", "nope")
	fails(t, 1, `no run "nobody"`, "--db", db, "runs", "query", "nobody", "status")
	fails(t, 2, "--last must be above 0", "--db", db, "events", "tail", "--last", "0")

	d.stop(t)
}

// TestEventsTailFollow follows the log while a command is sent, then stops
// on SIGINT.
func TestEventsTailFollow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "weft.db")
	startDev(t, db).stop(t) // creates the store
	cmd := exec.Command(weftBin, "--db", db, "events", "tail", "--follow", "--poll", "20ms", "--type", booking.TypePlaced)
	cmd.Env = append(os.Environ(), "WEFT_DB=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for i := range 2 {
		ok(t, "--db", db, "entity", "send", "booking", fmt.Sprint("f-", i), `{"place":{"client":"bo","concert":"open-rehearsal","seats":["B1"]}}`)
	}
	var got []string
	deadline := time.After(15 * time.Second)
	for len(got) < 2 {
		select {
		case l, open := <-lines:
			if !open {
				t.Fatalf("events tail --follow exited; printed %q", got)
			}
			if strings.Contains(l, booking.TypePlaced) {
				got = append(got, l)
			}
		case <-deadline:
			t.Fatalf("events tail --follow printed %q in 15s, want both placements", got)
		}
	}
	if !strings.Contains(got[0], "booking:f-0") || !strings.Contains(got[1], "booking:f-1") {
		t.Errorf("followed %q", got)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("events tail --follow after SIGINT: %v, want exit 0", err)
	}
}
