package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weftrun/weft"
)

// Approval is the payload of the signal "approved".
type Approval struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// DeclareSignal gives a signal its type when the workflow is registered: a
// payload of another shape is refused when it is sent, and the run is
// untouched.
func ExampleDeclareSignal() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	approve := weft.RegisterWorkflow(eng, "approve", func(ctx context.Context, _ struct{}) (string, error) {
		a, err := weft.Await[Approval](ctx, "approved", 0)
		return "approved by " + a.By, err
	}, weft.DeclareSignal[Approval]("approved"))
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	run, _ := approve.Start(ctx, "a-1", struct{}{})
	err := eng.Untyped().Signal(ctx, "a-1", "approved", []byte(`{"by": 42}`))
	var ie *weft.InputError
	fmt.Println("refused:", errors.As(err, &ie))
	fmt.Println(err)

	_ = eng.Signal(ctx, "a-1", "approved", Approval{By: "ann"})
	fmt.Println(run.Result(ctx))

	// The declarations are listed with the JSON shape of their types and
	// its JSON Schema, which a form is built from.
	signals, _ := json.Marshal(eng.DescribeWorkflows()[0].Signals)
	fmt.Println(string(signals))
	fmt.Println(string(eng.DescribeWorkflows()[0].Signals[0].Schema))
	// Output:
	// refused: true
	// weft: invalid payload of signal "approved", which workflow "approve" declares as weft_test.Approval: json: cannot unmarshal number into Go struct field Approval.by of type string
	// approved by ann <nil>
	// [{"name":"approved","type":{"go":"weft_test.Approval","kind":"object","fields":[{"name":"by","type":{"go":"string","kind":"string"}},{"name":"note","type":{"go":"string","kind":"string"},"optional":true}]},"schema":{"type":"object","properties":{"by":{"type":"string","x-go-type":"string"},"note":{"type":"string","x-go-type":"string"}},"required":["by"],"x-go-type":"weft_test.Approval"}}]
	// {"type":"object","properties":{"by":{"type":"string","x-go-type":"string"},"note":{"type":"string","x-go-type":"string"}},"required":["by"],"x-go-type":"weft_test.Approval"}
}
