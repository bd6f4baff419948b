package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/examples/onboarding"

	"github.com/weftrun/weft/store"
)

func TestSignalWithWronglyShapedPayload(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	a.env.Start(onboarding.Name, "o1", onboarding.Input{Email: "a@b.c"})
	a.settle("o1", isWaiting)
	before := a.env.Run("o1")

	// The onboarding workflow declares "verified" with a Verification,
	// whose secret is a string.
	r := a.do("POST", "/api/runs/o1/signals", map[string]any{"name": onboarding.SignalVerified, "payload": map[string]any{"secret": 42}}, auth...)
	a.mustStatus(r, http.StatusBadRequest)
	p := r.problem(t)
	if p.Type != api.ProblemInvalidInput || p.Field != "payload" || p.RunID != "o1" ||
		!strings.Contains(p.Detail, "onboarding.Verification") || !strings.Contains(p.Detail, "cannot unmarshal number") {
		t.Fatalf("problem %+v, want invalid-input on the payload with the decoding error", p)
	}
	sigs, err := a.env.Store.PendingSignals(context.Background(), &store.PendingSignalsParams{RunID: "o1"})
	if err != nil || len(sigs) != 0 {
		t.Fatalf("pending signals %v, %v; want none stored", sigs, err)
	}
	if after := a.env.Run("o1"); after.Version != before.Version || after.Status != before.Status {
		t.Fatalf("run changed: before %+v, after %+v", before, after)
	}
	// An undeclared signal takes any payload, as before.
	a.mustStatus(a.do("POST", "/api/runs/o1/signals", map[string]any{"name": "other", "payload": []int{1}}, auth...), http.StatusAccepted)
}

func TestWorkflowsListDeclarations(t *testing.T) {
	a := newTestAPI(t, api.Options{})
	var wf api.WorkflowList
	r := a.do("GET", "/api/workflows", nil)
	a.mustStatus(r, http.StatusOK)
	r.decode(t, &wf)
	if len(wf.Definitions) != 2 || wf.Definitions[1].Name != onboarding.Name {
		t.Fatalf("definitions %+v, want echo and onboarding", wf.Definitions)
	}
	on := wf.Definitions[1]
	if len(on.Signals) != 1 || on.Signals[0].Name != onboarding.SignalVerified || on.Signals[0].Type.Kind != "object" ||
		len(on.Signals[0].Type.Fields) != 1 || on.Signals[0].Type.Fields[0].Name != "secret" || on.Signals[0].Type.Fields[0].Type.Kind != "string" {
		t.Errorf("onboarding signals %+v, want verified {secret: string}", on.Signals)
	}
	if len(on.Queries) != 1 || on.Queries[0].Name != "status" || on.Queries[0].Type.Go != "string" {
		t.Errorf("onboarding queries %+v, want status: string", on.Queries)
	}
	if echo := wf.Definitions[0]; echo.Signals == nil || len(echo.Signals)+len(echo.Queries) != 0 {
		t.Errorf("echo %+v, want empty (not null) lists", echo)
	}
}
