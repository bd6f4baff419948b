package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// downStore is a store whose signals find the database unavailable.
type downStore struct{ store.Store }

func (downStore) SendSignal(context.Context, *store.SendSignalParams) (*store.SendSignalResult, error) {
	return nil, &weftype.StoreUnavailableError{Err: errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")}
}

// TestStoreUnavailableIs503 checks that a store outage is answered 503
// store-unavailable with a Retry-After header, not a 500.
func TestStoreUnavailableIs503(t *testing.T) {
	a := newTestAPI(t, api.Options{Token: testToken})
	eng, err := weft.New(weft.Config{Store: downStore{a.env.Store}, StoreRetryTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(validated(t, api.New(eng, api.Options{Token: testToken})))
	t.Cleanup(srv.Close)
	b := &testAPI{t: t, env: a.env, srv: srv}
	r := b.do("POST", "/api/runs/any/signals", `{"name":"go","payload":1}`, auth...)
	b.mustStatus(r, http.StatusServiceUnavailable)
	if p := r.problem(t); p.Type != api.ProblemStoreUnavailable {
		t.Errorf("problem %+v", p)
	}
	if got := r.header.Get("Retry-After"); got != api.RetryAfterSeconds {
		t.Errorf("Retry-After = %q, want %q", got, api.RetryAfterSeconds)
	}
}
