package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// CommitRun implements store.Store. It is the one code path of a run's
// commit on every store: the form (form.go) writes it, this decides.
func (s *Store) CommitRun(ctx context.Context, p *store.CommitRunParams) (*store.CommitRunResult, error) {
	if p.Status != "" && !p.Status.Valid() {
		return nil, fmt.Errorf("weft: commit run %q: invalid status %q", p.RunID, p.Status)
	}
	stream := weftype.StreamName(weftype.RunKind, p.RunID)
	if err := checkAppend(stream, p.ExpectedVersion, p.Events); err != nil {
		return nil, err
	}
	for i := range p.StartChildren {
		if err := checkCreate(&p.StartChildren[i]); err != nil {
			return nil, err
		}
	}
	if err := checkAnswers(p); err != nil {
		return nil, err
	}
	t := now(p.Time)
	var v commitVerdict
	err := s.writeQueued(ctx, plainCommit(p), func(w *wtx) error {
		v = commitVerdict{}
		return w.commitRun(ctx, p, stream, t, &v)
	})
	if err != nil {
		return nil, err
	}
	if err := v.err(p, stream); err != nil {
		return nil, err
	}
	return &store.CommitRunResult{Version: v.version + int64(len(p.Events)), Released: v.released}, nil
}

// plainCommit reports whether the commit p is the form's alone: no user
// code (Apply), no children to start and no updates to answer. A queued
// form's commit then needs no savepoint, and its verdict is read after
// the write.
func plainCommit(p *store.CommitRunParams) bool {
	return p.Apply == nil && len(p.StartChildren) == 0 && len(p.AnswerUpdates) == 0
}

// commitRun runs p's Apply, has the form write the commit, and starts p's
// children and writes its updates' answers (updates.go), filling v. Around user code or children, the verdict is read
// in the write, whose savepoint then undoes them when the commit is
// refused.
func (w *wtx) commitRun(ctx context.Context, p *store.CommitRunParams, stream string, t time.Time, v *commitVerdict) error {
	if err := w.applyInCommit(ctx, p); err != nil { // usertx.go
		return err
	}
	if err := w.form.commitRun(w, Commit{P: p, Stream: stream, Time: nanos(t)}, v); err != nil {
		return err
	}
	if n, ok := w.d.(EndNotifier); ok && w.form.queued() && p.Status.Terminal() {
		w.c.queue(n.NotifyRunEnd(), []any{p.RunID}, nil)
	}
	if w.form.queued() && plainCommit(p) {
		return nil
	}
	if err := w.c.flush(""); err != nil {
		return err
	}
	if err := v.err(p, stream); err != nil {
		return err
	}
	if err := w.answerUpdates(p.RunID, p.AnswerUpdates, nanos(t)); err != nil {
		return err
	}
	for i := range p.StartChildren {
		c := p.StartChildren[i]
		c.Parent = p.RunID
		if c.Time.IsZero() {
			c.Time = t
		}
		if _, err := w.createRun(&c, now(c.Time)); err != nil {
			return fmt.Errorf("commit run %q: start child: %w", p.RunID, err)
		}
	}
	return nil
}
