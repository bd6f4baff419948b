package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftrun/weft/internal/sqlstore"
	"github.com/weftrun/weft/weftype"
)

// notifier implements store.Notifier with LISTEN/NOTIFY on one channel per
// schema. NOTIFYs are coalesced: while one is in flight, any number of
// further Notify calls send one more. LISTEN runs on a dedicated connection
// that is re-established, with backoff, whenever it breaks; each
// (re)connection also wakes the listeners, since notifications sent while it
// was down are lost.
type notifier struct {
	cfg     *pgx.ConnConfig
	db      *sql.DB // the read pool: NOTIFY is allowed in read-only transactions
	channel string
	log     *slog.Logger

	pending chan struct{} // buffered 1: a NOTIFY is wanted
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	listening bool
	subs      map[chan struct{}]struct{}
	// wantWake is whether the next NOTIFY wakes the schedulers, and ended
	// the runs whose end it tells of (see NotifyRunEnded).
	wantWake bool
	ended    []string
	endSubs  map[*endSub]struct{}
}

// endSub is one ListenRunEnds caller.
type endSub struct{ fn func(runIDs []string) }

func newNotifier(cfg *pgx.ConnConfig, db *sql.DB, channel string, log *slog.Logger) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{
		cfg: cfg, db: db, channel: channel, log: log,
		pending: make(chan struct{}, 1),
		ctx:     ctx, cancel: cancel,
		subs:    make(map[chan struct{}]struct{}),
		endSubs: make(map[*endSub]struct{}),
	}
	n.wg.Add(1)
	go n.sendLoop()
	return n
}

// Notify implements store.Notifier: it asks for a NOTIFY to every process
// listening on the store's schema and returns at once. The NOTIFY is sent
// right away on a connection of the read pool; while one is pending,
// further calls add nothing. Failures are logged; listeners fall back to
// polling.
func (s *Store) Notify(ctx context.Context) error {
	n := s.notify
	n.mu.Lock()
	closed := n.closed
	n.wantWake = true
	n.mu.Unlock()
	if closed {
		return weftype.ErrStoreClosed
	}
	n.poke()
	return nil
}

// poke asks the send loop for a NOTIFY; while one is pending, it adds
// nothing.
func (n *notifier) poke() {
	select {
	case n.pending <- struct{}{}:
	default: // one is pending already and will cover this one
	}
}

// NotifiesSignals implements store.SignalNotifier: SendSignal's transaction
// sends the NOTIFY as it commits.
func (s *Store) NotifiesSignals() bool { return true }

// NotifiesRunEnds implements store.RunEndCommitNotifier: the transaction of
// a CommitRun that ends its run sends the run's end notification as it
// commits (notifyEndSQL).
func (s *Store) NotifiesRunEnds() bool { return true }

// notifyEndSQL is the statement that notifies the end of the run whose ID
// is its argument, in the payload NotifyRunEnded sends (endPrefix and a
// JSON array of the ID), if the run has ended: queued after the commit that
// ends it, it sends nothing when that commit was refused.
func notifyEndSQL(channel string) string {
	return fmt.Sprintf(`SELECT pg_notify('%s', '%s' || json_build_array(id)::text) FROM runs WHERE id = ? AND status IN (%s)`,
		channel, endPrefix, sqlstore.TerminalList)
}

// Listen implements store.Notifier. The channel receives a value (coalesced:
// it holds at most one) after any process notified the store's schema, and
// whenever the listening connection was re-established; it stops receiving
// when ctx ends. The first call connects before it returns, so that no
// notification sent after Listen returns is missed while the connection
// holds; if it cannot connect it keeps trying in the background.
func (s *Store) Listen(ctx context.Context) (<-chan struct{}, error) {
	n := s.notify
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, weftype.ErrStoreClosed
	}
	n.subs[ch] = struct{}{}
	start := !n.listening
	n.listening = true
	if start {
		n.wg.Add(1) // under mu, so that close waits for the loop
	}
	n.mu.Unlock()
	if start {
		conn, err := n.connect(ctx)
		if err != nil {
			n.log.Warn("weft: postgres: LISTEN failed; retrying in the background", "error", err)
		}
		go n.listenLoop(conn)
	}
	context.AfterFunc(ctx, func() {
		n.mu.Lock()
		delete(n.subs, ch)
		n.mu.Unlock()
	})
	return ch, nil
}

func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
}

// wake delivers a wake-up to every listener without blocking.
func (n *notifier) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (n *notifier) sendLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.pending:
		}
		n.mu.Lock()
		payloads := endPayloads(n.ended)
		if n.wantWake {
			payloads = append(payloads, "")
		}
		n.wantWake, n.ended = false, nil
		n.mu.Unlock()
		if len(payloads) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		// The NOTIFY commits on its own, without waiting for the disk: it
		// carries nothing durable, and waiting would add a flush to every
		// wake-up. One statement sends the wake-up and the ends together.
		_, err := n.db.ExecContext(ctx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, p) FROM unnest($2::text[]) AS p`, n.channel, payloads)
		cancel()
		if err != nil && n.ctx.Err() == nil {
			n.log.Warn("weft: postgres: NOTIFY failed", "error", err)
		}
	}
}

// endPrefix starts the payload of a notification of ended runs: a JSON
// array of their IDs. A wake-up has an empty payload.
const endPrefix = "e:"

// maxPayload keeps each notification under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

// endPayloads packs the IDs of ended runs into as few notifications as fit.
func endPayloads(ids []string) []string {
	var out []string
	var batch []string
	size := 0
	flush := func() {
		if len(batch) > 0 {
			b, _ := json.Marshal(batch) // strings always marshal
			out = append(out, endPrefix+string(b))
			batch, size = nil, 0
		}
	}
	for _, id := range ids {
		if size+len(id)+8 > maxPayload {
			flush()
		}
		batch, size = append(batch, id), size+len(id)+8
	}
	flush()
	return out
}

// NotifyRunEnded implements store.RunEndNotifier: the run's ID goes out
// with the next NOTIFY, together with those of other runs that end
// meanwhile, and the call returns at once.
func (s *Store) NotifyRunEnded(ctx context.Context, runID string) error {
	n := s.notify
	n.mu.Lock()
	closed := n.closed
	if !closed {
		n.ended = append(n.ended, runID)
	}
	n.mu.Unlock()
	if closed {
		return weftype.ErrStoreClosed
	}
	n.poke()
	return nil
}

// ListenRunEnds implements store.RunEndNotifier on the connection that
// Listen uses (it starts it if Listen has not).
func (s *Store) ListenRunEnds(ctx context.Context, fn func(runIDs []string)) error {
	n := s.notify
	sub := &endSub{fn: fn}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return weftype.ErrStoreClosed
	}
	n.endSubs[sub] = struct{}{}
	n.mu.Unlock()
	context.AfterFunc(ctx, func() {
		n.mu.Lock()
		delete(n.endSubs, sub)
		n.mu.Unlock()
	})
	_, err := s.Listen(ctx)
	return err
}

// deliver hands a notification to its listeners: the ended runs to the
// ListenRunEnds callers, a wake-up to the Listen channels.
func (n *notifier) deliver(payload string) {
	rest, ok := strings.CutPrefix(payload, endPrefix)
	if !ok {
		n.wake()
		return
	}
	var ids []string
	if err := json.Unmarshal([]byte(rest), &ids); err != nil {
		n.log.Warn("weft: postgres: bad run end notification", "error", err)
		return
	}
	n.ends(ids)
}

// ends calls every ListenRunEnds callback with ids (nil: some may have
// been missed).
func (n *notifier) ends(ids []string) {
	n.mu.Lock()
	subs := make([]*endSub, 0, len(n.endSubs))
	for s := range n.endSubs {
		subs = append(subs, s)
	}
	n.mu.Unlock()
	for _, s := range subs {
		s.fn(ids)
	}
}

// connect opens the listening connection and runs LISTEN on it.
func (n *notifier) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, n.cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// listenLoop waits for notifications on conn, reconnecting when it breaks,
// until the store closes.
func (n *notifier) listenLoop(conn *pgx.Conn) {
	defer n.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		if conn == nil {
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			c, err := n.connect(n.ctx)
			if err != nil {
				if n.ctx.Err() == nil {
					n.log.Warn("weft: postgres: LISTEN reconnect failed", "error", err, "retry_in", backoff.String())
				}
				continue
			}
			conn = c
			backoff = 50 * time.Millisecond
			n.log.Info("weft: postgres: listening again")
			n.wake() // notifications may have been missed meanwhile
			n.ends(nil)
		}
		note, err := conn.WaitForNotification(n.ctx)
		if err == nil {
			n.deliver(note.Payload)
			continue
		}
		conn.Close(context.Background())
		conn = nil
		if n.ctx.Err() != nil {
			return
		}
		n.log.Warn("weft: postgres: LISTEN connection lost; reconnecting", "error", err)
	}
}
