package storetest

import (
	"context"
	"testing"

	"github.com/weftrun/weft/store"
)

func testExecAndRead(t *testing.T, h *harness) {
	createTable(h, "kv")
	h.ok(h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?), (?, ?)`, "a", 1, "b", 2)
		return err
	}))
	err := h.st.Exec(h.ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, "c", 3); err != nil {
			return err
		}
		return errApply
	})
	wantErrIs(t, "Exec with an error", err, errApply)
	var sum, n int
	h.ok(h.st.Read(h.ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT v FROM kv WHERE v >= ? ORDER BY k`, 0)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			sum += v
			n++
		}
		return rows.Err()
	}))
	if n != 2 || sum != 3 {
		t.Errorf("read %d rows summing %d, want 2 rows summing 3 (the failed Exec rolled back)", n, sum)
	}
	err = h.st.Read(h.ctx, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ('z', 9)`)
		return err
	})
	if err == nil {
		t.Error("a write in Read succeeded")
	}
}
