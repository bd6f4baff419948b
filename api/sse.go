package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// shutdownKey carries, in a request's context, a channel that Serve closes
// when the server shuts down, so that live streams end and the graceful
// shutdown does not wait for them.
type shutdownKey struct{}

func shutdownCh(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(shutdownKey{}).(chan struct{})
	return ch // nil: never
}

// sse writes Server-Sent Events.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) (*sse, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return nil, err
	}
	return s, s.rc.Flush()
}

// send writes one event; data is JSON, so it holds no newline.
func (s *sse) send(event string, id int64, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\nid: %d\ndata: %s\n\n", event, id, data); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sse) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	return s.rc.Flush()
}

// livePage is how many log entries a live stream reads at a time. A stream
// sends a page before it reads the next, and a client that reads slowly
// blocks the sending, so a stream holds at most one page in memory however
// old the position it replays from.
const livePage = 100

// stream calls poll at once and then every Options.PollInterval, sending a
// heartbeat comment every Options.Heartbeat, until the client goes away, the
// server shuts down or poll fails (the failure is sent as an "error" event).
// It counts against Options.MaxStreams and MaxStreamsPerClient, and answers
// a problem when either is reached.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, poll func(ctx context.Context, s *sse) error) error {
	release, p := h.streams.acquire(w, r)
	if p != nil {
		return p
	}
	defer release()
	s, err := startSSE(w)
	if err != nil {
		return nil // the client is gone
	}
	ctx := r.Context()
	tick := time.NewTicker(h.opts.PollInterval)
	defer tick.Stop()
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	down := shutdownCh(ctx)
	for {
		if err := poll(ctx, s); err != nil {
			if ctx.Err() == nil {
				p := problemFor(err)
				p.Instance = r.URL.Path
				_ = s.send("error", 0, p)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-down:
			return nil
		case <-beat.C:
			if s.comment("keep-alive") != nil {
				return nil
			}
		case <-tick.C:
		}
	}
}

// lastEventID returns the position to resume from: the Last-Event-ID header
// that a reconnecting EventSource sends, else the "after" parameter, else
// fallback.
func lastEventID(r *http.Request, fallback func() (int64, error)) (int64, error) {
	for _, s := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, invalid("after", "after (or Last-Event-ID) must be a log position (an integer ≥ 0), not %q", s)
		}
		return n, nil
	}
	return fallback()
}

// liveRuns streams "run" events, each a Run, when runs change. With
// ?run=ID, it follows that run only: its current record first, then every
// change. Otherwise it follows the runs whose journal grows in the log from
// ?after (default: now), filtered by workflow and status.
func (h *handler) liveRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	filter, err := parseRunFilter(q)
	if err != nil {
		return err
	}
	eng := h.eng
	if id := q.Get("run"); id != "" {
		if p := checkText("run", id, MaxIDLength); p != nil {
			return p
		}
		if _, err := eng.GetRun(r.Context(), id); err != nil {
			return withRun(err, id)
		}
		var last *weftype.Run
		return h.stream(w, r, func(ctx context.Context, s *sse) error {
			run, err := eng.GetRun(ctx, id)
			if err != nil {
				return err
			}
			if last != nil && sameRun(last, run) {
				return nil
			}
			last = run
			return s.send("run", run.Version, h.toRun(run))
		})
	}
	pos, err := lastEventID(r, func() (int64, error) { return eng.HeadPosition(r.Context()) })
	if err != nil {
		return err
	}
	return h.stream(w, r, func(ctx context.Context, s *sse) error {
		for {
			evs, err := eng.ReadEvents(ctx, weft.EventFilter{After: pos, StreamPrefix: weftype.StreamName(weftype.RunKind, ""), Limit: livePage})
			if err != nil {
				return err
			}
			// The runs touched, each at the position of its last event.
			at := map[string]int64{}
			for _, ev := range evs {
				if _, id, ok := weftype.SplitStream(ev.Stream); ok {
					at[id] = ev.Position
				}
			}
			ids := make([]string, 0, len(at))
			for id := range at {
				ids = append(ids, id)
			}
			slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(at[a], at[b]) })
			for _, id := range ids {
				run, err := eng.GetRun(ctx, id)
				if err != nil {
					continue // not a run's journal after all
				}
				if matches(filter, run) {
					if err := s.send("run", at[id], h.toRun(run)); err != nil {
						return err
					}
				}
			}
			if len(evs) > 0 {
				pos = evs[len(evs)-1].Position
			}
			if len(evs) < livePage {
				return nil
			}
		}
	})
}

func sameRun(a, b *weftype.Run) bool {
	return a.Status == b.Status && a.Version == b.Version && a.CancelRequested == b.CancelRequested &&
		a.WakeAt.Equal(b.WakeAt) && a.LeaseOwner == b.LeaseOwner && a.UpdatedAt.Equal(b.UpdatedAt)
}

func matches(f *weft.RunFilter, r *weftype.Run) bool {
	if f.Workflow != "" && r.Workflow != f.Workflow {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, r.Status) {
		return false
	}
	if !f.CreatedAfter.IsZero() && !r.CreatedAt.After(f.CreatedAfter) {
		return false
	}
	if !f.CreatedBefore.IsZero() && !r.CreatedAt.Before(f.CreatedBefore) {
		return false
	}
	return true
}

// liveEvents streams "event" events, each an Event of the log, from ?after
// (or Last-Event-ID; default: the start of the log), filtered by type, tag
// and stream_prefix. Each event's SSE id is its position, so a reconnecting
// EventSource resumes where it stopped.
func (h *handler) liveEvents(w http.ResponseWriter, r *http.Request) error {
	p, err := parseEventFilter(r.URL.Query())
	if err != nil {
		return err
	}
	if p.After, err = lastEventID(r, func() (int64, error) { return 0, nil }); err != nil {
		return err
	}
	p.Limit = livePage
	return h.stream(w, r, func(ctx context.Context, s *sse) error {
		for {
			evs, err := h.eng.ReadEvents(ctx, *p)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				if err := s.send("event", ev.Position, toEvent(ev)); err != nil {
					return err
				}
				p.After = ev.Position
			}
			if len(evs) < p.Limit {
				return nil
			}
		}
	})
}
