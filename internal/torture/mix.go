package torture

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Names of what the workers register.
const (
	FlowName      = "torture"
	ChildName     = "torture-child"
	AccountType   = "acct"
	AuditConsumer = "torture-audit"
	BalancesView  = "torture-balances"
	SignalName    = "go"
)

var accountsPrefix = weftype.StreamName(AccountType, "")

// Tables the workers write beside weft's own, in the store's database, so
// that the driver counts what every worker did, the killed ones included.
//
//	torture_effects    (key, worker, at)     one row per call of a step's effect
//	torture_deliveries (position, worker, at) one row per call of the audit consumer
//	torture_balances   (account PK, balance, events) the projection's view
//
// key is the step's idempotency key (run/seq); worker the WorkerID of the
// process (one per incarnation, so a killed worker's calls stay its own);
// at the unix nanoseconds of the call.
const (
	EffectsTable    = "torture_effects"
	DeliveriesTable = "torture_deliveries"
	BalancesTable   = "torture_balances"
)

// Input is the input of the torture workflow.
type Input struct {
	// Sleep is the durable sleep after the first step.
	Sleep time.Duration `json:"sleep"`
	// Child makes the run start a child run and wait for it.
	Child bool `json:"child,omitempty"`
	// Account is the entity the last step deposits Amount into.
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// Expected is the result a run of in completes with once it got the signal
// payload sig.
func Expected(in Input, sig string) string {
	child := "-"
	if in.Child {
		child = childResult(in.Amount)
	}
	return fmt.Sprintf("a|%s|%s|deposited %d", sig, child, in.Amount)
}

func childResult(n int64) string { return fmt.Sprint("child-", n) }

// Deposit is the account entity's command; Deposited its event. Run names
// the run whose step sent it, so the driver can tell a deposit applied twice.
type Deposit struct {
	Run    string `json:"run"`
	Amount int64  `json:"amount"`
}

// Deposited is the account entity's event.
type Deposited struct {
	Run    string `json:"run"`
	Amount int64  `json:"amount"`
}

// Account is the account entity's state.
type Account struct {
	Balance int64 `json:"balance"`
}

// stepRetry retries a step through a server restart: a step whose effect
// could not be recorded (the database is down) tries again rather than
// failing the run.
var stepRetry = weft.Retry(weft.RetryPolicy{MaxAttempts: 1000, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2})

// Setup creates the effects tables if they do not exist. The projection's
// table is its own Setup's.
func Setup(ctx context.Context, st store.Store) error {
	return st.Exec(ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+EffectsTable+` (
			key    TEXT NOT NULL,
			worker TEXT NOT NULL,
			at     BIGINT NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+DeliveriesTable+` (
			position BIGINT NOT NULL,
			worker   TEXT NOT NULL,
			at       BIGINT NOT NULL)`)
		return err
	})
}

// Mix is the workload registered on an engine: the driver's client engine
// registers it too, to start runs and read results with their types.
type Mix struct {
	Flow     *weft.Workflow[Input, string]
	Child    *weft.Workflow[int64, string]
	Accounts *weft.Entity[Account, Deposit, Deposited]
}

// Register registers the mix on eng, whose effects are recorded under
// worker: the torture workflow (steps, a durable sleep, a signal, a child,
// an entity command with the step's idempotency key as its CommandID), the
// account entity, the at-least-once audit consumer of the accounts'
// events, and the balances projection.
func Register(eng *weft.Engine, worker string) *Mix {
	m := &Mix{}
	fx := &effects{eng: eng, worker: worker}
	m.Accounts = weft.RegisterEntity(eng, weft.EntityDef[Account, Deposit, Deposited]{
		Name: AccountType,
		Decide: func(_ Account, c Deposit) ([]Deposited, error) {
			return []Deposited{{Run: c.Run, Amount: c.Amount}}, nil
		},
		Evolve:        func(s Account, e Deposited) Account { s.Balance += e.Amount; return s },
		SnapshotEvery: 16,
	})
	m.Child = weft.RegisterWorkflow(eng, ChildName, func(ctx context.Context, n int64) (string, error) {
		return weft.Step(ctx, "child-step", func(ctx context.Context) (string, error) {
			return childResult(n), fx.call(ctx)
		}, stepRetry)
	})
	m.Flow = weft.RegisterWorkflow(eng, FlowName, func(ctx context.Context, in Input) (string, error) {
		a, err := weft.Step(ctx, "a", func(ctx context.Context) (string, error) { return "a", fx.call(ctx) }, stepRetry)
		if err != nil {
			return "", err
		}
		if err := weft.Sleep(ctx, in.Sleep); err != nil {
			return "", err
		}
		sig, err := weft.Await[string](ctx, SignalName, 0)
		if err != nil {
			return "", err
		}
		child := "-"
		if in.Child {
			if child, err = weft.Child(ctx, m.Child, "", in.Amount); err != nil {
				return "", err
			}
		}
		run, _ := weft.Info(ctx)
		dep, err := weft.Step(ctx, "deposit", func(ctx context.Context) (string, error) {
			if err := fx.call(ctx); err != nil {
				return "", err
			}
			info, _ := weft.StepInfoFrom(ctx)
			// The step's idempotency key as the CommandID: a step run
			// again after a crash deposits once.
			if _, err := m.Accounts.Send(ctx, in.Account, Deposit{Run: run.RunID, Amount: in.Amount}, weft.CommandID(info.IdempotencyKey)); err != nil {
				return "", err
			}
			return fmt.Sprint("deposited ", in.Amount), nil
		}, stepRetry)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s|%s|%s|%s", a, sig, child, dep), nil
	})
	weft.RegisterConsumer(eng, weft.ConsumerDef{
		Name: AuditConsumer, StreamPrefix: accountsPrefix, Partitions: 2,
		Handle: func(ctx context.Context, ev weftype.Event) error {
			return eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO `+DeliveriesTable+` (position, worker, at) VALUES (?, ?, ?)`,
					ev.Position, worker, time.Now().UnixNano())
				return err
			})
		},
	})
	weft.RegisterProjection(eng, weft.ProjectionDef{
		Name: BalancesView, StreamPrefix: accountsPrefix, Partitions: 2,
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+BalancesTable+` (
				account TEXT PRIMARY KEY,
				balance BIGINT NOT NULL,
				events  BIGINT NOT NULL)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			d, err := weft.Decode[Deposited](eng, ev)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO `+BalancesTable+` (account, balance, events) VALUES (?, ?, 1)
				ON CONFLICT (account) DO UPDATE SET balance = `+BalancesTable+`.balance + excluded.balance,
				events = `+BalancesTable+`.events + 1`, ev.Stream, d.Amount)
			return err
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM `+BalancesTable)
			return err
		},
	})
	return m
}

// effects records the calls of the steps' effects.
type effects struct {
	eng    *weft.Engine
	worker string
}

// call records one call of the effect of the step whose context is ctx,
// then works for a few milliseconds, so that a worker killed or paused
// while busy is often in the middle of a step.
func (f *effects) call(ctx context.Context) error {
	info, _ := weft.StepInfoFrom(ctx)
	err := f.eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+EffectsTable+` (key, worker, at) VALUES (?, ?, ?)`,
			info.IdempotencyKey, f.worker, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Millisecond):
		return nil
	}
}
