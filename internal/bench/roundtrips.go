package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/weftype"
)

// RoundTripsResult is the number of network round trips to the PostgreSQL
// server that one engine (starting and executing its runs, with one
// store) makes for each part of a run's life, counted by a proxy between
// them: a round trip is a send of the engine after an answer of the
// server. Each figure is the median of its samples.
type RoundTripsResult struct {
	// Start is the round trips of one Start call, returning after the
	// run is created (and leased to the engine, which executes it).
	Start float64
	// Step is the round trips per executed step: those of a run of 20
	// steps less those of a run of 10, divided by 10.
	Step float64
	// Run10 is all the round trips of a run of 10 steps, from its Start
	// until it has completed: start, execution, steps and end.
	Run10 float64
	// Signal is the round trips of one Signal call.
	Signal float64
	// Resume is the round trips from a signal's commit until the run it
	// woke waits again: claiming, replaying, committing and passivating.
	Resume float64
	// Idle is the round trips per second of the engine with nothing to
	// do (heartbeats, polls), which every other figure includes.
	Idle float64
}

const (
	rtStepsWorkflow  = "bench-rt-steps"
	rtSignalWorkflow = "bench-rt-signal"
	rtSamples        = 7
)

// RoundTrips counts the round trips of one engine on a fresh schema of the
// PostgreSQL database of dsn (a postgres:// URL), through a counting proxy.
func RoundTrips(ctx context.Context, dsn string) (*RoundTripsResult, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bench: round trips need a postgres:// URL, got %q", dsn)
	}
	px, err := newRTProxy(u.Host)
	if err != nil {
		return nil, err
	}
	defer px.close()
	pu := *u
	pu.Host = px.ln.Addr().String()
	schema, drop, err := tempSchema(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer drop()
	obs, err := postgres.Open(ctx, dsn, &postgres.Options{Schema: schema})
	if err != nil {
		return nil, err
	}
	defer obs.Close()
	st, err := postgres.Open(ctx, pu.String(), &postgres.Options{Schema: schema})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		return nil, err
	}
	weft.RegisterWorkflow(eng, rtStepsWorkflow, func(ctx context.Context, n int) (int, error) {
		for i := range n {
			if _, err := weft.Step(ctx, "s"+strconv.Itoa(i), func(context.Context) (int, error) { return i, nil }); err != nil {
				return 0, err
			}
		}
		return n, nil
	})
	weft.RegisterWorkflow(eng, rtSignalWorkflow, func(ctx context.Context, n int) (int, error) {
		for range n {
			if _, err := weft.Await[int](ctx, "ping", 0); err != nil {
				return 0, err
			}
		}
		return n, nil
	})
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer stopEngine(eng)
	status := func(id string, ok func(*weftype.Run) bool) error {
		return poll(ctx, 200*time.Microsecond, func() (bool, error) {
			r, err := obs.GetRun(ctx, &store.GetRunParams{ID: id})
			if errors.Is(err, weftype.ErrRunNotFound) {
				return false, nil
			}
			return err == nil && ok(r), err
		})
	}
	ended := func(r *weftype.Run) bool { return r.Status.Terminal() }
	waits := func(r *weftype.Run) bool { return r.Status == weftype.StatusWaiting && r.LeaseOwner == "" }
	run := func(id string, steps int) (start, all int64, err error) {
		a := px.n.Load()
		if _, _, err := eng.Untyped().Start(ctx, rtStepsWorkflow, id, []byte(strconv.Itoa(steps))); err != nil {
			return 0, 0, err
		}
		b := px.n.Load()
		if err := status(id, ended); err != nil {
			return 0, 0, err
		}
		if err := eng.WaitIdle(ctx); err != nil {
			return 0, 0, err
		}
		return b - a, px.n.Load() - a, nil
	}
	if _, _, err := run("warm", 10); err != nil { // statements prepared, connections open
		return nil, err
	}
	var starts, run10s, steps []float64
	for i := range rtSamples {
		s, r10, err := run("r10-"+strconv.Itoa(i), 10)
		if err != nil {
			return nil, err
		}
		_, r20, err := run("r20-"+strconv.Itoa(i), 20)
		if err != nil {
			return nil, err
		}
		starts, run10s = append(starts, float64(s)), append(run10s, float64(r10))
		steps = append(steps, float64(r20-r10)/10)
	}
	if _, _, err := eng.Untyped().Start(ctx, rtSignalWorkflow, "sig", []byte(strconv.Itoa(rtSamples+1))); err != nil {
		return nil, err
	}
	var signals, resumes []float64
	for i := range rtSamples + 1 {
		if err := status("sig", waits); err != nil {
			return nil, err
		}
		if err := eng.WaitIdle(ctx); err != nil {
			return nil, err
		}
		a := px.n.Load()
		if err := eng.Untyped().Signal(ctx, "sig", "ping", []byte(strconv.Itoa(i))); err != nil {
			return nil, err
		}
		b := px.n.Load()
		done := waits
		if i == rtSamples {
			done = ended
		}
		if err := status("sig", func(r *weftype.Run) bool { return r.Wakes > int64(i) && done(r) }); err != nil {
			return nil, err
		}
		if err := eng.WaitIdle(ctx); err != nil {
			return nil, err
		}
		if i > 0 { // the first resumption prepares its statements
			signals, resumes = append(signals, float64(b-a)), append(resumes, float64(px.n.Load()-b))
		}
	}
	a := px.n.Load()
	idleFor := 500 * time.Millisecond
	select {
	case <-time.After(idleFor):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &RoundTripsResult{
		Start: median(starts), Step: median(steps), Run10: median(run10s),
		Signal: median(signals), Resume: median(resumes),
		Idle: float64(px.n.Load()-a) / idleFor.Seconds(),
	}, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// rtProxy is a TCP proxy to a PostgreSQL server that counts round trips
// over all its connections: on each connection, a send of the client after
// an answer of the server (or as its first) is one more.
type rtProxy struct {
	ln     net.Listener
	target string
	n      atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func newRTProxy(target string) (*rtProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &rtProxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *rtProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		var answered atomic.Bool // the server spoke last
		answered.Store(true)
		p.wg.Go(func() { p.pipe(s, c, func() { p.n.Add(1) }, &answered, false) })
		p.wg.Go(func() { p.pipe(c, s, nil, &answered, true) })
	}
}

// pipe copies from src to dst. From the client (fromServer false), a read
// while the server spoke last counts a round trip.
func (p *rtProxy) pipe(dst, src net.Conn, count func(), answered *atomic.Bool, fromServer bool) {
	buf := make([]byte, 64<<10)
	defer dst.Close()
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if fromServer {
				answered.Store(true)
			} else if answered.Swap(false) {
				count()
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = src.Close()
			}
			return
		}
	}
}

func (p *rtProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
