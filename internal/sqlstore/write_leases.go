package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// RenewLease implements store.Store: RenewLeases of one lease.
func (s *Store) RenewLease(ctx context.Context, p *store.RenewLeaseParams) error {
	res, err := s.RenewLeases(ctx, &store.RenewLeasesParams{
		Leases: []store.RunLease{{RunID: p.RunID, Token: p.LeaseToken}}, Until: p.Until,
	})
	if err != nil {
		return err
	}
	if len(res.Lost) > 0 {
		return fmt.Errorf("renew lease of run %q with token %d: %w", p.RunID, p.LeaseToken, weftype.ErrLeaseLost)
	}
	return nil
}

// RenewLeases implements store.Store. With a Leases pool (PostgreSQL) it
// runs there, outside the write transactions and their lock
// (renewLeasesAside); otherwise (SQLite) it is one write of the writer.
func (s *Store) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	if s.closed.Load() {
		return nil, weftype.ErrStoreClosed
	}
	if len(p.Leases) == 0 {
		return &store.RenewLeasesResult{}, nil
	}
	if s.leases != nil {
		return s.renewLeasesAside(ctx, p)
	}
	type lease struct {
		ID    string `json:"i"`
		Token int64  `json:"t"`
	}
	ls := make([]lease, len(p.Leases))
	for i, l := range p.Leases {
		ls[i] = lease{l.RunID, l.Token}
	}
	list, err := json.Marshal(ls)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	renewed := make(map[string]bool, len(p.Leases))
	err = s.write(ctx, func(w *wtx) error {
		clear(renewed)
		// The leases go as one JSON array: one statement and one prepared
		// query whatever their number.
		rows, err := w.query(`UPDATE runs SET lease_expires = ?
			FROM (SELECT json_extract(value, '$.i') AS id, json_extract(value, '$.t') AS token FROM json_each(?)) AS l
			WHERE runs.id = l.id AND runs.lease_token = l.token AND runs.lease_owner <> '' RETURNING runs.id`,
			nanos(p.Until), string(list))
		if err != nil {
			return fmt.Errorf("renew leases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("renew leases: %w", err)
			}
			renewed[id] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	res := &store.RenewLeasesResult{}
	for _, l := range p.Leases {
		if !renewed[l.RunID] {
			res.Lost = append(res.Lost, l)
		}
	}
	return res, nil
}

// ReleaseAllLeases gives back every lease in the store, of runs and of
// consumer partitions, and forgets the members of consumer groups: an
// embedded store calls it once it holds the lock that makes its process the
// only one to execute, which proves that whoever held them is gone. Their
// runs and partitions can be claimed at once, without waiting for the
// leases to run out; the lease tokens stay, so that a write under a lease
// given back is still refused.
func (s *Store) ReleaseAllLeases(ctx context.Context) error {
	return s.write(ctx, func(w *wtx) error {
		for _, q := range []string{
			`UPDATE runs SET lease_owner = '', lease_expires = NULL WHERE lease_owner <> ''`,
			`UPDATE consumer_partitions SET lease_owner = '', lease_expires = 0 WHERE lease_owner <> ''`,
			`DELETE FROM consumer_members`,
		} {
			if _, err := w.exec(q); err != nil {
				return fmt.Errorf("release all leases: %w", err)
			}
		}
		return nil
	})
}

// renewLeasesSQL renews the leases of PostgreSQL's RenewLeases in one
// statement that never waits for a row lock: the rows a write transaction
// has locked (a commit or a signal of the run in flight) are skipped, so
// that the renewal cannot deadlock with the writes nor queue behind them.
// It returns the leases it did not renew, each with whether it is held
// (then it was skipped) by the statement's snapshot.
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

// renewLeasesAside runs RenewLeases on the Leases pool, in autocommit
// statements: renewLeasesSQL for all, then renewOneSQL for each lease it
// skipped, which waits only for the write that holds that run's row (at
// most the store's write stall timeout).
func (s *Store) renewLeasesAside(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	ids := make([]string, len(p.Leases))
	tokens := make([]int64, len(p.Leases))
	for i, l := range p.Leases {
		ids[i], tokens[i] = l.RunID, l.Token
	}
	until := nanos(p.Until)
	rows, err := s.leases.QueryContext(ctx, renewLeasesSQL, ids, tokens, until)
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
		r, err := s.leases.ExecContext(ctx, renewOneSQL, until, l.RunID, l.Token)
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
