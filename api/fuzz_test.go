package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecodeRequest feeds request bodies, IDs and query strings to the
// API's decoding. A body is either refused with a 400 problem or decoded
// to exactly what a lenient decoder reads too (no duplicate or differently
// cased key decided which value won); an accepted ID is printable; a query
// is refused with a 400 problem or parsed. Its corpus is in
// testdata/fuzz/FuzzDecodeRequest and runs with every `go test`; fuzz
// further with
//
//	go test -run '^$' -fuzz FuzzDecodeRequest -fuzztime 1m ./api/
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"workflow":"echo","id":"a","input":{"x":[1,2,{"y":null}]}}`), "user-1", "workflow=echo&status=waiting,completed&limit=10")
	f.Add([]byte(`{"workflow":"echo","workflow":"x","id":"a"}`), " a", "x=%zz")
	f.Add([]byte("{\"Workflow\":\"echo\",\"id\":\"a\xff\"}"), "a\u202eb", "after=-1&type=&tag=a")
	f.Fuzz(func(t *testing.T, body []byte, id, query string) {
		var req StartRequest
		if err := decodeJSON(body, &req); err != nil {
			mustBeProblem(t, err, http.StatusBadRequest)
		} else {
			if !utf8.Valid(body) {
				t.Fatalf("accepted a body that is not UTF-8: %q", body)
			}
			var lenient StartRequest
			if err := json.Unmarshal(body, &lenient); err != nil || lenient.Workflow != req.Workflow || lenient.ID != req.ID || !bytes.Equal(lenient.Input, req.Input) {
				t.Fatalf("strict %+v and lenient %+v (%v) decodings of %q differ", req, lenient, err, body)
			}
		}
		if p := checkText("id", id, MaxIDLength); p == nil {
			if !utf8.ValidString(id) || strings.TrimSpace(id) != id ||
				strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) || r == utf8.RuneError }) >= 0 {
				t.Fatalf("accepted the ID %q", id)
			}
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return // admit answers 400
		}
		if _, err := parseRunFilter(q); err != nil {
			mustBeProblem(t, err, http.StatusBadRequest)
		}
		if _, err := parseEventFilter(q); err != nil {
			mustBeProblem(t, err, http.StatusBadRequest)
		}
		if _, err := parseLimit(q); err != nil {
			mustBeProblem(t, err, http.StatusBadRequest)
		}
	})
}

func mustBeProblem(t *testing.T, err error, status int) {
	t.Helper()
	var p *Problem
	if !errors.As(err, &p) || p.Status != status || p.Type == "" {
		t.Fatalf("error %v, want a %d problem", err, status)
	}
}
