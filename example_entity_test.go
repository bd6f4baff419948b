package weft_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/wefttest"
	"github.com/weftrun/weft/weftype"
)

// A seat counter: its state is the fold of its events, a command is decided
// into events or refused with a domain error.
type seats struct {
	Free int `json:"free"`
}

type reserve struct{ N int }

type seatsReserved struct {
	N int `json:"n"`
}

var errSoldOut = errors.New("sold out")

func seatsDef() weft.EntityDef[seats, reserve, seatsReserved] {
	return weft.EntityDef[seats, reserve, seatsReserved]{
		Name:    "show",
		Initial: func(id string) seats { return seats{Free: 3} },
		Decide: func(s seats, c reserve) ([]seatsReserved, error) {
			if c.N > s.Free {
				return nil, errSoldOut
			}
			return []seatsReserved{{N: c.N}}, nil
		},
		Evolve: func(s seats, e seatsReserved) seats { s.Free -= e.N; return s },
	}
}

// An entity takes commands, appends the events they decide with optimistic
// concurrency, and folds them into its state.
func ExampleRegisterEntity() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	show := weft.RegisterEntity(eng, seatsDef())

	res, err := show.Send(ctx, "gala", reserve{N: 2})
	fmt.Println(res.State.Free, res.Version, err)
	_, err = show.Send(ctx, "gala", reserve{N: 2})
	fmt.Println(err)
	evs, _ := show.Events(ctx, "gala")
	fmt.Println(len(evs), evs[0].Type, evs[0].Tags)
	// Output:
	// 1 1 <nil>
	// sold out
	// 1 seatsReserved [show show:gala]
}

// A workflow step sends a command to an entity with the step's idempotency
// key as CommandID: a step retried after a crash reserves once.
func ExampleCommandID() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	show := weft.RegisterEntity(eng, seatsDef())
	book := weft.RegisterWorkflow(eng, "book", func(ctx context.Context, n int) (int, error) {
		return weft.Step(ctx, "reserve", func(ctx context.Context) (int, error) {
			info, _ := weft.StepInfoFrom(ctx)
			res, err := show.Send(ctx, "gala", reserve{N: n}, weft.CommandID(info.IdempotencyKey))
			if err != nil {
				return 0, weft.NonRetryable(err)
			}
			return res.State.Free, nil
		})
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	run, _ := book.Start(ctx, "booking-1", 2)
	fmt.Println(run.Result(ctx))
	// The same command again (as a retried step would send it): no effect.
	res, _ := show.Send(ctx, "gala", reserve{N: 2}, weft.CommandID("booking-1/1"))
	fmt.Println(res.State.Free, res.Duplicate)
	// Output:
	// 1 <nil>
	// 1 true
}

// A consumer reacts to events: here it starts a workflow run for each
// reservation, with an ID derived from the event, so a redelivered event
// does not start a second run.
func ExampleRegisterConsumer() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	show := weft.RegisterEntity(eng, seatsDef())
	confirm := weft.RegisterWorkflow(eng, "confirm", func(ctx context.Context, n int) (string, error) {
		return fmt.Sprintf("confirmed %d seat(s)", n), nil
	})
	weft.RegisterConsumer(eng, weft.ConsumerDef{
		Name:  "confirmations",
		Types: []string{"seatsReserved"},
		Handle: func(ctx context.Context, ev weftype.Event) error {
			r, err := weft.Decode[seatsReserved](eng, ev)
			if err != nil {
				return err // parked with the reason
			}
			_, err = confirm.Start(ctx, fmt.Sprintf("confirm-%s-%d", ev.Stream, ev.Version), r.N)
			return err
		},
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _ = show.Send(ctx, "gala", reserve{N: 2})
	_ = eng.WaitIdle(ctx) // the consumer has handled the event
	out, err := confirm.Run("confirm-show:gala-1").Result(ctx)
	fmt.Println(out, err)
	cs, _ := eng.Consumers(ctx)
	fmt.Println(cs[0].Name, cs[0].Kind, cs[0].Lag)
	// Output:
	// confirmed 2 seat(s) <nil>
	// confirmations consumer 0
}

// A consumer split into partitions by stream handles the streams of
// different partitions side by side, each stream in order; the engines that
// register it share the partitions out.
func ExampleConsumerDef_partitions() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st, WorkerID: "worker-1"})
	show := weft.RegisterEntity(eng, seatsDef())
	var mu sync.Mutex
	handled := map[string][]int64{} // stream → versions, in the order handled
	weft.RegisterConsumer(eng, weft.ConsumerDef{
		Name:       "confirmations",
		Types:      []string{"seatsReserved"},
		Partitions: 4,
		Handle: func(ctx context.Context, ev weftype.Event) error {
			mu.Lock()
			defer mu.Unlock()
			handled[ev.Stream] = append(handled[ev.Stream], ev.Version)
			return nil
		},
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	for _, id := range []string{"gala", "opening", "gala", "recital", "jazz", "gala"} {
		_, _ = show.Send(ctx, id, reserve{N: 1})
	}
	_ = eng.WaitIdle(ctx)
	for _, s := range []string{"show:gala", "show:opening", "show:recital", "show:jazz"} {
		fmt.Println(s, "partition", weftype.StreamPartition(s, 4), "versions", handled[s])
	}
	cs, _ := eng.Consumers(ctx)
	fmt.Println(len(cs[0].Partitions), "partitions, run by", cs[0].Partitions[0].Owner)
	// Output:
	// show:gala partition 1 versions [1 2 3]
	// show:opening partition 2 versions [1]
	// show:recital partition 0 versions [1]
	// show:jazz partition 3 versions [1]
	// 4 partitions, run by worker-1
}

// A projection writes a view in the store's transaction: its rows and its
// checkpoint commit together, so every event counts exactly once.
func ExampleRegisterProjection() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	show := weft.RegisterEntity(eng, seatsDef())
	weft.RegisterProjection(eng, weft.ProjectionDef{
		Name:  "sold",
		Types: []string{"seatsReserved"},
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sold (show TEXT PRIMARY KEY, seats INTEGER NOT NULL)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			r, err := weft.Decode[seatsReserved](eng, ev)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO sold (show, seats) VALUES (?, ?)
				ON CONFLICT (show) DO UPDATE SET seats = sold.seats + excluded.seats`, ev.Stream, r.N)
			return err
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM sold`)
			return err
		},
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_, _ = show.Send(ctx, "gala", reserve{N: 1})
	_, _ = show.Send(ctx, "gala", reserve{N: 2})
	_ = eng.WaitIdle(ctx)
	var sold int
	_ = eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT seats FROM sold WHERE show = ?`, "show:gala").Scan(&sold)
	})
	fmt.Println("sold:", sold)
	// Output:
	// sold: 3
}

// A transactional step writes to the user's tables in the transaction that
// journals it: the row and the step's result commit together, exactly once.
func ExampleTxStep() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	eng, _ := weft.New(weft.Config{Store: st})
	_ = eng.ExecSQL(ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE invoices (run TEXT PRIMARY KEY, amount INTEGER NOT NULL)`)
		return err
	})
	invoice := weft.RegisterWorkflow(eng, "invoice", func(ctx context.Context, amount int) (int64, error) {
		return weft.TxStep(ctx, "insert", func(ctx context.Context, tx store.Tx) (int64, error) {
			info, _ := weft.StepInfoFrom(ctx)
			res, err := tx.ExecContext(ctx, `INSERT INTO invoices (run, amount) VALUES (?, ?)`, info.RunID, amount)
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		})
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	run, _ := invoice.Start(ctx, "inv-1", 120)
	fmt.Println(run.Result(ctx))
	// Output:
	// 1 <nil>
}

// Every runs a function periodically, a fixed delay after the previous run
// ended, one run at a time, across restarts; now is the engine clock's time.
func ExampleRegisterSchedule() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	weft.RegisterSchedule(eng, weft.ScheduleDef{Name: "expire-unpaid", Interval: time.Minute, Func: func(ctx context.Context, now time.Time) error {
		fmt.Println("expiring bookings unpaid at", now.Format("15:04"))
		return nil
	}})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_ = wefttest.AdvanceTo(ctx, eng, clock, clock.Now().Add(2*time.Minute))
	// Output:
	// expiring bookings unpaid at 00:00
	// expiring bookings unpaid at 00:01
	// expiring bookings unpaid at 00:02
}

// Schedule starts a workflow run at each cron tick, with a stable run ID per
// tick.
func ExampleRegisterSchedule_cron() {
	ctx := context.Background()
	st, done := openExampleStore()
	defer done()

	clock := wefttest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	eng, _ := weft.New(weft.Config{Store: st, Clock: clock})
	report := weft.RegisterWorkflow(eng, "report", func(ctx context.Context, day string) (string, error) {
		return "report of " + day, nil
	})
	weft.RegisterSchedule(eng, weft.ScheduleDef{
		Name: "nightly", Cron: "0 2 * * *", Workflow: report,
		Input: func(tick time.Time) any { return tick.AddDate(0, 0, -1).Format("2006-01-02") },
	})
	_ = eng.Start(ctx)
	defer eng.Stop(ctx)

	_ = wefttest.AdvanceTo(ctx, eng, clock, clock.Now().Add(48*time.Hour))
	for _, id := range []string{"nightly@2026-01-01T02:00:00Z", "nightly@2026-01-02T02:00:00Z"} {
		fmt.Println(report.Run(id).Result(ctx))
	}
	// Output:
	// report of 2025-12-31 <nil>
	// report of 2026-01-01 <nil>
}
