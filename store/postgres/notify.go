package postgres

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

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
}

func newNotifier(cfg *pgx.ConnConfig, db *sql.DB, channel string, log *slog.Logger) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{
		cfg: cfg, db: db, channel: channel, log: log,
		pending: make(chan struct{}, 1),
		ctx:     ctx, cancel: cancel,
		subs: make(map[chan struct{}]struct{}),
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
	n.mu.Unlock()
	if closed {
		return weftype.ErrStoreClosed
	}
	select {
	case n.pending <- struct{}{}:
	default: // one is pending already and will cover this one
	}
	return nil
}

// NotifiesSignals implements store.SignalNotifier: SendSignal's transaction
// sends the NOTIFY as it commits.
func (s *Store) NotifiesSignals() bool { return true }

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
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		// The NOTIFY commits on its own, without waiting for the disk: it
		// carries nothing durable, and waiting would add a flush to every
		// wake-up.
		_, err := n.db.ExecContext(ctx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`, n.channel)
		cancel()
		if err != nil && n.ctx.Err() == nil {
			n.log.Warn("weft: postgres: NOTIFY failed", "error", err)
		}
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
		}
		_, err := conn.WaitForNotification(n.ctx)
		if err == nil {
			n.wake()
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
