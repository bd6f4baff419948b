package storetest

import (
	"testing"
	"time"

	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// lagHistoryTests check the consumers' lag samples (store.LagHistory).
var lagHistoryTests = []test{
	{"LagHistory", testLagHistory},
}

// testLagHistory checks that RecordLag keeps samples by consumer and time
// (a second sample at the same time replaces the first), prunes a
// consumer's samples older than PruneBefore and no other consumer's,
// refuses a sample without a consumer or time, and that ReadLag filters by
// time and consumer, orders by consumer then time, and keeps the newest
// Limit of each consumer.
func testLagHistory(t *testing.T, h *harness) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	sample := func(c string, m int, pos, head int64) weftype.LagSample {
		return weftype.LagSample{Consumer: c, At: at(m), Position: pos, Head: head, Lag: head - pos}
	}
	record := func(p store.RecordLagParams) { h.t.Helper(); h.ok(h.st.RecordLag(h.ctx, &p)) }
	read := func(p store.ReadLagParams) []weftype.LagSample {
		h.t.Helper()
		got, err := h.st.ReadLag(h.ctx, &p)
		h.ok(err)
		return got
	}
	same := func(what string, got, want []weftype.LagSample) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d samples %+v, want %+v", what, len(got), got, want)
			return
		}
		for i := range got {
			if got[i].Consumer != want[i].Consumer || !got[i].At.Equal(want[i].At) || got[i].Position != want[i].Position ||
				got[i].Head != want[i].Head || got[i].Lag != want[i].Lag {
				t.Errorf("%s: sample %d = %+v, want %+v", what, i, got[i], want[i])
			}
		}
	}
	if got := read(store.ReadLagParams{}); len(got) != 0 {
		t.Fatalf("ReadLag of an empty store = %+v", got)
	}
	record(store.RecordLagParams{Samples: []weftype.LagSample{sample("b", 0, 1, 5), sample("a", 0, 0, 5)}})
	record(store.RecordLagParams{Samples: []weftype.LagSample{sample("a", 1, 3, 8), sample("b", 1, 8, 8)}})
	record(store.RecordLagParams{Samples: []weftype.LagSample{sample("a", 1, 4, 8)}}) // replaces a@1
	same("all", read(store.ReadLagParams{}), []weftype.LagSample{
		sample("a", 0, 0, 5), sample("a", 1, 4, 8), sample("b", 0, 1, 5), sample("b", 1, 8, 8)})
	same("since 1m", read(store.ReadLagParams{Since: at(1)}), []weftype.LagSample{sample("a", 1, 4, 8), sample("b", 1, 8, 8)})
	same("of b", read(store.ReadLagParams{Consumer: "b"}), []weftype.LagSample{sample("b", 0, 1, 5), sample("b", 1, 8, 8)})
	same("newest 1 of each", read(store.ReadLagParams{Limit: 1}), []weftype.LagSample{sample("a", 1, 4, 8), sample("b", 1, 8, 8)})

	// a's sample at 2m prunes a's samples before 1m; b's stay.
	record(store.RecordLagParams{Samples: []weftype.LagSample{sample("a", 2, 8, 8)}, PruneBefore: at(1)})
	same("after pruning a", read(store.ReadLagParams{}), []weftype.LagSample{
		sample("a", 1, 4, 8), sample("a", 2, 8, 8), sample("b", 0, 1, 5), sample("b", 1, 8, 8)})

	for _, bad := range []weftype.LagSample{{At: at(3)}, {Consumer: "a"}} {
		err := h.st.RecordLag(h.ctx, &store.RecordLagParams{Samples: []weftype.LagSample{sample("c", 3, 0, 0), bad}})
		if err == nil {
			t.Errorf("RecordLag of %+v succeeded", bad)
		}
	}
	if got := read(store.ReadLagParams{Consumer: "c"}); len(got) != 0 {
		t.Errorf("a refused RecordLag stored %+v", got)
	}
	if _, err := h.st.ReadLag(h.ctx, &store.ReadLagParams{Limit: -1}); err == nil {
		t.Error("ReadLag with a negative limit succeeded")
	}
}
