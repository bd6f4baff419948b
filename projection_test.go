package weft_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// balancesProjection keeps a balance per account in a view table. It fails
// on the event at position 3, after writing, while *failures > 0.
func balancesProjection(eng *atomic.Pointer[weft.Engine], failures *atomic.Int64) weft.ProjectionDef {
	return weft.ProjectionDef{
		Name: "balances", Types: []string{"Deposited", "Withdrawn"},
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS balances (id TEXT PRIMARY KEY, balance INTEGER NOT NULL, events INTEGER NOT NULL)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			var amount int
			switch ev.Type {
			case "Deposited":
				d, err := weft.Decode[Deposited](eng.Load(), ev)
				if err != nil {
					return err
				}
				amount = d.Amount
			case "Withdrawn":
				w, err := weft.Decode[Withdrawn](eng.Load(), ev)
				if err != nil {
					return err
				}
				amount = -w.Amount
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO balances (id, balance, events) VALUES (?, ?, 1)
				ON CONFLICT (id) DO UPDATE SET balance = balances.balance + excluded.balance, events = balances.events + 1`, ev.Stream, amount); err != nil {
				return err
			}
			if failures != nil && ev.Position == 3 && failures.Add(-1) >= 0 {
				return errors.New("projection failed after writing")
			}
			return nil
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM balances`)
			return err
		},
	}
}

func readBalance(t *testing.T, eng *weft.Engine, id string) (balance, events int) {
	t.Helper()
	err := eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT balance, events FROM balances WHERE id = ?`, id).Scan(&balance, &events)
	})
	if err != nil {
		t.Fatal(err)
	}
	return balance, events
}

func TestProjectionExactlyOnceWithAFailingHandler(t *testing.T) {
	t.Parallel()
	var eng atomic.Pointer[weft.Engine]
	var failures atomic.Int64
	failures.Store(2)
	var acct *weft.Entity[account, acctCmd, acctEvent]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		eng.Store(e)
		acct = weft.RegisterEntity(e, accountDef(0))
		weft.RegisterProjection(e, balancesProjection(&eng, &failures))
	})
	for _, c := range []acctCmd{{Op: "deposit", Amount: 10}, {Op: "deposit", Amount: 5}, {Op: "withdraw", Amount: 3}} {
		if _, err := acct.Send(ctx, "p", c); err != nil {
			t.Fatal(err)
		}
	}
	env.Settle()
	// Event 3 failed after writing: its row change and checkpoint rolled back.
	if b, n := readBalance(t, env.Engine, "acct:p"); b != 10 || n != 1 {
		t.Fatalf("while retrying: balance %d from %d events, want 10 from 1", b, n)
	}
	if st := consumerStatus(t, env.Engine, "balances"); st.Position != 2 || st.Kind != "projection" {
		t.Fatalf("status while retrying = %+v", st)
	}
	env.Advance(time.Second)
	if b, n := readBalance(t, env.Engine, "acct:p"); b != 12 || n != 3 {
		t.Fatalf("balance %d from %d events, want 12 from 3", b, n)
	}
	if st := consumerStatus(t, env.Engine, "balances"); st.Position != 4 || st.Lag != 0 {
		t.Errorf("status = %+v", st)
	}
	// A restart re-runs Setup (idempotent) and applies nothing twice.
	env.Restart()
	env.Settle()
	if b, n := readBalance(t, env.Engine, "acct:p"); b != 12 || n != 3 {
		t.Fatalf("after restart: balance %d from %d events", b, n)
	}
}

func TestProjectionRebuild(t *testing.T) {
	t.Parallel()
	var eng atomic.Pointer[weft.Engine]
	var acct *weft.Entity[account, acctCmd, acctEvent]
	env := wefttest.NewEnv(t, func(e *weft.Engine) {
		eng.Store(e)
		acct = weft.RegisterEntity(e, accountDef(0))
		weft.RegisterProjection(e, balancesProjection(&eng, nil))
	})
	for i := 0; i < 3; i++ {
		if _, err := acct.Send(ctx, "r", acctCmd{Op: "deposit", Amount: 1}); err != nil {
			t.Fatal(err)
		}
	}
	env.Settle()
	// Damage the view, then rebuild it from the log.
	if err := env.Engine.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE balances SET balance = ? WHERE id = ?`, 999, "acct:r")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Engine.RebuildProjection(ctx, "balances"); err != nil {
		t.Fatal(err)
	}
	env.Settle()
	if b, n := readBalance(t, env.Engine, "acct:r"); b != 3 || n != 3 {
		t.Fatalf("after rebuild: balance %d from %d events, want 3 from 3", b, n)
	}
	if err := env.Engine.RebuildProjection(ctx, "nope"); !errors.Is(err, weft.ErrConsumerNotFound) {
		t.Errorf("rebuild of an unknown projection: %v", err)
	}
}
