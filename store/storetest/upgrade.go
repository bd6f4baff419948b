package storetest

import (
	"context"
	"testing"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// Version3 is what RunUpgradeFromVersion3 needs of a store: a database at
// schema version 3 (the last before consumer partitions) and a way to open
// the store on it.
type Version3 struct {
	// Exec runs a statement, with ? placeholders, on the database at
	// version 3.
	Exec func(t *testing.T, query string, args ...any)
	// Open opens the store on the database, which migrates it.
	Open func(t *testing.T) store.Store
}

// RunUpgradeFromVersion3 writes a consumer and events the way version 3 of
// the schema held them, opens the store, and checks that nothing was lost:
// the consumer's checkpoint, stop error and lease token became partition
// 0's, and every old event has its stream's hash, so that partitioned reads
// find it.
func RunUpgradeFromVersion3(t *testing.T, db Version3) {
	streams := []string{"acct:1", "acct:2", "acct:3", "booking:9", "run:x", "s"}
	for i, s := range streams {
		db.Exec(t, `INSERT INTO streams (stream, version) VALUES (?, 1)`, s)
		db.Exec(t, `INSERT INTO events (stream, version, type, data, tags, time) VALUES (?, 1, 'E', ?, NULL, ?)`, s, []byte(`{}`), int64(1000+i))
	}
	db.Exec(t, `INSERT INTO consumers (name, settings, position, stop_error, lease_token, updated_at, lease_owner, lease_expires)
		VALUES ('c', ?, 4, 'stuck', 7, 1, 'w1', 99)`, []byte(`{"kind":"consumer"}`))

	st := db.Open(t)
	ctx := context.Background()
	c, err := st.GetConsumer(ctx, &store.GetConsumerParams{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Partitions) != 1 || c.Position != 4 || c.StopError != "stuck" || string(c.Settings) != `{"kind":"consumer"}` {
		t.Fatalf("consumer after the upgrade = %+v", c)
	}
	if p := c.Partitions[0]; p.Position != 4 || p.LeaseToken != 7 || p.Owner != "w1" {
		t.Errorf("partition 0 after the upgrade = %+v, want position 4, token 7, owner w1", p)
	}
	// The old consumer goes on with its old checkpoint and token.
	if err := st.CommitCheckpoint(ctx, &store.CommitCheckpointParams{Name: "c", Position: 5, LeaseToken: 7}); err != nil {
		t.Errorf("commit with the old lease token: %v", err)
	}
	seen := map[string]bool{}
	for part := range 3 {
		evs, err := st.ReadAll(ctx, &store.ReadAllParams{Partitions: 3, Partition: part})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if want := weftype.StreamPartition(ev.Stream, 3); want != part {
				t.Errorf("old event of %s read in partition %d, want %d", ev.Stream, part, want)
			}
			seen[ev.Stream] = true
		}
	}
	if len(seen) != len(streams) {
		t.Errorf("partitioned reads found the old events of %d streams, want %d", len(seen), len(streams))
	}
}
