// Package connecttest is the application of the broker connectors' kill -9
// tests (connect/nats, connect/kafka): a source consumer turns deposit
// messages from the broker into commands to account entities (idempotent by
// the message's ID), a projection keeps the balances, and a publication
// sends every account event back to the broker through the outbox (its
// message written in the command's own transaction). The
// children are internal/crashtest children; Check verifies, after the
// kills, that every message was applied once and that the projection
// equals a rebuild from the log.
package connecttest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/internal/crashtest"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// Deposit is the message a test sends to the source.
type Deposit struct {
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

// Deposited is the account's event.
type Deposited struct {
	Amount  int    `json:"amount"`
	Message string `json:"message"`
}

type account struct{ Balance int }

// Publisher is the name of the publisher the application publishes through.
const Publisher = "broker"

// Register registers the application on eng: the source consumer "deposits"
// on src, the account entity, the projection "balances" and the
// publication "account-events" to the topic outTopic(account) through pub.
// The effects call c.After with "handled-N" after the N-th message's command
// committed (before its ack) and "published-N" after the N-th Publish call
// reached the broker (before the outbox's ack), so a test can kill the
// child right there.
func Register(eng *weft.Engine, c crashtest.Child, src weft.Source, pub weft.Publisher, outTopic func(account string) string) {
	accounts := weft.RegisterEntity(eng, weft.EntityDef[account, Deposit, Deposited]{
		Name:   "account",
		Decide: func(s account, d Deposit) ([]Deposited, error) { return []Deposited{{Amount: d.Amount}}, nil },
		Evolve: func(s account, e Deposited) account { s.Balance += e.Amount; return s },
	})
	after := func(string) {}
	if c.After != nil {
		after = c.After
	}
	var handled, published atomic.Int64
	weft.RegisterSourceConsumer(eng, weft.SourceConsumerDef{
		Name: "deposits", Source: src,
		Handle: func(ctx context.Context, m weft.SourceMessage) error {
			var d Deposit
			if err := json.Unmarshal(m.Data, &d); err != nil {
				return err
			}
			if _, err := accounts.Send(ctx, d.Account, d, weft.CommandID(m.ID)); err != nil {
				return err
			}
			after(fmt.Sprint("handled-", handled.Add(1)))
			return nil
		},
	})
	weft.RegisterProjection(eng, weft.ProjectionDef{
		Name: "balances", StreamPrefix: "account:",
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL, events INTEGER NOT NULL)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			var e Deposited
			if err := json.Unmarshal(ev.Data, &e); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO balances (account, balance, events) VALUES (?, ?, 1)
				ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance, events = balances.events + 1`,
				accountOf(ev.Stream), e.Amount)
			return err
		},
	})
	weft.RegisterPublisher(eng, weft.PublisherDef{Name: Publisher, Publisher: publishFunc(func(ctx context.Context, msgs []weft.OutboxMessage) error {
		if err := pub.Publish(ctx, msgs); err != nil {
			return err
		}
		after(fmt.Sprint("published-", published.Add(1)))
		return nil
	})})
	weft.PublishEvents(eng, weft.PublishEventsDef{Name: "account-events", StreamPrefix: "account:",
		Messages: func(ev weftype.Event) ([]weft.Message, error) {
			a := accountOf(ev.Stream)
			return []weft.Message{{Publisher: Publisher, Topic: outTopic(a), Key: a, Data: ev.Data}}, nil
		}})
}

type publishFunc func(ctx context.Context, msgs []weft.OutboxMessage) error

func (f publishFunc) Publish(ctx context.Context, msgs []weft.OutboxMessage) error {
	return f(ctx, msgs)
}

func accountOf(stream string) string { return stream[len("account:"):] }

// Check opens the children's store in dir and verifies that every deposit
// of sent was applied to its account exactly once (one event each, however
// often it was delivered), and that the projection "balances" equals a
// rebuild from the log. It returns the number of account events, which is
// the number of messages the publication must have delivered once each.
func Check(t *testing.T, dir string, sent []Deposit) int {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, crashtest.DBFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string][2]int{} // balance, events
	for _, d := range sent {
		w := want[d.Account]
		want[d.Account] = [2]int{w[0] + d.Amount, w[1] + 1}
	}
	rebuilt := map[string][2]int{}
	total := 0
	for after := int64(0); ; {
		evs, err := st.ReadAll(ctx, &store.ReadAllParams{AfterPosition: after, StreamPrefix: "account:"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			var e Deposited
			if err := json.Unmarshal(ev.Data, &e); err != nil {
				t.Fatal(err)
			}
			r := rebuilt[accountOf(ev.Stream)]
			rebuilt[accountOf(ev.Stream)] = [2]int{r[0] + e.Amount, r[1] + 1}
			after = ev.Position
			total++
		}
	}
	if fmt.Sprint(rebuilt) != fmt.Sprint(want) {
		t.Errorf("accounts folded from the log = %v, want %v (every message applied once)", rebuilt, want)
	}
	view := map[string][2]int{}
	err = st.Read(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT account, balance, events FROM balances`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			var b, n int
			if err := rows.Scan(&a, &b, &n); err != nil {
				return err
			}
			view[a] = [2]int{b, n}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(view) != fmt.Sprint(rebuilt) {
		t.Errorf("projection = %v, want the rebuild %v", view, rebuilt)
	}
	return total
}

// OutboxDrained reports whether the outbox of the children's store in dir
// is empty: every message published and acked.
func OutboxDrained(dir string) (bool, string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, crashtest.DBFile), &sqlite.Options{Client: true})
	if err != nil {
		return false, err.Error()
	}
	defer st.Close()
	b, err := st.OutboxBacklog(ctx, &store.OutboxBacklogParams{})
	if err != nil {
		return false, err.Error()
	}
	return b.Messages == 0, fmt.Sprintf("%d messages in the outbox", b.Messages)
}
