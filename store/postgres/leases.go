package postgres

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/store"
)

// renewLeasesSQL renews the leases of RenewLeases in one statement that
// never waits for a row lock: the rows a write transaction has locked (a
// commit or a signal of the run in flight) are skipped, so that the renewal
// cannot deadlock with the writes nor queue behind them. It returns the
// leases it did not renew, each with whether it is held (then it was
// skipped) by the statement's snapshot.
const renewLeasesSQL = `WITH l AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS l(id, token)),
	k AS (SELECT r.id FROM runs r JOIN l ON r.id = l.id AND r.lease_token = l.token
		WHERE r.lease_owner <> '' FOR UPDATE OF r SKIP LOCKED),
	u AS (UPDATE runs SET lease_expires = $3 FROM k WHERE runs.id = k.id RETURNING runs.id)
	SELECT l.id, l.token, COALESCE(r.lease_token = l.token AND r.lease_owner <> '', FALSE)
	FROM l LEFT JOIN u ON u.id = l.id LEFT JOIN runs r ON r.id = l.id WHERE u.id IS NULL`

// renewOneSQL renews one lease, waiting for the row's lock if a write
// holds it. It waits for nothing else, holding no other lock, so it cannot
// deadlock.
const renewOneSQL = `UPDATE runs SET lease_expires = $1 WHERE id = $2 AND lease_token = $3 AND lease_owner <> ''`

// RenewLeases implements sqlstore.LeaseRenewer. It runs on the leases pool,
// outside the write transactions and their lock, in autocommit statements:
// renewLeasesSQL for all, then renewOneSQL for each lease it skipped, which
// waits only for the write that holds that run's row (at most the store's
// write stall timeout). A worker's heartbeat so never waits for the writes
// queued before it.
func (d dialect) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	ids := make([]string, len(p.Leases))
	tokens := make([]int64, len(p.Leases))
	for i, l := range p.Leases {
		ids[i], tokens[i] = l.RunID, l.Token
	}
	until := p.Until.UnixNano()
	rows, err := d.leases.QueryContext(ctx, renewLeasesSQL, ids, tokens, until)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	res := &store.RenewLeasesResult{}
	var skipped []store.RunLease
	for rows.Next() {
		var l store.RunLease
		var held bool
		if err := rows.Scan(&l.RunID, &l.Token, &held); err != nil {
			rows.Close()
			return nil, fmt.Errorf("renew leases: %w", err)
		}
		if held {
			skipped = append(skipped, l)
		} else {
			res.Lost = append(res.Lost, l)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	for _, l := range skipped {
		r, err := d.leases.ExecContext(ctx, renewOneSQL, until, l.RunID, l.Token)
		if err != nil {
			return nil, fmt.Errorf("renew lease of run %q: %w", l.RunID, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return nil, fmt.Errorf("renew lease of run %q: %w", l.RunID, err)
		} else if n == 0 {
			res.Lost = append(res.Lost, l)
		}
	}
	return res, nil
}
