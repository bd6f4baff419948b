package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/store/storetest"
	"github.com/weftrun/weft/weftype"
)

func open(t *testing.T, path string, opts *sqlite.Options) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "weft.db"), nil)
	})
}

// TestTwoStoresOneFile writes concurrently through two Stores on one file, as
// two processes would: no write is lost and versions stay gapless.
func TestTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "weft.db")
	a := open(t, path, nil)
	defer a.Close()
	b := open(t, path, &sqlite.Options{Client: true})
	defer b.Close()
	ctx := context.Background()

	const perStore, writers = 40, 8
	var wg sync.WaitGroup
	errc := make(chan error, 2*writers)
	for i, st := range []*sqlite.Store{a, b} {
		for w := range writers {
			wg.Go(func() {
				stream := fmt.Sprintf("s%d-%d", i, w)
				for n := range perStore / writers {
					if _, err := st.Append(ctx, &store.AppendParams{Stream: stream, ExpectedVersion: int64(n),
						Events: []weftype.NewEvent{{Type: "E"}}}); err != nil {
						errc <- err
						return
					}
					// Both stores also fight over one stream.
					for {
						evs, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: "shared"})
						if err != nil {
							errc <- err
							return
						}
						_, err = st.Append(ctx, &store.AppendParams{Stream: "shared", ExpectedVersion: int64(len(evs)),
							Events: []weftype.NewEvent{{Type: "E", Data: []byte(stream + fmt.Sprint(n))}}})
						if errors.Is(err, weftype.ErrConflict) {
							continue
						}
						if err != nil {
							errc <- err
							return
						}
						break
					}
				}
			})
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	all, err := a.ReadAll(ctx, &store.ReadAllParams{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 2 * perStore; len(all) != want {
		t.Fatalf("%d events in the log, want %d", len(all), want)
	}
	shared, err := b.ReadStream(ctx, &store.ReadStreamParams{Stream: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range shared {
		if e.Version != int64(i+1) || seen[string(e.Data)] {
			t.Fatalf("shared event %d: version %d, data %q (duplicate: %v)", i, e.Version, e.Data, seen[string(e.Data)])
		}
		seen[string(e.Data)] = true
	}
	if len(shared) != 2*perStore {
		t.Fatalf("shared stream has %d events, want %d", len(shared), 2*perStore)
	}
}

// TestExecutorLock checks that the process that opens a file first holds
// its executor lock until Close: another Store opened to execute fails at
// Open, one opened as a client works but cannot execute; one engine at a
// time executes on the holder.
func TestExecutorLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "weft.db")
	a := open(t, path, nil)
	defer a.Close()
	ctx := context.Background()
	if _, err := sqlite.Open(ctx, path, nil); !errors.Is(err, weftype.ErrExecutorBusy) {
		t.Fatalf("second Open to execute: %v, want ErrExecutorBusy", err)
	}
	b := open(t, path, &sqlite.Options{Client: true})
	defer b.Close()
	if _, err := b.AcquireExecutor(ctx); err == nil || errors.Is(err, weftype.ErrExecutorBusy) {
		t.Fatalf("AcquireExecutor of a client: %v, want an error saying it was opened as a client", err)
	}

	release, err := a.AcquireExecutor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireExecutor(ctx); !errors.Is(err, weftype.ErrExecutorBusy) {
		t.Fatalf("second AcquireExecutor: %v, want ErrExecutorBusy", err)
	}
	release()
	release() // idempotent
	releaseA, err := a.AcquireExecutor(ctx)
	if err != nil {
		t.Fatalf("AcquireExecutor after release: %v", err)
	}
	releaseA()
	// Close releases the lock.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireExecutor(ctx); !errors.Is(err, weftype.ErrStoreClosed) {
		t.Fatalf("AcquireExecutor after Close: %v, want ErrStoreClosed", err)
	}
	c := open(t, path, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenGivesLeasesBack opens a file whose runs and consumer partitions
// are leased to a process that is gone (its Store was not closed cleanly:
// its leases stay): the next Open to execute gives them back, so they can be
// claimed at once; an Open as a client leaves them.
func TestOpenGivesLeasesBack(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "weft.db")
	ctx := context.Background()
	now := time.Now()
	st := open(t, path, nil)
	for _, id := range []string{"r1", "r2"} {
		if _, err := st.CreateRun(ctx, &store.CreateRunParams{ID: id, Workflow: "w", Events: []weftype.NewEvent{{Type: "Started"}}, Time: now}); err != nil {
			t.Fatal(err)
		}
	}
	if runs, err := st.ClaimRuns(ctx, &store.ClaimRunsParams{Owner: "dead", Now: now, LeaseFor: time.Hour, Limit: 10}); err != nil || len(runs) != 2 {
		t.Fatalf("claim: %d runs, %v", len(runs), err)
	}
	if _, err := st.RegisterConsumer(ctx, &store.RegisterConsumerParams{Name: "c", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	if c, err := st.ClaimPartitions(ctx, &store.ClaimPartitionsParams{Name: "c", Owner: "dead", Now: now, LeaseFor: time.Hour}); err != nil || len(c.Held) != 2 {
		t.Fatalf("claim partitions: %+v, %v", c, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	client := open(t, path, &sqlite.Options{Client: true})
	if r, err := client.GetRun(ctx, &store.GetRunParams{ID: "r1"}); err != nil || r.LeaseOwner != "dead" {
		t.Fatalf("after a client's Open: run %+v, %v; want still leased", r, err)
	}
	client.Close()

	st = open(t, path, nil)
	defer st.Close()
	runs, err := st.ClaimRuns(ctx, &store.ClaimRunsParams{Owner: "new", Now: now, LeaseFor: time.Hour, Limit: 10})
	if err != nil || len(runs) != 2 {
		t.Fatalf("claim after reopening: %d runs, %v; want both at once", len(runs), err)
	}
	c, err := st.ClaimPartitions(ctx, &store.ClaimPartitionsParams{Name: "c", Owner: "new", Now: now, LeaseFor: time.Hour})
	if err != nil || len(c.Held) != 2 || c.Members != 1 {
		t.Fatalf("claim partitions after reopening: %+v, %v; want both, one member", c, err)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// dirNames lists the files next to path, to check that a refused Open left no
// -wal, -shm or lock file behind.
func dirNames(t *testing.T, path string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestNotAWeftStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("not SQLite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "notes.txt")
		content := bytes.Repeat([]byte("these are not the pages you are looking for\n"), 200)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := sqlite.Open(ctx, path, nil)
		if !errors.Is(err, weftype.ErrNotWeftStore) {
			t.Fatalf("Open of a text file: %v, want ErrNotWeftStore", err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, content) {
			t.Fatal("Open modified the text file")
		}
		if names := dirNames(t, path); len(names) != 1 {
			t.Fatalf("Open left files behind: %v", names)
		}
	})

	t.Run("other SQLite database", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "app.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ada')`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		before := fileHash(t, path)
		_, err = sqlite.Open(ctx, path, nil)
		if !errors.Is(err, weftype.ErrNotWeftStore) {
			t.Fatalf("Open of another app's database: %v, want ErrNotWeftStore", err)
		}
		if fileHash(t, path) != before {
			t.Fatal("Open modified the other database")
		}
		if names := dirNames(t, path); len(names) != 1 {
			t.Fatalf("Open left files behind: %v", names)
		}
	})
}

func TestNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	st := open(t, path, nil)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO weft_schema_version (version_id, is_applied) VALUES (999, TRUE)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fileHash(t, path)
	_, err = sqlite.Open(ctx, path, nil)
	var sve *weftype.SchemaVersionError
	if !errors.As(err, &sve) || sve.Current != 999 || sve.Known < 1 {
		t.Fatalf("Open of a newer schema: %v, want *weftype.SchemaVersionError{Current: 999}", err)
	}
	if fileHash(t, path) != before {
		t.Fatal("Open modified a store with a newer schema")
	}
}

func TestMustExist(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := sqlite.Open(ctx, path, &sqlite.Options{MustExist: true})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(MustExist) of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(MustExist) created the file: %v", err)
	}
	st := open(t, path, nil)
	st.Close()
	st = open(t, path, &sqlite.Options{MustExist: true})
	st.Close()
}

// TestReopen checks that data survives Close and Open, and that reopening
// does not migrate again.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	st := open(t, path, nil)
	if _, err := st.CreateRun(ctx, &store.CreateRunParams{ID: "r", Workflow: "w", Events: []weftype.NewEvent{{Type: "Started"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); !errors.Is(err, weftype.ErrStoreClosed) {
		t.Errorf("second Close: %v", err)
	}
	st = open(t, path, nil)
	defer st.Close()
	r, err := st.GetRun(ctx, &store.GetRunParams{ID: "r"})
	if err != nil || r.Version != 1 {
		t.Fatalf("GetRun after reopen = %+v, %v", r, err)
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "weft.db")
	for _, o := range []*sqlite.Options{
		{BatchMaxSize: -1}, {BatchMaxDelay: -time.Second}, {BusyTimeout: -time.Second}, {Durability: 7},
	} {
		if _, err := sqlite.Open(context.Background(), path, o); err == nil {
			t.Errorf("Open with %+v: no error", o)
		}
	}
	if _, err := sqlite.Open(context.Background(), "", nil); err == nil {
		t.Error("Open with an empty path: no error")
	}
}

// TestPathNeedsEscaping opens a file whose name holds URI syntax.
func TestPathNeedsEscaping(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "we?ft#1%20.db")
	st := open(t, path, nil)
	st.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the store is not at its path: %v", err)
	}
}

func TestUpgradeFromVersion3(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "weft.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlite.MigrateTo(context.Background(), db, 3); err != nil {
		t.Fatal(err)
	}
	storetest.RunUpgradeFromVersion3(t, storetest.Version3{
		Exec: func(t *testing.T, q string, args ...any) {
			if _, err := db.Exec(q, args...); err != nil {
				t.Fatal(err)
			}
		},
		Open: func(t *testing.T) store.Store {
			// As a client: an executor's Open gives the old lease back.
			st := open(t, path, &sqlite.Options{Client: true})
			t.Cleanup(func() { st.Close() })
			return st
		},
	})
}
