package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/sqlite"
	"github.com/weftrun/weft/weftype"
)

// The event side (issue 3), measured by RunEvents beside the same baseline
// as the steps:
//
//   - appends: events appended per second, one event per Engine.Append from
//     one writer and from 64 writers at once, and 100 events per Append;
//   - entity commands per second on a stream of 10,000 events: with the
//     state cached, and with no cache (each command loads the state) with
//     snapshots and without;
//   - a consumer: its throughput catching up with a backlog, and the lag
//     from an append to its handler while one writer appends;
//   - a projection: rows per second catching up with a backlog, one row
//     inserted per event in the checkpoint's transaction.

// EventsConfig says what RunEvents measures. The zero value measures the
// defaults.
type EventsConfig struct {
	// Dir holds the database files. Defaults to a new temporary directory,
	// removed at the end.
	Dir string
	// Duration is how long each timed measurement runs at least. Defaults
	// to 2s.
	Duration time.Duration
	// StreamEvents is the length of the entity's stream the commands are
	// sent to. Defaults to 10,000.
	StreamEvents int
	// SnapshotEvery is the entity's snapshot interval in the measurement
	// with snapshots. Defaults to 100.
	SnapshotEvery int
	// Backlog is the number of events the consumer and the projection catch
	// up with. Defaults to 20,000.
	Backlog int
	// Progress, when set, is called with a line about each measurement as it
	// starts.
	Progress func(msg string)
}

func (c *EventsConfig) withDefaults() EventsConfig {
	out := *c
	if out.Duration <= 0 {
		out.Duration = 2 * time.Second
	}
	if out.StreamEvents <= 0 {
		out.StreamEvents = 10_000
	}
	if out.SnapshotEvery <= 0 {
		out.SnapshotEvery = 100
	}
	if out.Backlog <= 0 {
		out.Backlog = 20_000
	}
	if out.Progress == nil {
		out.Progress = func(string) {}
	}
	return out
}

// EventsReport is the outcome of RunEvents.
type EventsReport struct {
	Config EventsConfig
	Env    Env
	// Baseline merges BaselineRuns, measured before and after the rest; the
	// ratios are against it.
	Baseline     *BaselineResult
	BaselineRuns []*BaselineResult
	// Appends are one event per Append from 1 and 64 writers, then 100
	// events per Append.
	Appends []*RateResult
	// Commands are cached, uncached with snapshots, uncached without.
	Commands   []*RateResult
	Consumer   *ConsumerResult
	Projection *RateResult
}

// RateResult is the rate of one kind of operation.
type RateResult struct {
	// Name says what was measured.
	Name string
	// Unit names what PerSecond counts ("events", "commands", "rows").
	Unit string
	// Ops is the number counted, in Elapsed.
	Ops       int
	Elapsed   time.Duration
	PerSecond float64
	// Latency is of each call (an Append of a batch, a command); zero when
	// calls are not timed one by one.
	Latency Latencies
}

// ConsumerResult is a consumer's throughput and lag.
type ConsumerResult struct {
	// Backlog events were handled in Elapsed, catching up from the start.
	Backlog   int
	Elapsed   time.Duration
	PerSecond float64
	// Lag is from each append (the event's time, taken before the commit)
	// to its handler's call, while one writer appended one event at a time
	// and the consumer kept up.
	Lag Latencies
}

// RunEvents measures the baseline, appends, entity commands, a consumer
// and a projection.
func RunEvents(ctx context.Context, cfg EventsConfig) (*EventsReport, error) {
	c := cfg.withDefaults()
	dir := c.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "weft-bench-events-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rep := &EventsReport{Config: c, Env: Env{
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.GOMAXPROCS(0), Dir: dir,
	}}
	file := func(name string) string { return filepath.Join(dir, name+".db") }
	c.Progress(fmt.Sprintf("baseline: single-row INSERT transactions for %s", c.Duration))
	b, err := Baseline(ctx, file("baseline"), BaselineParams{MinDuration: c.Duration})
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	for _, ap := range []AppendsParams{{Writers: 1, Batch: 1}, {Writers: 64, Batch: 1}, {Writers: 1, Batch: 100}} {
		ap.MinDuration = c.Duration
		c.Progress(fmt.Sprintf("appends: %d event(s) per Append, %d writer(s), for %s", ap.Batch, ap.Writers, c.Duration))
		r, err := Appends(ctx, file(fmt.Sprintf("appends-%d-%d", ap.Writers, ap.Batch)), ap)
		if err != nil {
			return nil, fmt.Errorf("bench: appends: %w", err)
		}
		rep.Appends = append(rep.Appends, r)
	}
	for _, cp := range []CommandsParams{{Cached: true}, {SnapshotEvery: c.SnapshotEvery}, {}} {
		cp.StreamEvents, cp.MinDuration = c.StreamEvents, c.Duration
		r0 := CommandsName(cp)
		c.Progress(fmt.Sprintf("entity commands: %s, for %s", r0, c.Duration))
		r, err := Commands(ctx, file(fmt.Sprintf("commands-%v-%d", cp.Cached, cp.SnapshotEvery)), cp)
		if err != nil {
			return nil, fmt.Errorf("bench: entity commands: %w", err)
		}
		rep.Commands = append(rep.Commands, r)
	}
	c.Progress(fmt.Sprintf("consumer: catching up with %d events, then the lag for %s", c.Backlog, c.Duration))
	if rep.Consumer, err = Consume(ctx, file("consumer"), ConsumeParams{Backlog: c.Backlog, MinDuration: c.Duration}); err != nil {
		return nil, fmt.Errorf("bench: consumer: %w", err)
	}
	c.Progress(fmt.Sprintf("projection: catching up with %d events", c.Backlog))
	if rep.Projection, err = Project(ctx, file("projection"), ProjectParams{Backlog: c.Backlog}); err != nil {
		return nil, fmt.Errorf("bench: projection: %w", err)
	}
	c.Progress(fmt.Sprintf("baseline again, for %s", c.Duration))
	b2, err := Baseline(ctx, file("baseline-2"), BaselineParams{MinDuration: c.Duration})
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	rep.BaselineRuns = []*BaselineResult{b, b2}
	rep.Baseline = mergeBaselines(b, b2)
	return rep, nil
}

// openEngine opens a fresh store at path and an engine over it.
func openEngine(ctx context.Context, path string, poll time.Duration) (*sqlite.Store, *weft.Engine, error) {
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return nil, nil, err
	}
	eng, err := weft.New(weft.Config{Store: st, PollInterval: poll})
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return st, eng, nil
}

// benchEvent is the payload of the appended events: about 100 bytes of JSON.
type benchEvent struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
	Note    string `json:"note"`
}

func newBenchEvent(i int) weft.NewEvent {
	return weft.NewEvent{
		Type: "Deposited", Tags: []string{"account", fmt.Sprintf("account:%d", i%1000)},
		Data: benchEvent{Account: fmt.Sprintf("acct-%06d", i%1000), Amount: int64(i), Note: "benchmark deposit, a payload of ordinary size"},
	}
}

// prefill appends n events of newBenchEvent to streams "acct:<k>", 100 per
// Append.
func prefill(ctx context.Context, eng *weft.Engine, n int) error {
	for i := 0; i < n; i += 100 {
		evs := make([]weft.NewEvent, 0, 100)
		for j := i; j < min(n, i+100); j++ {
			evs = append(evs, newBenchEvent(j))
		}
		if _, err := eng.Append(ctx, fmt.Sprintf("acct:%d", i/100%1000), weftype.AnyVersion, evs...); err != nil {
			return err
		}
	}
	return nil
}

// AppendsParams are the arguments of Appends.
type AppendsParams struct {
	// Writers append at once, each to its own stream. Defaults to 1.
	Writers int
	// Batch is the number of events per Append. Defaults to 1.
	Batch int
	// Events is the number of events to append at least. Defaults to 100.
	Events int
	// MinDuration is how long to keep appending at least.
	MinDuration time.Duration
}

// Appends measures Engine.Append on a fresh store at path.
func Appends(ctx context.Context, path string, p AppendsParams) (*RateResult, error) {
	p.Writers, p.Batch = max(p.Writers, 1), max(p.Batch, 1)
	if p.Events <= 0 {
		p.Events = 100
	}
	st, eng, err := openEngine(ctx, path, 0)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var appended atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, 4096)
	errs := make(chan error, p.Writers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range p.Writers {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1024)
			defer func() {
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
			stream := fmt.Sprintf("acct:%d", w)
			for i := 0; appended.Load() < int64(p.Events) || time.Since(start) < p.MinDuration; i++ {
				evs := make([]weft.NewEvent, p.Batch)
				for j := range evs {
					evs[j] = newBenchEvent(i*p.Batch + j)
				}
				t0 := time.Now()
				if _, err := eng.Append(ctx, stream, weftype.AnyVersion, evs...); err != nil {
					errs <- err
					return
				}
				local = append(local, time.Since(t0))
				appended.Add(int64(p.Batch))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	n := int(appended.Load())
	name := fmt.Sprintf("%d event(s) per Append, %d writer(s)", p.Batch, p.Writers)
	return &RateResult{Name: name, Unit: "events", Ops: n, Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds(), Latency: summarize(lat)}, nil
}

// CommandsParams are the arguments of Commands.
type CommandsParams struct {
	// StreamEvents is the length of the entity's stream before the
	// commands. Defaults to 10,000.
	StreamEvents int
	// Cached keeps the entity's state in memory between commands (the
	// default of weft.EntityDef); otherwise each command loads it.
	Cached bool
	// SnapshotEvery is the entity's snapshot interval; 0: no snapshots.
	SnapshotEvery int
	// Commands is the number of commands to send at least. Defaults to 20.
	Commands int
	// MinDuration is how long to keep sending at least.
	MinDuration time.Duration
}

// CommandsName describes a commands measurement.
func CommandsName(p CommandsParams) string {
	switch {
	case p.Cached:
		return "state cached"
	case p.SnapshotEvery > 0:
		return fmt.Sprintf("no cache, snapshot every %d events", p.SnapshotEvery)
	default:
		return "no cache, no snapshots"
	}
}

// counter is the entity of the commands measurement.
type counter struct {
	Total int64 `json:"total"`
	Count int64 `json:"count"`
}

type addCmd struct {
	N int64 `json:"n"`
}

type added struct {
	N int64 `json:"n"`
}

// Commands measures entity commands, sent one after the other to one
// entity whose stream holds p.StreamEvents events, on a fresh store at path.
func Commands(ctx context.Context, path string, p CommandsParams) (*RateResult, error) {
	if p.StreamEvents <= 0 {
		p.StreamEvents = 10_000
	}
	if p.Commands <= 0 {
		p.Commands = 20
	}
	st, eng, err := openEngine(ctx, path, 0)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	def := weft.EntityDef[counter, addCmd, added]{
		Name:          "counter",
		Decide:        func(_ counter, c addCmd) ([]added, error) { return []added{{N: c.N}}, nil },
		Evolve:        func(s counter, e added) counter { s.Total += e.N; s.Count++; return s },
		SnapshotEvery: p.SnapshotEvery,
	}
	if !p.Cached {
		def.IdleAfter = -1
	}
	en := weft.RegisterEntity(eng, def)
	const id = "c1"
	stream := "counter:" + id
	var want counter
	for i := 0; i < p.StreamEvents; i += 100 {
		evs := make([]weft.NewEvent, 0, 100)
		for j := i; j < min(p.StreamEvents, i+100); j++ {
			evs = append(evs, weft.NewEvent{Type: weft.EventName(added{}), Data: added{N: 1}, Tags: []string{"counter", stream}})
			want.Total++
			want.Count++
		}
		if _, err := eng.Append(ctx, stream, weftype.AnyVersion, evs...); err != nil {
			return nil, err
		}
	}
	if p.SnapshotEvery > 0 {
		// The snapshot the entity would have saved had its events come
		// through commands.
		data, err := json.Marshal(want)
		if err != nil {
			return nil, err
		}
		if err := st.SaveSnapshot(ctx, &store.SaveSnapshotParams{Stream: stream, Version: int64(p.StreamEvents), Data: data}); err != nil {
			return nil, err
		}
	}
	if p.Cached {
		// Warm the cache: the first command loads the whole stream.
		if _, _, err := en.State(ctx, id); err != nil {
			return nil, err
		}
	}
	lat := make([]time.Duration, 0, 1024)
	start := time.Now()
	for i := 0; i < p.Commands || time.Since(start) < p.MinDuration; i++ {
		t0 := time.Now()
		res, err := en.Send(ctx, id, addCmd{N: 1})
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		if res.State.Count != int64(p.StreamEvents+i+1) {
			return nil, fmt.Errorf("command %d: state counts %d events, want %d", i, res.State.Count, p.StreamEvents+i+1)
		}
	}
	elapsed := time.Since(start)
	name := fmt.Sprintf("%s, stream of %d events", CommandsName(p), p.StreamEvents)
	return &RateResult{Name: name, Unit: "commands", Ops: len(lat), Elapsed: elapsed, PerSecond: float64(len(lat)) / elapsed.Seconds(), Latency: summarize(lat)}, nil
}

// ConsumeParams are the arguments of Consume.
type ConsumeParams struct {
	// Backlog is the number of events in the log when the consumer starts.
	// Defaults to 10,000.
	Backlog int
	// LagEvents is the number of events appended one by one for the lag, at
	// least. Defaults to 100.
	LagEvents int
	// MinDuration is how long to keep appending for the lag at least.
	MinDuration time.Duration
}

// Consume measures a consumer with a no-op handler on a fresh store at
// path: its throughput catching up with p.Backlog events, then the lag from
// each append to its handler while one writer appends one event at a time.
func Consume(ctx context.Context, path string, p ConsumeParams) (*ConsumerResult, error) {
	if p.Backlog <= 0 {
		p.Backlog = 10_000
	}
	if p.LagEvents <= 0 {
		p.LagEvents = 100
	}
	st, eng, err := openEngine(ctx, path, time.Second)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := prefill(ctx, eng, p.Backlog); err != nil {
		return nil, err
	}
	var handled atomic.Int64
	var mu sync.Mutex
	var lags []time.Duration
	var live atomic.Bool
	weft.RegisterConsumer(eng, weft.ConsumerDef{
		Name: "bench-consumer",
		Handle: func(_ context.Context, ev weftype.Event) error {
			if live.Load() {
				d := time.Since(ev.Time)
				mu.Lock()
				lags = append(lags, d)
				mu.Unlock()
			}
			handled.Add(1)
			return nil
		},
	})
	start := time.Now()
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer stopEngine(eng)
	if err := poll(ctx, time.Millisecond, func() (bool, error) { return handled.Load() >= int64(p.Backlog), nil }); err != nil {
		return nil, err
	}
	res := &ConsumerResult{Backlog: p.Backlog, Elapsed: time.Since(start)}
	res.PerSecond = float64(p.Backlog) / res.Elapsed.Seconds()

	live.Store(true)
	t0 := time.Now()
	n := 0
	for ; n < p.LagEvents || time.Since(t0) < p.MinDuration; n++ {
		if _, err := eng.Append(ctx, "lag", weftype.AnyVersion, newBenchEvent(n)); err != nil {
			return nil, err
		}
	}
	want := int64(p.Backlog + n)
	if err := poll(ctx, time.Millisecond, func() (bool, error) { return handled.Load() >= want, nil }); err != nil {
		return nil, err
	}
	mu.Lock()
	res.Lag = summarize(lags)
	mu.Unlock()
	return res, nil
}

// ProjectParams are the arguments of Project.
type ProjectParams struct {
	// Backlog is the number of events in the log when the projection
	// starts. Defaults to 10,000.
	Backlog int
}

// Project measures a projection that inserts one row per event on a fresh
// store at path, catching up with p.Backlog events.
func Project(ctx context.Context, path string, p ProjectParams) (*RateResult, error) {
	if p.Backlog <= 0 {
		p.Backlog = 10_000
	}
	st, eng, err := openEngine(ctx, path, time.Second)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := prefill(ctx, eng, p.Backlog); err != nil {
		return nil, err
	}
	weft.RegisterProjection(eng, weft.ProjectionDef{
		Name: "bench-projection",
		Setup: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_deposits (position INTEGER PRIMARY KEY, account TEXT NOT NULL, amount INTEGER NOT NULL)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			d, err := weft.Decode[benchEvent](eng, ev)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO bench_deposits (position, account, amount) VALUES (?, ?, ?)`, ev.Position, d.Account, d.Amount)
			return err
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM bench_deposits`)
			return err
		},
	})
	head, err := st.HeadPosition(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer stopEngine(eng)
	if err := poll(ctx, time.Millisecond, func() (bool, error) {
		c, err := st.GetConsumer(ctx, &store.GetConsumerParams{Name: "bench-projection"})
		return err == nil && c.Position >= head, err
	}); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	var rows int
	if err := eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM bench_deposits`).Scan(&rows)
	}); err != nil {
		return nil, err
	}
	if rows != p.Backlog {
		return nil, fmt.Errorf("the projection has %d rows, want %d", rows, p.Backlog)
	}
	return &RateResult{Name: "one row inserted per event", Unit: "rows", Ops: rows, Elapsed: elapsed, PerSecond: float64(rows) / elapsed.Seconds()}, nil
}
