package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// RenewLeases implements store.Store. A dialect that is a LeaseRenewer
// (PostgreSQL) renews them itself, outside the write transactions and
// their lock; otherwise (SQLite) they are renewed in one write, with the
// dialect's LeaseStatement.
func (s *Store) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) (*store.RenewLeasesResult, error) {
	if s.closed.Load() {
		return nil, weftype.ErrStoreClosed
	}
	if len(p.Leases) == 0 {
		return &store.RenewLeasesResult{}, nil
	}
	var q string
	var args []any
	switch d := s.d.(type) {
	case LeaseRenewer:
		return d.RenewLeases(ctx, p)
	case LeaseStatement:
		q, args = d.RenewLeases(p.Leases, nanos(p.Until))
	default:
		return nil, errors.New("weft: renew leases: the store's dialect cannot renew leases")
	}
	renewed := make(map[string]bool, len(p.Leases))
	err := s.write(ctx, func(w *wtx) error {
		clear(renewed)
		rows, err := w.query(q, args...)
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
// given back is still refused. A run's lease is ended (expired now) rather
// than cleared, so that the claim that takes the run over sees whose it
// was (weftype.Run.TakenOverFrom).
func (s *Store) ReleaseAllLeases(ctx context.Context) error {
	return s.write(ctx, func(w *wtx) error {
		for _, q := range []string{
			`UPDATE runs SET lease_expires = 0 WHERE lease_owner <> ''`,
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

// selectClaimedFrom is runSelect reading the runs of table claimed, with
// one more column: the lease owner before the claim, from the rows of
// table picked (id, lease_owner), for scanClaimed.
func selectClaimedFrom(claimed, picked string) string {
	return strings.Replace(runSelect, "FROM runs r",
		", pk.lease_owner FROM "+claimed+" r JOIN "+picked+" pk ON pk.id = r.id", 1)
}

// scanClaimed scans a row of selectClaimedFrom: a run that a claim by
// owner leased, and the lease owner before, which makes the run
// TakenOverFrom that owner when it was another worker.
func scanClaimed(sc scanner, owner string) (*weftype.Run, error) {
	var before string
	r, err := scanRun(scanFunc(func(dest ...any) error { return sc.Scan(append(dest, &before)...) }))
	if err != nil {
		return nil, err
	}
	r.TakenOverFrom = takenOverFrom(before, owner)
	return r, nil
}

// takenOverFrom is the worker a claim by owner took a run over from, the
// run's lease owner before being before: "" when the lease was free (a
// claim only takes a held lease once it expired) or owner's own.
func takenOverFrom(before, owner string) string {
	if before == owner {
		return ""
	}
	return before
}
