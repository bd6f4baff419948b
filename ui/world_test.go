package ui_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// registerTotals registers the "totals" projection of the counters, with
// its view table declared.
func registerTotals(e *weft.Engine) {
	weft.RegisterProjection(e, weft.ProjectionDef{
		Name: "totals", StreamPrefix: "counter:", Tables: []string{"counter_totals"},
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS counter_totals (position BIGINT PRIMARY KEY)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counter_totals (position) VALUES (?)`, ev.Position)
			return err
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM counter_totals`)
			return err
		},
	})
}

// TestBrowserWorld drives the overview, entities, event log and consumers
// pages in headless Chromium against an engine with data, and the keyboard
// navigation; it takes the screenshots of docs/ui.md.
func TestBrowserWorld(t *testing.T) {
	ctx := browserTest(t, 3*time.Minute)
	var cure atomic.Bool
	// Lag samples every 100ms rather than every minute, so that the
	// consumers' charts have a few points by the time the page opens.
	eng, _ := startEngine(t, ctx, engineSetup{Config: weft.Config{LagSampleInterval: 100 * time.Millisecond}, Register: func(e *weft.Engine) {
		registerOnboarding(e, &cure)
		registerTotals(e)
		weft.RegisterWorkflow(e, "greet", func(_ context.Context, name string) (string, error) { return "hello " + name, nil })
		weft.RegisterWorkflow(e, "refuse", func(context.Context, string) (string, error) { return "", errors.New("refused") })
		weft.RegisterQueue(e, weft.QueueDef{Name: "payments", Concurrency: 3, PerWorker: 2})
	}})
	const token = "world-token"
	srvURL := serve(t, eng, api.Options{Token: token})

	// Data: onboarding runs waiting, counters with events, a parked event.
	for i := range 3 {
		id := fmt.Sprintf("user-%d", i)
		if _, _, err := eng.Untyped().Start(ctx, onboarding.Name, id, fmt.Appendf(nil, `{"email":"u%d@example.com"}`, i)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, eng, id, weftype.StatusWaiting)
	}
	for wf, ids := range map[string][]string{"greet": {"g-1", "g-2"}, "refuse": {"r-1"}} {
		for _, id := range ids {
			if _, _, err := eng.Untyped().Start(ctx, wf, id, []byte(`"ann"`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, ctx, eng, "g-1", weftype.StatusCompleted)
	waitFor(t, ctx, eng, "g-2", weftype.StatusCompleted)
	waitFor(t, ctx, eng, "r-1", weftype.StatusFailed)
	for i, id := range []string{"acme-1", "acme-2", "beta-1"} {
		for range i + 1 {
			if _, _, err := eng.Untyped().SendCommand(ctx, "counter", id, []byte(`{"add":2}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	pos := parkPoison(t, ctx, eng)

	b := newBrowser(t, ctx, windowHeight(900))
	b.do("giving the token on the overview", append(b.login(srvURL+"/#/overview", token),
		chromedp.WaitVisible(chromedp.CSS(`#ov-chart g[data-bucket] rect`)),
		chromedp.WaitVisible(chromedp.CSS(`#ov-workers tr[data-worker]`)))...)
	b.shot("overview")
	if got := b.text(`#ov-started`) + "/" + b.text(`#ov-completed`) + "/" + b.text(`#ov-failed`); got != "6/2/1" {
		t.Errorf("overview: started/completed/failed %s, want 6/2/1", got)
	}
	if got := b.text(`#ov-oldest`); !strings.Contains(got, "user-0") {
		t.Errorf("overview: oldest waiting %q, want user-0", got)
	}
	if got := b.text(`#ov-workers`); !strings.Contains(got, eng.BuildID()) {
		t.Errorf("overview: workers %q, want this engine's build %q", got, eng.BuildID())
	}
	if got := b.text(`#ov-consumers`); !strings.Contains(got, "audit") || !strings.Contains(got, "totals") {
		t.Errorf("overview: consumers %q", got)
	}

	// Keyboard: g e goes to the entities; j selects the first type, Enter
	// opens it; the ID prefix search is done by the server.
	b.do("keyboard to the entity types",
		chromedp.KeyEvent("g"), chromedp.KeyEvent("e"),
		chromedp.WaitVisible(chromedp.CSS(`#entity-types li[data-type="counter"]`)))
	b.do("the counter type by keyboard",
		chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#entities-body tr[data-entity="beta-1"]`)))
	b.do("searching by ID prefix",
		chromedp.SendKeys(chromedp.CSS(`#entity-prefix`), "acme"),
		chromedp.Click(chromedp.CSS(`#entity-search button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#entities-body tr[data-entity="beta-1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#entities-body tr[data-entity="acme-2"]`)))
	b.shot("entities")
	if got := b.text(`#entities-body`); !strings.Contains(got, "acme-1") || !strings.Contains(got, "acme-2") {
		t.Errorf("entities matching acme: %q", got)
	}

	// One entity: state, events with versions, a typed command.
	b.do("sending a typed command",
		chromedp.Navigate(srvURL+"/#/entities/counter/acme-2"),
		chromedp.WaitVisible(chromedp.CSS(`#cmd-add`)),
		chromedp.SendKeys(chromedp.CSS(`#cmd-add`), "3"),
		chromedp.Click(chromedp.CSS(`#command-send`)),
		chromedp.WaitVisible(chromedp.CSS(`#entity-events tbody tr:nth-child(3)`)))
	b.shot("entity")
	if state, version := b.text(`#entity-state`), b.text(`#entity-version`); !strings.Contains(state, `"count": 7`) || version != "3" {
		t.Errorf("entity after the typed command: state %q at version %q, want count 7 at version 3", state, version)
	}

	// The event log: filtered by stream, then a live tail that shows an
	// event appended after the page opened.
	b.do("the event log of one stream with a live tail",
		chromedp.Navigate(srvURL+"/#/events?stream=counter:acme-2&tail=1"),
		chromedp.WaitVisible(chromedp.CSS(`#events-body tr[data-position]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ev-status`)))
	if got := b.count(`#events-body tr[data-position]`); got != 3 {
		t.Errorf("event log of counter:acme-2: %d events, want 3", got)
	}
	res, err := eng.Append(ctx, "counter:acme-2", weftype.AnyVersion, weft.NewEvent{Type: "Tailed", Data: map[string]int{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	b.do("the tailed event", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#events-body tr[data-position="%d"]`, res.Positions[0]))))
	b.shot("events")
	if got := b.text(`#events-body`); strings.Contains(got, "acme-1") {
		t.Errorf("event log of counter:acme-2 shows another stream: %q", got)
	}
	// A stream that is no registered entity's (the application appended
	// "dose:1") is not linked as one; an entity's stream is.
	b.do("the event log of every stream",
		chromedp.Navigate(srvURL+"/#/events"),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#events-body tr[data-position="%d"]`, pos))))
	if got := b.eval(fmt.Sprintf(`document.querySelectorAll('#events-body tr[data-position="%d"] a').length + ' ' + document.querySelector('#events-body tr[data-position="%d"]').textContent`, pos, pos)); !strings.HasPrefix(got, "0 ") || !strings.Contains(got, "dose:1") {
		t.Errorf("the dose:1 event's row: %q, want its stream as text, not a link", got)
	}
	if got := b.eval(`document.querySelector('#events-body a[href="#/entities/counter/acme-2"]') !== null`); got != "true" {
		t.Error("the counter:acme-2 stream is not linked to its entity")
	}

	// Consumers: lag chart, row counts, the parked event's payload; skip
	// it and rebuild the projection through the confirmation dialogs.
	parked := fmt.Sprintf(`#parked-body tr[data-parked="audit@%d"]`, pos)
	b.do("the consumers page",
		chromedp.Navigate(srvURL+"/#/consumers"),
		chromedp.WaitVisible(chromedp.CSS(`#consumers-body tr[data-consumer="totals"] [data-table="counter_totals"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#lag-totals polyline`)),
		// The chart draws the samples the worker stored: several by now.
		chromedp.Poll[chromedp.Void](`(document.querySelector('#lag-totals polyline')?.getAttribute('points') || '').split(' ').length >= 3`),
		chromedp.WaitVisible(chromedp.CSS(parked+` button.skip`)))
	b.do("opening the payload", chromedp.Click(chromedp.CSS(parked+` summary`)), chromedp.WaitVisible(chromedp.CSS(parked+` pre.payload`)))
	b.shot("consumers")
	if got := b.text(`#consumers-body tr[data-consumer="totals"] .tables`); !strings.Contains(got, "counter_totals: 8 rows") {
		t.Errorf("totals' rows %q, want 8 (the counters' events)", got)
	}
	if got := b.text(parked); !strings.Contains(got, "poisoned") {
		t.Errorf("parked row %q, want its error", got)
	}
	b.do("skipping the parked event",
		chromedp.Click(chromedp.CSS(parked+` button.skip`)),
		chromedp.WaitVisible(chromedp.CSS(`#ask-input`)),
		chromedp.SendKeys(chromedp.CSS(`#ask-input`), "poison, not ours"),
		chromedp.Click(chromedp.CSS(`#ask-ok`)),
		chromedp.WaitNotPresent(chromedp.CSS(parked)))
	if hs, err := eng.ParkedHistory(ctx, "audit"); err != nil || len(hs) != 1 || hs[0].Reason != "poison, not ours" {
		t.Errorf("parked history after the UI's skip: %+v, %v", hs, err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.getElementById('message').classList.remove('ok') || true`)); err != nil {
		t.Fatal(err)
	}
	b.do("rebuilding the projection",
		chromedp.Click(chromedp.CSS(`#consumers-body tr[data-consumer="totals"] button.rebuild`)),
		chromedp.WaitVisible(chromedp.CSS(`#ask-ok`)),
		chromedp.Click(chromedp.CSS(`#ask-ok`)),
		chromedp.WaitVisible(chromedp.CSS(`#message.ok`)))
	if got := b.text(`#message`); !strings.Contains(got, "Rebuild totals: done") {
		t.Errorf("message after the rebuild %q", got)
	}

	// Queues: each registered queue with its limits.
	b.do("the queues page",
		chromedp.Navigate(srvURL+"/#/queues"),
		chromedp.WaitVisible(chromedp.CSS(`#queues-body tr[data-queue="payments"]`)))
	b.shot("queues")
	if got := b.text(`#queues-body tr[data-queue="payments"]`); !strings.Contains(got, "payments") || !strings.Contains(got, "3") || !strings.Contains(got, "2") {
		t.Errorf("queues row %q, want payments with its limits 3 and 2", got)
	}
	if got := b.text(`table.queues thead`); !strings.Contains(got, "Runs queued") || !strings.Contains(got, "Steps running") {
		t.Errorf("queues header %q, want runs and steps apart", got)
	}
	if got := b.text(`#queues-body tr[data-queue="payments"] td.steps-running`); got != "0" {
		t.Errorf("queues row's steps running %q, want 0", got)
	}

	// Dark mode follows the system's setting.
	b.do("the overview in dark mode",
		darkMode(),
		chromedp.Navigate(srvURL+"/#/overview"),
		chromedp.WaitVisible(chromedp.CSS(`#ov-chart g[data-bucket] rect`)))
	bg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if err != nil {
		t.Fatal(err)
	}
	b.shot("overview-dark")
	if bg != "rgb(18, 21, 27)" {
		t.Errorf("body background in dark mode %s, want the dark --bg rgb(18, 21, 27)", bg)
	}

	// ? shows the keyboard help.
	b.do("the keyboard help", chromedp.KeyEvent("?"), chromedp.WaitVisible(chromedp.CSS(`#kb-help`)))
	b.shot("keyboard")
	if got := b.text(`#kb-help`); !strings.Contains(got, "g l") || !strings.Contains(got, "Event log") {
		t.Errorf("keyboard help %q", got)
	}
}
