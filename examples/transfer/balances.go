package transfer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// BalancesProjection is the name of the balances view's projection; its table
// is wallet_balances.
const BalancesProjection = "wallet-balances"

// ErrNotInView is returned by Transfers.Balance for a wallet the view lacks.
var ErrNotInView = errors.New("transfer: wallet not in the balances view")

func registerBalances(e *weft.Engine) {
	weft.RegisterProjection(e, weft.ProjectionDef{
		Name:         BalancesProjection,
		StreamPrefix: weftype.StreamName(WalletEntity, ""),
		Setup: func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS wallet_balances (
				wallet  TEXT PRIMARY KEY,
				owner   TEXT NOT NULL,
				balance BIGINT NOT NULL,
				version BIGINT NOT NULL)`); err != nil {
				return err
			}
			// The transfers table is written by the workflow's "record"
			// step; creating it here too lets Recorded read it at once.
			_, err := tx.ExecContext(ctx, createTransfers)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			return applyBalance(ctx, e, tx, ev)
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM wallet_balances`)
			return err
		},
	})
}

// applyBalance applies one wallet event to the view, exactly once (the
// projection commits it with its checkpoint).
func applyBalance(ctx context.Context, e *weft.Engine, tx store.Tx, ev weftype.Event) error {
	wallet := ev.Stream[len(WalletEntity)+1:]
	add := func(delta Money) error {
		_, err := tx.ExecContext(ctx, `UPDATE wallet_balances SET balance = balance + ?, version = ? WHERE wallet = ?`, int64(delta), ev.Version, wallet)
		return err
	}
	switch ev.Type {
	case TypeOpened:
		o, err := weft.Decode[WalletOpened](e, ev)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO wallet_balances (wallet, owner, balance, version) VALUES (?, ?, ?, ?)`, wallet, o.Owner, int64(o.Initial), ev.Version)
		return err
	case TypeDeposited:
		d, err := weft.Decode[MoneyDeposited](e, ev)
		if err != nil {
			return err
		}
		return add(d.Amount)
	case TypeWithdrawn:
		w, err := weft.Decode[MoneyWithdrawn](e, ev)
		if err != nil {
			return err
		}
		return add(-w.Amount)
	}
	return nil
}

// Balance returns a wallet's balance as the balances view shows it.
func (t *Transfers) Balance(ctx context.Context, wallet string) (Money, error) {
	var b int64
	err := t.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT balance FROM wallet_balances WHERE wallet = ?`, wallet).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotInView, wallet)
		}
		return err
	})
	return Money(b), err
}

// Balances returns every wallet's balance as the balances view shows it.
func (t *Transfers) Balances(ctx context.Context) (map[string]Money, error) {
	out := map[string]Money{}
	err := t.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT wallet, balance FROM wallet_balances`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var w string
			var b int64
			if err := rows.Scan(&w, &b); err != nil {
				return err
			}
			out[w] = Money(b)
		}
		return rows.Err()
	})
	return out, err
}
