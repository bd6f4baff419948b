package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

type verification struct {
	Secret string `json:"secret"`
}

// registerVerify registers "verify", which declares the signal "verified"
// and the query "state", and returns the secret it was sent.
func registerVerify(e *weft.Engine) {
	weft.RegisterWorkflow(e, "verify", func(ctx context.Context, _ struct{}) (string, error) {
		weft.SetQuery(ctx, "state", func() (any, error) { return "waiting", nil })
		v, err := weft.Await[verification](ctx, "verified", 0)
		return v.Secret, err
	}, weft.DeclareSignal[verification]("verified"), weft.DeclareQuery[string]("state"))
}

func TestDeclaredSignalRefusesWrongPayload(t *testing.T) {
	env := wefttest.NewEnv(t, registerVerify)
	env.Start("verify", "v1", struct{}{})
	env.Settle()
	before := len(env.Journal("v1"))
	for _, send := range []struct {
		what string
		send func() error
	}{
		{"Untyped.Signal", func() error { return env.Engine.Untyped().Signal(ctx, "v1", "verified", []byte(`{"secret": 42}`)) }},
		{"Signal", func() error { return env.Engine.Signal(ctx, "v1", "verified", []string{"not", "a", "verification"}) }},
	} {
		err := send.send()
		var ie *weft.InputError
		if !errors.As(err, &ie) || !errors.Is(err, weft.ErrInvalidInput) || !strings.Contains(err.Error(), `signal "verified"`) {
			t.Fatalf("%s with a wrongly shaped payload = %v, want an *InputError naming the signal", send.what, err)
		}
	}
	if sigs, err := env.Store.PendingSignals(ctx, &store.PendingSignalsParams{RunID: "v1"}); err != nil || len(sigs) != 0 {
		t.Fatalf("pending signals %v, %v; want none stored", sigs, err)
	}
	env.Settle()
	if r := env.Run("v1"); r.Status != weftype.StatusWaiting || len(env.Journal("v1")) != before {
		t.Fatalf("run %s with %d journal entries, want waiting and untouched (%d)", r.Status, len(env.Journal("v1")), before)
	}
	// A run that does not exist is reported as such, whatever the payload.
	if err := env.Engine.Untyped().Signal(ctx, "nope", "verified", []byte(`1`)); !errors.Is(err, weftype.ErrRunNotFound) {
		t.Fatalf("signal to a missing run = %v, want ErrRunNotFound", err)
	}
	// Undeclared signals take any payload, as before.
	if err := env.Engine.Untyped().Signal(ctx, "v1", "other", []byte(`[1, 2]`)); err != nil {
		t.Fatalf("undeclared signal: %v", err)
	}
	if err := env.Engine.Signal(ctx, "v1", "verified", verification{Secret: "s3"}); err != nil {
		t.Fatalf("well-formed signal: %v", err)
	}
	if r := env.RunToEnd("v1"); r.Status != weftype.StatusCompleted || string(r.Result) != `"s3"` {
		t.Fatalf("run %s %s, want completed with the secret", r.Status, r.Result)
	}
}

func TestDeclaredSignalOfAnotherWorkflow(t *testing.T) {
	// "verified" is declared by "verify" only: a run of "loose" takes any
	// payload for it.
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		registerVerify(e)
		weft.RegisterWorkflow(e, "loose", func(ctx context.Context, _ struct{}) (int, error) {
			return weft.Await[int](ctx, "verified", 0)
		})
	})
	env.Start("loose", "l1", struct{}{})
	if err := env.Engine.Signal(ctx, "l1", "verified", 7); err != nil {
		t.Fatalf("signal to a workflow that does not declare it: %v", err)
	}
	if r := env.RunToEnd("l1"); r.Status != weftype.StatusCompleted || string(r.Result) != "7" {
		t.Fatalf("run %s %s, want completed with 7", r.Status, r.Result)
	}
}

func TestAwaitOfDeclaredSignalWithAnotherType(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "mistyped", func(ctx context.Context, _ struct{}) (string, error) {
			return weft.Await[string](ctx, "verified", time.Hour)
		}, weft.DeclareSignal[verification]("verified"))
	})
	env.Start("mistyped", "m1", struct{}{})
	r := env.RunToEnd("m1")
	var pe *weft.PanicError
	if r.Status != weftype.StatusFailed || !errors.As(env.Engine.RunError(r), &pe) ||
		!strings.Contains(pe.Value, `Await[string] of signal "verified"`) || !strings.Contains(pe.Value, "weft_test.verification") {
		t.Fatalf("run %s %v, want failed by a panic that names both types", r.Status, env.Engine.RunError(r))
	}
}

func TestDeclaredQueryChecksResultType(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		weft.RegisterWorkflow(e, "counting", func(ctx context.Context, _ struct{}) (int, error) {
			weft.SetQuery(ctx, "count", func() (any, error) { return 3, nil })
			weft.SetQuery(ctx, "label", func() (any, error) { return 3, nil })
			return weft.Await[int](ctx, "done", 0)
		}, weft.DeclareQuery[int]("count"), weft.DeclareQuery[string]("label"))
	})
	env.Start("counting", "c1", struct{}{})
	env.Settle()
	if n, err := weft.Query[int](ctx, env.Engine, "c1", "count"); err != nil || n != 3 {
		t.Fatalf("count = %d, %v; want 3", n, err)
	}
	if _, err := env.Engine.Untyped().Query(ctx, "c1", "label"); err == nil || !strings.Contains(err.Error(), "declares it as string") {
		t.Fatalf("label = %v, want an error: the handler returns an int", err)
	}
}

func TestRegisterPanicsOnBadDeclaration(t *testing.T) {
	env := wefttest.NewEnv(t, nil)
	for what, opts := range map[string][]weft.WorkflowOption{
		"empty signal name": {weft.DeclareSignal[int]("")},
		"signal twice":      {weft.DeclareSignal[int]("s"), weft.DeclareSignal[string]("s")},
		"query twice":       {weft.DeclareQuery[int]("q"), weft.DeclareQuery[int]("q")},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", what)
				}
			}()
			weft.RegisterWorkflow(env.Engine, "bad "+what, func(context.Context, struct{}) (int, error) { return 0, nil }, opts...)
		}()
	}
}

type node struct {
	Label    string  `json:"label"`
	Children []*node `json:"children,omitempty"`
}

type audit struct {
	By string `json:"by"`
}

type order struct {
	audit
	ID       int             `json:"id,string"`
	At       time.Time       `json:"at"`
	Note     *string         `json:"note,omitempty"`
	Tags     map[string]bool `json:"tags"`
	Raw      []byte          `json:"raw"`
	Extra    json.RawMessage `json:"extra"`
	Tree     node            `json:"tree"`
	Any      any             `json:"any"`
	Skipped  string          `json:"-"`
	Untagged float64
	hidden   int
}

func TestDescribeWorkflows(t *testing.T) {
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		registerVerify(e)
		weft.RegisterWorkflow(e, "orders", func(ctx context.Context, _ struct{}) (int, error) { return 0, nil },
			weft.DeclareSignal[order]("placed"), weft.DeclareSignal[[]int]("ids"))
	})
	_ = order{}.hidden
	defs := env.Engine.DescribeWorkflows()
	// The schemas are internal/jsonschema's, pinned there; here each
	// declaration has one, and the TypeInfos are pinned below.
	verified := string(defs[1].Signals[0].Schema)
	if want := `{"type":"object","properties":{"secret":{"type":"string","x-go-type":"string"}},"required":["secret"],"x-go-type":"weft_test.verification"}`; verified != want {
		t.Errorf("schema of verified = %s, want %s", verified, want)
	}
	if in, res := defs[0].Input, defs[0].Result; in.Name != "input" || in.Type.Go != "struct {}" || res.Name != "result" || string(res.Schema) != `{"type":"integer","x-go-type":"int"}` {
		t.Errorf("orders' input %+v and result %+v", in, res)
	}
	for i := range defs {
		for _, ds := range [][]weft.Declaration{defs[i].Signals, defs[i].Queries} {
			for j := range ds {
				if len(ds[j].Schema) == 0 {
					t.Errorf("%s: %s without a schema", defs[i].Name, ds[j].Name)
				}
				ds[j].Schema = nil
			}
		}
		defs[i].Input, defs[i].Result = weft.Declaration{}, weft.Declaration{}
	}
	got, err := json.Marshal(defs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[` +
		`{"name":"orders","signals":[` +
		`{"name":"ids","type":{"go":"[]int","kind":"array","nullable":true,"elem":{"go":"int","kind":"integer"}},"schema":null},` +
		`{"name":"placed","type":{"go":"weft_test.order","kind":"object","fields":[` +
		`{"name":"by","type":{"go":"string","kind":"string"}},` +
		`{"name":"id","type":{"go":"int","kind":"string"}},` +
		`{"name":"at","type":{"go":"time.Time","kind":"string","format":"date-time"}},` +
		`{"name":"note","type":{"go":"*string","kind":"string","nullable":true},"optional":true},` +
		`{"name":"tags","type":{"go":"map[string]bool","kind":"object","nullable":true,"elem":{"go":"bool","kind":"boolean"}}},` +
		`{"name":"raw","type":{"go":"[]uint8","kind":"string","format":"base64","nullable":true}},` +
		`{"name":"extra","type":{"go":"json.RawMessage","kind":"any"}},` +
		`{"name":"tree","type":{"go":"weft_test.node","kind":"object","fields":[` +
		`{"name":"label","type":{"go":"string","kind":"string"}},` +
		`{"name":"children","type":{"go":"[]*weft_test.node","kind":"array","nullable":true,"elem":{"go":"*weft_test.node","kind":"object","nullable":true}},"optional":true}]}},` +
		`{"name":"any","type":{"go":"interface {}","kind":"any","nullable":true}},` +
		`{"name":"Untagged","type":{"go":"float64","kind":"number"}}]},"schema":null}],` +
		`"queries":[],"updates":[],"input":{"name":"","type":{"go":"","kind":""},"schema":null},"result":{"name":"","type":{"go":"","kind":""},"schema":null}},` +
		`{"name":"verify","signals":[{"name":"verified","type":{"go":"weft_test.verification","kind":"object","fields":[{"name":"secret","type":{"go":"string","kind":"string"}}]},"schema":null}],` +
		`"queries":[{"name":"state","type":{"go":"string","kind":"string"},"schema":null}],"updates":[],"input":{"name":"","type":{"go":"","kind":""},"schema":null},"result":{"name":"","type":{"go":"","kind":""},"schema":null}}]`
	if string(got) != want {
		t.Fatalf("DescribeWorkflows =\n%s\nwant\n%s", got, want)
	}
}
