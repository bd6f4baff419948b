package weft_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// TestLagHistorySampled checks, on SQLite and PostgreSQL, that the worker
// running a consumer stores a sample of its lag when it takes the consumer
// and then each LagSampleInterval by the engine's clock, that samples
// older than LagRetention go, and that an engine with sampling off stores
// none.
func TestLagHistorySampled(t *testing.T) {
	for name, open := range outboxStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open()
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := wefttest.NewClock(t0)
			eng, err := weft.New(weft.Config{Store: st, Clock: clock, PollInterval: 10 * time.Millisecond,
				LagSampleInterval: time.Minute, LagRetention: 3 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			weft.RegisterConsumer(eng, weft.ConsumerDef{Name: "mail", Types: []string{"Sent"}, Handle: func(ctx context.Context, _ weftype.Event) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}})
			// Two events wait before the consumer starts: its first
			// sample sees it behind.
			if _, err := eng.Append(ctx, "mail:1", 0, weft.NewEvent{Type: "Sent"}, weft.NewEvent{Type: "Sent"}); err != nil {
				t.Fatal(err)
			}
			if err := eng.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer eng.Stop(ctx)
			history := func() []weft.LagSample {
				t.Helper()
				h, err := eng.LagHistory(ctx, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				return h["mail"]
			}
			testwait.Until(t, testwait.Timeout, func() (bool, string) {
				h := history()
				return len(h) == 1 && h[0].At.Equal(t0) && h[0].Head == 2 && h[0].Lag == 2, fmt.Sprintf("samples %+v, want one at the start, 2 behind", h)
			})
			close(release)
			testwait.Until(t, testwait.Timeout, func() (bool, string) {
				cs, err := eng.Consumers(ctx)
				return err == nil && len(cs) == 1 && cs[0].Lag == 0, fmt.Sprintf("consumers %+v, %v", cs, err)
			})
			clock.Advance(time.Minute)
			testwait.Until(t, testwait.Timeout, func() (bool, string) {
				h := history()
				return len(h) == 2 && h[1].At.Equal(t0.Add(time.Minute)) && h[1].Lag == 0 && h[1].Position == 2,
					fmt.Sprintf("samples %+v, want a second one a minute later, caught up", h)
			})
			// Five minutes on: the new sample drops those before 3m ago.
			clock.Advance(5 * time.Minute)
			testwait.Until(t, testwait.Timeout, func() (bool, string) {
				h := history()
				return len(h) == 1 && h[0].At.Equal(t0.Add(6*time.Minute)), fmt.Sprintf("samples %+v, want only the newest", h)
			})

			// Sampling off: the next engine on the store (SQLite has one
			// executing engine at a time), with a consumer of its own,
			// stores no sample of it.
			if err := eng.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			off, err := weft.New(weft.Config{Store: st, Clock: clock, PollInterval: 10 * time.Millisecond, LagSampleInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			weft.RegisterConsumer(off, weft.ConsumerDef{Name: "quiet", Handle: func(context.Context, weftype.Event) error { return nil }})
			if err := off.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer off.Stop(ctx)
			testwait.Until(t, testwait.Timeout, func() (bool, string) {
				cs, err := off.Consumers(ctx)
				for _, c := range cs {
					if c.Name == "quiet" {
						// Handled: the claim loop samples before it runs partitions.
						return c.Position == c.Head && c.Head > 0, fmt.Sprintf("quiet %+v", c)
					}
				}
				return false, fmt.Sprintf("consumers %+v, %v", cs, err)
			})
			if h, err := off.LagHistory(ctx, time.Time{}); err != nil || len(h["quiet"]) != 0 {
				t.Errorf("an engine with LagSampleInterval -1 sampled %+v (%v)", h["quiet"], err)
			}
		})
	}
}
