package groupcommit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/weftrun/weft/internal/testwait"
)

func newDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "gc.db")+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// sqlTx drives a *sql.Tx as a Tx.
type sqlTx struct{ *sql.Tx }

func (tx sqlTx) Savepoint() error           { return tx.exec("SAVEPOINT w") }
func (tx sqlTx) RollbackToSavepoint() error { return tx.exec("ROLLBACK TO SAVEPOINT w") }
func (tx sqlTx) ReleaseSavepoint() error    { return tx.exec("RELEASE SAVEPOINT w") }

func (tx sqlTx) exec(q string) error {
	_, err := tx.Exec(q)
	return err
}

func newCommitter(db *sql.DB, opts Options) *Committer[sqlTx] {
	return New(func(ctx context.Context) (sqlTx, error) {
		tx, err := db.BeginTx(ctx, nil)
		return sqlTx{tx}, err
	}, opts)
}

func insert(k string) func(sqlTx) error {
	return func(tx sqlTx) error {
		_, err := tx.Exec(`INSERT INTO t (k) VALUES (?)`, k)
		return err
	}
}

func keys(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query(`SELECT k FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		m[k] = true
	}
	return m
}

// waitQueued waits until n requests are queued behind a blocked batch.
func waitQueued[T Tx](t *testing.T, c *Committer[T], n int) {
	t.Helper()
	testwait.Until(t, testwait.Timeout, func() (bool, string) {
		c.mu.Lock()
		k := len(c.queue)
		c.mu.Unlock()
		return k >= n, fmt.Sprintf("%d requests queued, want %d", k, n)
	})
}

// blockCommitter submits a write that holds the committer until the returned
// function is called, and returns once it runs.
func blockCommitter(t *testing.T, c *Committer[sqlTx]) (unblock func(), done <-chan error) {
	started, release := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- c.Do(context.Background(), func(tx sqlTx) error {
			close(started)
			<-release
			return insert("blocker")(tx)
		})
	}()
	<-started
	return func() { close(release) }, errc
}

func TestBatchWithFailingWrite(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := newCommitter(db, Options{})
	defer c.Close()
	unblock, blocked := blockCommitter(t, c)

	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			if i == 2 {
				errs[i] = c.Do(context.Background(), func(tx sqlTx) error {
					if err := insert("undone")(tx); err != nil {
						return err
					}
					return errors.New("boom")
				})
				return
			}
			errs[i] = c.Do(context.Background(), insert(fmt.Sprint("k", i)))
		})
	}
	waitQueued(t, c, len(errs))
	unblock()
	wg.Wait()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if (i == 2) != (err != nil) {
			t.Errorf("write %d: error %v", i, err)
		}
	}
	got := keys(t, db)
	if got["undone"] || !got["k0"] || !got["k4"] || len(got) != 5 {
		t.Errorf("rows = %v, want blocker and k0..k4 without k2 and undone", got)
	}
	st := c.Stats()
	if st.Batches != 2 || st.Writes != 6 || st.MaxBatch != 5 || st.Sizes[0] != 1 || st.Sizes[2] != 1 {
		t.Errorf("stats = %+v, want 2 batches (1 and 5 writes)", st)
	}
}

func TestCommitFailureFailsTheBatch(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if _, err := db.Exec(`CREATE TABLE child (k TEXT REFERENCES t (k) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	c := newCommitter(db, Options{})
	defer c.Close()
	unblock, blocked := blockCommitter(t, c)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			fn := insert(fmt.Sprint("k", i))
			if i == 1 {
				// A deferred foreign key fails at COMMIT only.
				fn = func(tx sqlTx) error {
					_, err := tx.Exec(`INSERT INTO child (k) VALUES ('missing')`)
					return err
				}
			}
			errs[i] = c.Do(context.Background(), fn)
		})
	}
	waitQueued(t, c, len(errs))
	unblock()
	wg.Wait()
	<-blocked
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d succeeded in a batch whose COMMIT failed", i)
		}
	}
	if got := keys(t, db); got["k0"] || got["k2"] {
		t.Errorf("rows of a failed batch were written: %v", got)
	}
}

func TestCancelWhileQueued(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := newCommitter(db, Options{})
	defer c.Close()
	unblock, blocked := blockCommitter(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Do(ctx, insert("cancelled")) }()
	waitQueued(t, c, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with a cancelled context: %v", err)
	}
	unblock()
	<-blocked
	if err := c.Do(context.Background(), insert("after")); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, db); got["cancelled"] || !got["after"] {
		t.Errorf("rows = %v", got)
	}
}

func TestCloseFlushes(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := newCommitter(db, Options{MaxSize: 3})
	unblock, blocked := blockCommitter(t, c)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { errs[i] = c.Do(context.Background(), insert(fmt.Sprint("k", i))) })
	}
	waitQueued(t, c, len(errs))
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	unblock()
	<-closed
	wg.Wait()
	<-blocked
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued write %d: %v", i, err)
		}
	}
	if n := len(keys(t, db)); n != 11 {
		t.Errorf("%d rows after Close, want 11", n)
	}
	if st := c.Stats(); st.MaxBatch != 3 {
		t.Errorf("MaxBatch = %d with MaxSize 3", st.MaxBatch)
	}
	if err := c.Do(context.Background(), insert("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v, want ErrClosed", err)
	}
}

func TestMaxDelayGathersWrites(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := newCommitter(db, Options{MaxDelay: time.Minute, MaxSize: 4})
	defer c.Close()
	// With a long delay, the batch commits when it is full: 4 writes, one batch.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if err := c.Do(context.Background(), insert(fmt.Sprint("k", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Batches != 1 || st.Writes != 4 {
		t.Errorf("stats = %+v, want one batch of 4", st)
	}
}

func TestPanicBecomesError(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := newCommitter(db, Options{})
	defer c.Close()
	err := c.Do(context.Background(), func(sqlTx) error { panic("bad write") })
	if err == nil {
		t.Fatal("a panicking write returned nil")
	}
	if err := c.Do(context.Background(), insert("ok")); err != nil {
		t.Fatalf("the committer did not survive a panic: %v", err)
	}
}

// TestCloseWaitsForCallerBatch checks that Close waits for a lone write that
// runs on its caller's goroutine, and that writes queued behind it commit.
func TestCloseWaitsForCallerBatch(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := newCommitter(db, Options{})
	unblock, blocked := blockCommitter(t, c)
	queued := make(chan error, 1)
	go func() { queued <- c.Do(context.Background(), insert("queued")) }()
	waitQueued(t, c, 1)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a write was running")
	case <-time.After(50 * time.Millisecond):
	}
	unblock()
	<-closed
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	if err := <-queued; err != nil {
		t.Fatal(err)
	}
	if got := keys(t, db); !got["blocker"] || !got["queued"] {
		t.Errorf("rows after Close: %v", got)
	}
}

// countingTx counts the savepoints a batch takes.
type countingTx struct {
	sqlTx
	savepoints *atomic.Int32
}

func (tx countingTx) Savepoint() error {
	tx.savepoints.Add(1)
	return tx.sqlTx.Savepoint()
}

// Atomic writes run without a savepoint; a failing one leaves the other
// writes of its batch alone (it promised to change nothing), while a
// failing plain write is rolled back to its savepoint as usual.
func TestAtomicWritesTakeNoSavepoint(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	var savepoints atomic.Int32
	c := New(func(ctx context.Context) (countingTx, error) {
		tx, err := db.BeginTx(ctx, nil)
		return countingTx{sqlTx{tx}, &savepoints}, err
	}, Options{})
	defer c.Close()
	started, release := make(chan struct{}), make(chan struct{})
	blocked := make(chan error, 1)
	go func() {
		blocked <- c.Do(context.Background(), func(tx countingTx) error {
			close(started)
			<-release
			return insert("blocker")(tx.sqlTx)
		})
	}()
	<-started
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			switch i {
			case 1: // atomic and failing: writes nothing
				errs[i] = c.DoAtomic(context.Background(), func(countingTx) error { return errors.New("refused") })
			case 3: // plain: takes a savepoint
				errs[i] = c.Do(context.Background(), func(tx countingTx) error { return insert("plain")(tx.sqlTx) })
			default:
				errs[i] = c.DoAtomic(context.Background(), func(tx countingTx) error { return insert(fmt.Sprint("a", i))(tx.sqlTx) })
			}
		})
	}
	waitQueued(t, c, len(errs))
	close(release)
	wg.Wait()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if (i == 1) != (err != nil) {
			t.Errorf("write %d: error %v", i, err)
		}
	}
	if got := keys(t, db); !got["a0"] || !got["a2"] || !got["plain"] || !got["blocker"] || len(got) != 4 {
		t.Errorf("rows = %v, want blocker, a0, a2 and plain", got)
	}
	if n := savepoints.Load(); n != 1 {
		t.Errorf("%d savepoints taken, want 1 (the plain write's)", n)
	}
}
