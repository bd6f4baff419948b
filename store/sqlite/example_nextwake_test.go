package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// A scheduler claims the runs due (none yet) and learns when to look again in one
// write (store.NextWakeClaimer), instead of a NextWakeAt read after it.
func ExampleStore_ClaimRunsNextWake() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "weft-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "weft.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for id, wake := range map[string]time.Time{"later": t0.Add(time.Hour)} {
		_, _ = st.CreateRun(ctx, &store.CreateRunParams{ID: id, Workflow: "w", Time: t0, WakeAt: wake,
			Events: []weftype.NewEvent{{Type: "Started", Data: []byte(`{}`)}}})
	}
	var nc store.NextWakeClaimer = st
	runs, next, known, err := nc.ClaimRunsNextWake(ctx, &store.ClaimRunsParams{Owner: "worker-1", Now: t0, LeaseFor: time.Minute, Limit: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(runs), known, next.Sub(t0))
	// Output: 0 true 1h0m0s
}
