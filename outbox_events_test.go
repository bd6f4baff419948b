package weft_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// TestPublishEventsWritesTheOutboxWithTheAppend checks that the messages
// of a publication are in the outbox as soon as the append that made them
// returns, with no consumer or projection in between (the engine is not
// even started), and that an append that writes no events (a refusal, a
// duplicate command, a failing or panicking Messages, an unknown
// publisher) writes no message.
func TestPublishEventsWritesTheOutboxWithTheAppend(t *testing.T) {
	t.Parallel()
	for name, open := range outboxStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open()
			eng, err := weft.New(weft.Config{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			weft.RegisterPublisher(eng, weft.PublisherDef{Name: "mem", Publisher: &memPublisher{}})
			shows := weft.RegisterEntity(eng, seatsDef())
			carts := weft.RegisterKeyValue(eng, cartDef())
			boom := errors.New("boom")
			var mu sync.Mutex
			seen := map[string]weftype.Event{} // by stream: the event Messages got
			messages := func(topic string) func(ev weftype.Event) ([]weft.Message, error) {
				return func(ev weftype.Event) ([]weft.Message, error) {
					mu.Lock()
					seen[ev.Stream] = ev
					mu.Unlock()
					switch ev.Stream {
					case "show:fail":
						return nil, boom
					case "show:panic":
						panic("oops")
					case "show:nopub":
						return []weft.Message{{Publisher: "nope", Topic: topic}}, nil
					}
					return []weft.Message{{Publisher: "mem", Topic: topic, Key: ev.Stream, Data: ev.Data}}, nil
				}
			}
			weft.PublishEvents(eng, weft.PublishEventsDef{Name: "seats-out", StreamPrefix: "show:", Messages: messages("seats")})
			weft.PublishEvents(eng, weft.PublishEventsDef{Name: "carts-out", StreamPrefix: "cart:",
				Types: []string{weft.EventStateChanged}, Messages: messages("carts")})
			weft.PublishEvents(eng, weft.PublishEventsDef{Name: "glue-out", Types: []string{"Wanted"}, Tags: []string{"out"},
				Messages: messages("glue")})

			if _, err := shows.Send(ctx, "a", reserve{N: 2}, weft.CommandID("c1")); err != nil {
				t.Fatal(err)
			}
			if res, err := shows.Send(ctx, "a", reserve{N: 2}, weft.CommandID("c1")); err != nil || !res.Duplicate {
				t.Fatalf("second send of c1 = %+v, %v; want a duplicate", res, err)
			}
			if _, err := shows.Send(ctx, "a", reserve{N: 5}); !errors.Is(err, errSoldOut) {
				t.Fatalf("send of a refused command = %v, want errSoldOut", err)
			}
			if _, err := shows.Send(ctx, "fail", reserve{N: 1}); !errors.Is(err, boom) {
				t.Fatalf("send with a failing Messages = %v, want boom", err)
			}
			var pe *weft.PanicError
			if _, err := shows.Send(ctx, "panic", reserve{N: 1}); !errors.As(err, &pe) {
				t.Fatalf("send with a panicking Messages = %v, want a *PanicError", err)
			}
			if _, err := shows.Send(ctx, "nopub", reserve{N: 1}); !errors.Is(err, weft.ErrInvalidInput) {
				t.Fatalf("send with a message to an unknown publisher = %v, want ErrInvalidInput", err)
			}
			for _, id := range []string{"fail", "panic", "nopub"} {
				if evs, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: "show:" + id}); err != nil || len(evs) != 0 {
					t.Errorf("stream show:%s = %v, %v; want nothing appended", id, evs, err)
				}
			}
			if _, err := carts.Send(ctx, "c", cartCmd{Op: "add", Item: "x"}); err != nil {
				t.Fatal(err)
			}
			// Of these two events only the first passes the type and tag filters.
			res, err := eng.Append(ctx, "glue:1", 0, weft.NewEvent{Type: "Wanted", Tags: []string{"out"}}, weft.NewEvent{Type: "Other", Tags: []string{"out"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Append(ctx, "glue:2", 0, weft.NewEvent{Type: "Wanted"}); err != nil {
				t.Fatal(err)
			}

			c, err := st.ClaimOutbox(ctx, &store.ClaimOutboxParams{Publisher: "mem", Owner: "check", Now: time.Now(), LeaseFor: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range c.Messages {
				got = append(got, m.Topic+"/"+m.Key+"="+string(m.Data))
			}
			want := []string{`seats/show:a={"n":2}`, `carts/cart:c={"items":["x"],"count":1}`, `glue/glue:1=`}
			if !slices.Equal(got, want) {
				t.Errorf("outbox = %q, want %q", got, want)
			}
			// Messages saw each event as it was appended, but for its position.
			mu.Lock()
			defer mu.Unlock()
			for _, s := range []string{"show:a", "cart:c", "glue:1"} {
				ev := seen[s]
				if ev.Version != 1 || ev.Position != 0 || ev.Time.IsZero() {
					t.Errorf("event of %s given to Messages = %+v, want version 1, no position, a time", s, ev)
				}
			}
			stored, err := st.ReadStream(ctx, &store.ReadStreamParams{Stream: "glue:1"})
			if err != nil || len(stored) != 2 || !stored[0].Time.Equal(seen["glue:1"].Time) || stored[0].Position != res.Positions[0] {
				t.Errorf("stored glue:1 = %+v, %v; want its time as Messages got it (%v)", stored, err, seen["glue:1"].Time)
			}
		})
	}
}

// TestPublishEventsPanicsOnABadDefinition checks the programming mistakes
// PublishEvents refuses at registration.
func TestPublishEventsPanicsOnABadDefinition(t *testing.T) {
	t.Parallel()
	eng, err := weft.New(weft.Config{Store: outboxStores(t)["sqlite"]()})
	if err != nil {
		t.Fatal(err)
	}
	none := func(weftype.Event) ([]weft.Message, error) { return nil, nil }
	weft.PublishEvents(eng, weft.PublishEventsDef{Name: "p", Messages: none})
	for name, def := range map[string]weft.PublishEventsDef{
		"no name":     {Messages: none},
		"no Messages": {Name: "q"},
		"twice":       {Name: "p", Messages: none},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("PublishEvents with %s did not panic", name)
				}
			}()
			weft.PublishEvents(eng, def)
		}()
	}
}
