package sqlstore

import (
	"context"
	"fmt"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ReplaceStream implements store.Store: the write of a key-value entity,
// whose stream keeps its newest event only.
func (s *Store) ReplaceStream(ctx context.Context, p *store.ReplaceStreamParams) (*store.AppendResult, error) {
	evs := []weftype.NewEvent{p.Event}
	if err := checkAppend(p.Stream, p.ExpectedVersion, evs); err != nil {
		return nil, err
	}
	ap := &store.AppendParams{Stream: p.Stream, ExpectedVersion: p.ExpectedVersion, Events: evs, Time: p.Time, CommandID: p.CommandID}
	t := now(p.Time)
	var res *store.AppendResult
	err := s.write(ctx, func(w *wtx) error {
		var err error
		if p.CommandID != "" {
			res, err = w.appendCommand(ap, t)
		} else {
			res = &store.AppendResult{}
			res.Version, res.Positions, err = w.append(p.Stream, p.ExpectedVersion, evs, t)
		}
		if err != nil || res.Duplicate {
			return err
		}
		for _, q := range []string{
			`DELETE FROM event_tags WHERE position IN (SELECT position FROM events WHERE stream = ? AND version < ?)`,
			`DELETE FROM events WHERE stream = ? AND version < ?`,
		} {
			if _, err := w.exec(q, p.Stream, res.Version); err != nil {
				return fmt.Errorf("replace stream %q: %w", p.Stream, err)
			}
		}
		return w.appendOutbox(res, p.Outbox, t)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
