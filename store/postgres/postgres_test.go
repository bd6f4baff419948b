package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/weftrun/weft/internal/pgtest"
	"github.com/weftrun/weft/internal/sqlstore"
	"github.com/weftrun/weft/internal/testwait"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/storetest"
	"github.com/weftrun/weft/weftype"
)

// open opens a store in a fresh schema of the test database.
func open(t *testing.T, opts *postgres.Options) *postgres.Store {
	t.Helper()
	dsn, _ := pgtest.Schema(t)
	st, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// twoStores opens two stores on one fresh schema, as two processes would,
// and a context cancelled with the test.
func twoStores(t *testing.T) (ctx context.Context, a, b *postgres.Store) {
	t.Helper()
	dsn, _ := pgtest.Schema(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var err error
	if a, err = postgres.Open(ctx, dsn, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if b, err = postgres.Open(ctx, dsn, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return ctx, a, b
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, &postgres.Options{MaxReadConns: 2})
	})
}

func TestOpenBadDSN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:5432/test?sslmode=bogus", nil)
	if err == nil || !strings.Contains(err.Error(), "invalid DSN") {
		t.Fatalf("Open with a bad sslmode: %v, want an invalid DSN error", err)
	}
	// A port where nothing listens: a prompt, clear error.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	start := time.Now()
	_, err = postgres.Open(ctx, fmt.Sprintf("postgres://postgres:secret@127.0.0.1:%d/test", port), nil)
	if err == nil || !strings.Contains(err.Error(), "connect to 127.0.0.1:") {
		t.Fatalf("Open on a closed port: %v, want a connect error", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Open on a closed port took %v", d)
	}
}

func TestOpenForeignSchema(t *testing.T) {
	t.Parallel()
	pgtest.DSN(t)
	dsn, _ := pgtest.Schema(t)
	ctx := context.Background()
	exec(t, dsn, `CREATE TABLE customers (id int PRIMARY KEY)`)
	_, err := postgres.Open(ctx, dsn, nil)
	if !errors.Is(err, weftype.ErrNotWeftStore) {
		t.Fatalf("Open on a schema with other tables: %v, want ErrNotWeftStore", err)
	}
	if !strings.Contains(err.Error(), "customers") {
		t.Fatalf("the error does not name the tables found: %v", err)
	}
	if n := count(t, dsn, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`); n != 1 {
		t.Fatalf("Open changed the foreign schema: %d tables, want 1", n)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := st.SchemaVersion(ctx); err != nil || v != postgres.KnownSchemaVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, postgres.KnownSchemaVersion())
	}
	st.Close()
	exec(t, dsn, `INSERT INTO weft_schema_version (version_id, is_applied) VALUES (999, TRUE)`)
	_, err = postgres.Open(ctx, dsn, nil)
	var sv *weftype.SchemaVersionError
	if !errors.As(err, &sv) || sv.Current != 999 || sv.Known != postgres.KnownSchemaVersion() {
		t.Fatalf("Open on a newer schema: %v, want a *weftype.SchemaVersionError", err)
	}
}

func TestOpenSchemaOption(t *testing.T) {
	t.Parallel()
	base := pgtest.DSN(t)
	schema := fmt.Sprintf("weft_test_opt_%d", time.Now().UnixNano())
	t.Cleanup(func() { pgtest.Drop(t, base, schema) })
	st, err := postgres.Open(context.Background(), base, &postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Schema() != schema {
		t.Fatalf("Schema() = %q, want %q", st.Schema(), schema)
	}
	if _, err := st.Append(context.Background(), &store.AppendParams{Stream: "s", Events: []weftype.NewEvent{{Type: "E"}}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pgtest.WithSearchPath(base, schema), `SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("events in schema %s: %d, want 1", schema, n)
	}
}

// TestOpenConcurrently opens one new schema from many goroutines at once:
// the migrations run once and every Open succeeds.
func TestOpenConcurrently(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			st, err := postgres.Open(context.Background(), dsn, &postgres.Options{MaxReadConns: 1})
			if err != nil {
				errs <- err
				return
			}
			errs <- st.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	err := postgres.CheckClock(context.Background(), dsn, func() time.Time { return time.Now().Add(-time.Hour) }, time.Second)
	var ce *postgres.ClockSkewError
	if !errors.As(err, &ce) || ce.Offset < 59*time.Minute {
		t.Fatalf("a clock an hour behind: %v, want a *ClockSkewError of about 1h", err)
	}
	if !strings.Contains(err.Error(), "NTP") {
		t.Fatalf("the error does not say what to do: %v", err)
	}
	if err := postgres.CheckClock(context.Background(), dsn, time.Now, time.Second); err != nil {
		t.Fatalf("this machine's clock: %v", err)
	}
}

// TestNotify checks that a Notify on one store wakes a Listen on another
// store of the same schema, and only of that schema.
func TestNotify(t *testing.T) {
	t.Parallel()
	ctx, a, b := twoStores(t)
	other := open(t, nil)
	defer other.Close()
	ch, err := b.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	och, err := other.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := a.Notify(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("notification %d not received within 10s", i)
		}
	}
	select {
	case <-och:
		t.Fatal("a store of another schema was notified")
	default:
	}
}

// TestReadAllOrderAcrossStores appends from several stores (as from several
// processes) while a reader follows the log: it must never see a position
// after skipping a smaller one that shows up later.
func TestReadAllOrderAcrossStores(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	ctx := context.Background()
	var writers []*postgres.Store
	for range 3 {
		st, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		writers = append(writers, st)
	}
	const perWriter = 300
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w, st := range writers {
		for g := range 10 {
			wg.Go(func() {
				for i := range perWriter / 10 {
					_, err := st.Append(ctx, &store.AppendParams{Stream: fmt.Sprintf("w%d-%d", w, g), ExpectedVersion: int64(i),
						Events: []weftype.NewEvent{{Type: "E"}}})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	go func() { wg.Wait(); close(done) }()
	reader := writers[0]
	var seen []int64
	var after int64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		evs, err := reader.ReadAll(ctx, &store.ReadAllParams{AfterPosition: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			seen = append(seen, e.Position)
			after = e.Position
		}
		if finished {
			for len(evs) > 0 {
				if evs, err = reader.ReadAll(ctx, &store.ReadAllParams{AfterPosition: after}); err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					seen = append(seen, e.Position)
					after = e.Position
				}
			}
		}
	}
	all, err := reader.ReadAll(ctx, &store.ReadAllParams{Limit: 10 * perWriter})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3*perWriter {
		t.Fatalf("%d events in the log, want %d", len(all), 3*perWriter)
	}
	if len(seen) != len(all) {
		t.Fatalf("the follower saw %d events of %d: it skipped positions that became visible later", len(seen), len(all))
	}
}

// TestWriteConnectionReplacedAtOnce ends the store's idle write connection
// on the server, as the idle-in-transaction timeout does to a paused worker's
// or a restart does: the next write takes a fresh connection and succeeds,
// rather than failing once on the dead one.
func TestWriteConnectionReplacedAtOnce(t *testing.T) {
	t.Parallel()
	dsn, schema := pgtest.Schema(t)
	app := "weft_replace_" + schema
	dsn += "&application_name=" + app
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendOne := func() error { return appendA(ctx, st) }
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}
	sessions := `SELECT count(*) FROM pg_stat_activity WHERE application_name = '` + app + `'`
	if k := count(t, pgtest.DSN(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '`+app+`'`); k == 0 {
		t.Fatal("no connection of the store to terminate")
	}
	testwait.For(t, "the terminated sessions to end", func() bool { return count(t, pgtest.DSN(t), sessions) == 0 })
	if err := appendOne(); err != nil {
		t.Fatalf("first write after the connection ended: %v", err)
	}
	wantEventsOfA(t, ctx, st, 2)
}

// TestWritesWhileTheServerIsDown stops the server under an open store:
// writes fail with an error (and nothing else breaks) while it is down, and
// succeed again once it is back, on a fresh connection.
func TestWritesWhileTheServerIsDown(t *testing.T) {
	srv := pgtest.Private(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, srv.DSN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendOne := func() error { return appendA(ctx, st) }
	if err := appendOne(); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t, pgtest.Immediate)
	for i := range 3 {
		if err := appendOne(); err == nil {
			t.Fatalf("write %d with the server down succeeded", i)
		}
	}
	srv.Start(t)
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		err := appendOne()
		return err == nil, fmt.Sprintf("writes still fail after the server came back: %v", err)
	})
	wantEventsOfA(t, ctx, st, 2) // the one written before the stop and the one after
}

// appendA appends an event "A" to the stream "s".
func appendA(ctx context.Context, st *postgres.Store) error {
	_, err := st.Append(ctx, &store.AppendParams{Stream: "s", ExpectedVersion: weftype.AnyVersion, Events: []weftype.NewEvent{{Type: "A"}}})
	return err
}

// wantEventsOfA fails the test unless appendA appended n events.
func wantEventsOfA(t *testing.T, ctx context.Context, st *postgres.Store, n int) {
	t.Helper()
	evs, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
}

// TestConnectionsKilled terminates the store's connections under load, as a
// restart of the server does: writes fail for a moment, then go on; every
// acknowledged write is there and nothing half-written is.
func TestConnectionsKilled(t *testing.T) {
	t.Parallel()
	dsn, schema := pgtest.Schema(t)
	app := "weft_kill_" + schema
	dsn += "&application_name=" + app
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, &postgres.Options{MaxReadConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake, err := st.Listen(lctx)
	if err != nil {
		t.Fatal(err)
	}
	const streams, perStream = 8, 40
	var acked sync.Map // stream -> last acknowledged version
	var total atomic.Int64
	progress := make(chan struct{}, streams*perStream)
	var wg sync.WaitGroup
	for s := range streams {
		wg.Go(func() {
			stream := fmt.Sprint("k-", s)
			v := int64(0)
			for v < perStream {
				// Two events per append: both or neither must be visible.
				_, err := st.Append(ctx, &store.AppendParams{Stream: stream, ExpectedVersion: weftype.AnyVersion,
					Events: []weftype.NewEvent{{Type: "A"}, {Type: "B"}}})
				if err == nil {
					v++
					acked.Store(stream, v)
					total.Add(1)
					progress <- struct{}{}
				}
			}
		})
	}
	// Kill the store's connections at a quarter, half and three quarters of
	// the writes.
	killed := 0
	for n := 1; n <= streams*perStream; n++ {
		<-progress
		if n == (killed+1)*streams*perStream/4 && killed < 3 {
			killed++
			if k := count(t, pgtest.DSN(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = '`+app+`'`); k == 0 {
				t.Fatal("no connection of the store to terminate")
			}
		}
	}
	wg.Wait()
	for s := range streams {
		stream := fmt.Sprint("k-", s)
		evs, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: stream})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := acked.Load(stream)
		if int64(len(evs)) < 2*v.(int64) {
			t.Fatalf("stream %s has %d events, %d appends were acknowledged", stream, len(evs), v)
		}
		if len(evs)%2 != 0 {
			t.Fatalf("stream %s has %d events: an append was half-written", stream, len(evs))
		}
		for i, e := range evs {
			if e.Version != int64(i+1) || e.Type != []string{"A", "B"}[i%2] {
				t.Fatalf("stream %s event %d = v%d %s", stream, i, e.Version, e.Type)
			}
		}
	}
	// The listener reconnected: a notification gets through again.
	drain(wake)
	deadline := time.After(20 * time.Second)
	for got := false; !got; {
		if err := st.Notify(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wake:
			got = true
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notification after the connections were killed")
		}
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func exec(t *testing.T, dsn, q string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func count(t *testing.T, dsn, q string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestStalledWriterCutOff stalls a store in the middle of a write
// transaction (as a paused process would be): another store's writes, which
// take turns with it, go on once WriteStallTimeout has passed, and the
// stalled store's write fails without leaving anything behind, and its next
// write succeeds.
func TestStalledWriterCutOff(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	ctx := context.Background()
	stalled, err := postgres.Open(ctx, dsn, &postgres.Options{WriteStallTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	other, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	inTx, resume := make(chan struct{}), make(chan struct{})
	stalledErr := make(chan error, 1)
	go func() {
		stalledErr <- stalled.Exec(ctx, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE half (x int)`); err != nil {
				return err
			}
			close(inTx)
			<-resume // paused here, holding the write turn
			_, err := tx.ExecContext(ctx, `INSERT INTO half VALUES (1)`)
			return err
		})
	}()
	<-inTx
	done := make(chan error, 1)
	go func() {
		_, err := other.Append(ctx, &store.AppendParams{Stream: "s", Events: []weftype.NewEvent{{Type: "E"}}})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the other store's write waited for the stalled one for 20s")
	}
	close(resume)
	if err := <-stalledErr; err == nil {
		t.Fatal("the stalled write succeeded after its session was ended")
	}
	if n := count(t, dsn, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'half'`); n != 0 {
		t.Fatal("the stalled, failed write left its table behind")
	}
	if _, err := stalled.Append(ctx, &store.AppendParams{Stream: "s", ExpectedVersion: 1, Events: []weftype.NewEvent{{Type: "E"}}}); err != nil {
		t.Fatalf("the stalled store's next write: %v", err)
	}
}

func TestUpgradeFromVersion3(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.Schema(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := postgres.MigrateTo(context.Background(), db, 3); err != nil {
		t.Fatal(err)
	}
	storetest.RunUpgradeFromVersion3(t, storetest.Version3{
		Exec: func(t *testing.T, q string, args ...any) {
			if _, err := db.Exec(sqlstore.RebindDollar(q), args...); err != nil {
				t.Fatal(err)
			}
		},
		Open: func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	})
}
