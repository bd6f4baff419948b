package weft_test

import (
	"context"
	"fmt"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// CountRuns counts per status what ListRuns would list: here the runs
// whose input mentions "ann", leaving out those whose ID starts with
// "nightly@" (a schedule's runs, counted apart).
func ExampleEngine_CountRuns() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	greet := weft.RegisterWorkflow(eng, "greet", func(_ context.Context, name string) (string, error) {
		return "hello " + name, nil
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)
	for id, name := range map[string]string{"g-1": "ann", "g-2": "bob", "nightly@1": "ann"} {
		run, _ := greet.Start(ctx, id, name)
		_, _ = run.Result(ctx)
	}

	counts, err := eng.CountRuns(ctx, weft.RunFilter{InputContains: "ann", ExcludeIDPrefixes: []string{"nightly@"}})
	fmt.Println(counts[weftype.StatusCompleted], len(counts), err)
	// Output:
	// 1 1 <nil>
}
