package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ClaimPartitions implements store.Store.
func (s *Store) ClaimPartitions(ctx context.Context, p *store.ClaimPartitionsParams) (*store.PartitionClaim, error) {
	if p.Owner == "" {
		return nil, fmt.Errorf("weft: claim partitions of %q: empty owner", p.Name)
	}
	var out *store.PartitionClaim
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.claimPartitions(p)
		if err != nil {
			return fmt.Errorf("claim partitions of %q: %w", p.Name, err)
		}
		return nil
	})
	return out, err
}

func (w *wtx) claimPartitions(p *store.ClaimPartitionsParams) (*store.PartitionClaim, error) {
	now := nanos(p.Now)
	var c store.PartitionClaim
	err := w.queryRow(`SELECT partitions FROM consumers WHERE name = ?`, p.Name).Scan(&c.Partitions)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weftype.ErrConsumerNotFound
	}
	if err != nil {
		return nil, err
	}
	release := `UPDATE consumer_partitions SET lease_owner = '', lease_expires = 0 WHERE name = ? AND lease_owner = ?`
	if p.LeaseFor <= 0 {
		if _, err := w.exec(`DELETE FROM consumer_members WHERE name = ? AND owner = ?`, p.Name, p.Owner); err != nil {
			return nil, err
		}
		if _, err := w.exec(release, p.Name, p.Owner); err != nil {
			return nil, err
		}
		return &c, nil
	}
	until := now + int64(p.LeaseFor)
	for _, part := range p.Release {
		if _, err := w.exec(release+` AND part = ?`, p.Name, p.Owner, part); err != nil {
			return nil, err
		}
	}
	if _, err := w.exec(`INSERT INTO consumer_members (name, owner, expires) VALUES (?, ?, ?)
		ON CONFLICT (name, owner) DO UPDATE SET expires = excluded.expires`, p.Name, p.Owner, until); err != nil {
		return nil, err
	}
	if _, err := w.exec(`DELETE FROM consumer_members WHERE name = ? AND expires <= ?`, p.Name, now); err != nil {
		return nil, err
	}
	if err := w.queryRow(`SELECT COUNT(*) FROM consumer_members WHERE name = ?`, p.Name).Scan(&c.Members); err != nil {
		return nil, err
	}
	// The fair share is between lo and hi partitions per member. A member
	// holds up to hi, or up to lo while another member holds fewer than lo:
	// it takes free partitions up to that target and hands over what it
	// holds beyond. Partitions move only as far as evenness needs: a member
	// that joins does not take a one-partition consumer from its holder.
	lo, hi := c.Partitions/c.Members, (c.Partitions+c.Members-1)/c.Members
	var short int
	if err := w.queryRow(`SELECT COUNT(*) FROM consumer_members m WHERE m.name = ? AND m.owner <> ? AND
		(SELECT COUNT(*) FROM consumer_partitions c WHERE c.name = m.name AND c.lease_owner = m.owner AND c.lease_expires > ?) < ?`,
		p.Name, p.Owner, now, lo).Scan(&short); err != nil {
		return nil, err
	}
	target := hi
	if short > 0 {
		target = lo
	}
	// Renew what the owner holds; a lease of its own that expired unclaimed
	// is still its own, with the same token: nobody else committed with it.
	if _, err := w.exec(`UPDATE consumer_partitions SET lease_expires = ? WHERE name = ? AND lease_owner = ?`, until, p.Name, p.Owner); err != nil {
		return nil, err
	}
	held, err := w.heldPartitions(p.Name, p.Owner)
	if err != nil {
		return nil, err
	}
	if need := target - len(held); need > 0 {
		free, err := w.freePartitions(p.Name, now)
		if err != nil {
			return nil, err
		}
		for _, part := range free[:min(need, len(free))] {
			// The condition again: where writers race (PostgreSQL), a
			// partition goes to one of them.
			if _, err := w.exec(`UPDATE consumer_partitions SET lease_owner = ?, lease_expires = ?, lease_token = lease_token + 1
				WHERE name = ? AND part = ? AND (lease_owner = '' OR lease_expires <= ?)`, p.Owner, until, p.Name, part, now); err != nil {
				return nil, err
			}
		}
		if held, err = w.heldPartitions(p.Name, p.Owner); err != nil {
			return nil, err
		}
	}
	c.Held = held
	for _, l := range held[min(target, len(held)):] {
		c.Surplus = append(c.Surplus, l.Partition)
	}
	return &c, nil
}

// heldPartitions returns the partitions of a consumer owner holds.
func (w *wtx) heldPartitions(name, owner string) ([]store.PartitionLease, error) {
	rows, err := w.query(`SELECT part, lease_token FROM consumer_partitions WHERE name = ? AND lease_owner = ? ORDER BY part`, name, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PartitionLease
	for rows.Next() {
		var l store.PartitionLease
		if err := rows.Scan(&l.Partition, &l.Token); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// freePartitions returns the numbers of a consumer's partitions that no
// lease holds at now.
func (w *wtx) freePartitions(name string, now int64) ([]int, error) {
	rows, err := w.query(`SELECT part FROM consumer_partitions WHERE name = ? AND (lease_owner = '' OR lease_expires <= ?) ORDER BY part`, name, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var part int
		if err := rows.Scan(&part); err != nil {
			return nil, err
		}
		out = append(out, part)
	}
	return out, rows.Err()
}
