// Command app is the user's binary of the end-to-end test (package e2e): a
// team's own workflows, entity, consumer and schedule, outside weft's
// examples, made a weft program by package weftapp. The test runs it as
// `serve` and as `worker`s on PostgreSQL and operates it with the stock
// CLI.
//
// Its failures are switched from outside through flag files in the
// directory $E2E_FLAGS, so that the test makes a run fail or an event park
// and then "deploys the fix" by removing the file:
//
//   - charge-declined: the step "charge" of an order fails (not retried),
//     so the run fails;
//   - ledger-broken: the consumer "ledger" fails (not retried) on a
//     deposit of 13, so the event is parked.
package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftapp"
	"github.com/weftrun/weft/weftype"
)

//go:embed *.go
var sources embed.FS

func main() {
	weftapp.App{
		Name:     "e2eapp",
		Register: register,
		SourceFS: map[string]fs.FS{"github.com/weftrun/weft/internal/e2e/app": sources},
	}.Main()
}

// broken reports whether the flag file name is present: the failure it
// names is switched on.
func broken(name string) bool {
	dir := os.Getenv("E2E_FLAGS")
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// Order is the input of the order workflow.
type Order struct {
	Item string `json:"item"`
}

// Payment is the payload of an order's "pay" signal.
type Payment struct {
	Card string `json:"card"`
}

// Hold is the input of the hold workflow.
type Hold struct {
	Note string `json:"note"`
}

// account is the state of the account entity; deposit its command and
// deposited its event.
type account struct {
	Balance int `json:"balance"`
}

type deposit struct {
	Amount int `json:"amount"`
}

type deposited struct {
	Amount int `json:"amount"`
}

func register(eng *weft.Engine, logger *slog.Logger) error {
	weft.RegisterEntity(eng, weft.EntityDef[account, deposit, deposited]{
		Name: "account",
		Decide: func(a account, c deposit) ([]deposited, error) {
			if c.Amount <= 0 {
				return nil, errors.New("a deposit must be above zero")
			}
			return []deposited{{Amount: c.Amount}}, nil
		},
		Evolve: func(a account, e deposited) account { a.Balance += e.Amount; return a },
	})

	// order reserves the item, waits for the payment, then charges it.
	weft.RegisterWorkflow(eng, "order", func(ctx context.Context, in Order) (string, error) {
		stage := "reserving"
		weft.SetQuery(ctx, "stage", func() (any, error) { return stage, nil })
		if _, err := weft.Step(ctx, "reserve", func(ctx context.Context) (string, error) {
			return "reserved " + in.Item, nil
		}); err != nil {
			return "", err
		}
		stage = "awaiting payment"
		pay, err := weft.Await[Payment](ctx, "pay", 24*time.Hour)
		if err != nil {
			return "", err
		}
		stage = "charging"
		return weft.Step(ctx, "charge", func(ctx context.Context) (string, error) {
			if broken("charge-declined") {
				return "", weft.NonRetryable(errors.New("card declined"))
			}
			return fmt.Sprintf("charged %s for %s", pay.Card, in.Item), nil
		})
	})

	// hold waits a day for a release: a run to operate on.
	weft.RegisterWorkflow(eng, "hold", func(ctx context.Context, in Hold) (string, error) {
		if _, err := weft.Await[struct{}](ctx, "release", 24*time.Hour); err != nil {
			return "", err
		}
		return "released " + in.Note, nil
	})

	// report is what the schedule "nightly" starts.
	report := weft.RegisterWorkflow(eng, "report", func(ctx context.Context, _ struct{}) (string, error) {
		return "reported", nil
	})
	weft.RegisterSchedule(eng, weft.ScheduleDef{Name: "nightly", Interval: 24 * time.Hour, Workflow: report})

	// ledger logs the accounts' deposits; a deposit of 13 is parked while
	// the ledger is broken.
	weft.RegisterConsumer(eng, weft.ConsumerDef{
		Name:         "ledger",
		StreamPrefix: "account:",
		Handle: func(ctx context.Context, ev weftype.Event) error {
			d, err := weft.Decode[deposited](eng, ev)
			if err != nil {
				return err
			}
			if d.Amount == 13 && broken("ledger-broken") {
				return weft.NonRetryable(errors.New("ledger: cannot book 13"))
			}
			logger.Info("ledger", "stream", ev.Stream, "amount", d.Amount)
			return nil
		},
	})
	return nil
}
