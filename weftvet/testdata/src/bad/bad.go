// Package bad holds workflows that break replay in every way the analyzer
// knows.
package bad

import (
	"context"
	"database/sql"
	"math/rand"
	randv2 "math/rand/v2"
	"os"
	"time"

	"github.com/weftrun/weft"
)

var counter int

var cache = map[string]int{}

type state struct{ n int }

var global state

func Setup(e *weft.Engine) {
	weft.RegisterWorkflow(e, "literal", func(ctx context.Context, in string) (string, error) {
		if time.Now().Hour() > 12 { // want `time.Now reads or waits on the wall clock.*use weft.Now\(ctx\)`
			time.Sleep(time.Second) // want `time.Sleep reads or waits`
		}
		<-time.After(time.Minute)          // want `time.After reads or waits` `channel receive`
		for range time.Tick(time.Second) { // want `time.Tick reads` `range over a channel`
			break
		}
		n := rand.Intn(10)   // want `math/rand.Intn: random numbers differ on replay`
		n += randv2.IntN(10) // want `math/rand/v2.IntN: random numbers differ`
		m := map[string]int{"a": 1, "b": 2}
		for k := range m { // want `range over a map`
			in += k
		}
		ch := make(chan int, 1)
		go func() { ch <- n }() // want `go statement` `channel send`
		select {                // want `select: its choice depends on timing`
		case v := <-ch:
			counter = v // want `write to package-level variable counter`
		default:
		}
		counter++         // want `write to package-level variable counter`
		cache["x"] = n    // want `write to package-level variable cache`
		global.n = 1      // want `write to package-level variable global`
		os.Getenv("HOME") // want `os.Getenv does I/O outside a step`
		var db *sql.DB
		db.Exec("DELETE FROM t") // want `\(\*database/sql.DB\).Exec does I/O outside a step`
		return helper(ctx, in), nil
	})
	weft.RegisterWorkflow(e, "named", named)
	weft.RegisterWorkflow(e, "factory", factory(3))
	weft.RegisterWorkflow(e, "method", (&flows{}).run)
}

// helper is reached from a workflow, so it is checked too.
func helper(ctx context.Context, s string) string {
	_ = time.Since(time.Time{}) // want `time.Since reads or waits.*\(in helper, called from workflow registered at bad/bad.go:25\)`
	return deeper(s)
}

func deeper(s string) string {
	os.WriteFile("f", []byte(s), 0o600) // want `os.WriteFile does I/O outside a step; do it inside weft.Step \(in deeper, called from helper, called from workflow`
	return s
}

func named(ctx context.Context, in int) (int, error) {
	return in + rand.Int(), nil // want `math/rand.Int: random numbers`
}

func factory(n int) func(context.Context, int) (int, error) {
	return func(ctx context.Context, in int) (int, error) {
		time.Sleep(time.Duration(n)) // want `time.Sleep reads`
		return in, nil
	}
}

type flows struct{}

func (f *flows) run(ctx context.Context, in int) (int, error) {
	counter = in // want `write to package-level variable counter`
	return in, nil
}

func exempt(ctx context.Context) {
	//weft:nondeterministic-ok // want `needs a reason`
	_ = time.Now()
}
