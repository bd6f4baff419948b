package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/weftrun/weft/api"
)

// The export route answers JSON lines: the document types them as a string,
// so the check reads them as one.
func init() {
	openapi3filter.RegisterBodyDecoder(api.NDJSONType, func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	})
}

// The API tests hold every request they send and every answer they get to
// the OpenAPI document: every server a test starts (newTestAPI,
// newTestServerWith, startServer) serves through validated. A route added
// to the API is held to the document without anything to add here.

// contract is the OpenAPI document, loaded and validated once.
var contract = sync.OnceValues(func() (*contractDoc, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	c := &contractDoc{doc: doc, mux: http.NewServeMux()}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			rt := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			names := pathParamNames(path)
			pattern := method + " " + path
			if p, ok := api.MuxPatterns[pattern]; ok {
				pattern = p
			}
			c.mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
				m := r.Context().Value(matchKey{}).(*match)
				m.route = rt
				m.params = map[string]string{}
				for _, n := range names {
					m.params[n] = r.PathValue(n)
				}
			})
		}
	}
	return c, nil
})

// contractDoc is the loaded document and a ServeMux that finds the
// operation of a request as the API's own ServeMux does (a path segment
// holding an escaped "/" included).
type contractDoc struct {
	doc *openapi3.T
	mux *http.ServeMux
}

type matchKey struct{}

type match struct {
	route  *routers.Route
	params map[string]string
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func pathParamNames(path string) []string {
	var out []string
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// find returns the documented operation of r, or nil.
func (c *contractDoc) find(r *http.Request) *match {
	m := &match{}
	c.mux.ServeHTTP(discardWriter{}, r.WithContext(context.WithValue(r.Context(), matchKey{}, m)))
	if m.route == nil {
		return nil
	}
	return m
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

func loadContract(t testing.TB) *contractDoc {
	t.Helper()
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOpenAPIDocumentIsValid checks the document with kin-openapi's
// validator: it loads, its references resolve, its schemas are valid.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	c := loadContract(t)
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if len(op.Tags) == 0 {
				t.Errorf("%s %s has no tag", method, path)
			}
			if op.Responses.Default() == nil {
				t.Errorf("%s %s documents no default (problem) answer", method, path)
			}
		}
	}
	if len(c.doc.Servers) == 0 {
		t.Error("the document has no servers")
	}
}

// validated serves h and fails t when a request or an answer does not
// match the OpenAPI document:
//   - the answer's status must be documented for the operation (not only
//     by its default), and the answer must match that response: content
//     type and schema, required members included; the events of a
//     Server-Sent Events stream must match the schemas of x-sse-events;
//   - a request the server accepts (a status below 400) must match the
//     document: parameters and body. A request that does not match must be
//     refused with a documented status; tests send such requests on purpose.
//
// Requests to paths the document does not have (unknown routes, the UI)
// are served without checks.
func validated(t testing.TB, h http.Handler) http.Handler {
	c := loadContract(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := c.find(r)
		if m == nil {
			h.ServeHTTP(w, r)
			return
		}
		var body bytes.Buffer
		if r.Body != nil {
			r.Body = teeBody{ReadCloser: r.Body, w: &body}
		}
		cw := &checkedWriter{w: w, c: c, m: m}
		h.ServeHTTP(cw, r)
		cw.finish()
		if err := c.check(r, m, body.Bytes(), cw); err != nil {
			t.Errorf("%s %s answered %d against the OpenAPI document: %v\nrequest body: %s\nanswer: %.2000s", r.Method, r.URL, cw.status, err, body.Bytes(), cw.buf.Bytes())
		}
	})
}

// check holds one exchange to the document.
func (c *contractDoc) check(r *http.Request, m *match, reqBody []byte, cw *checkedWriter) error {
	ctx := context.Background()
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: m.params, Route: m.route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && cw.status < 400 {
		return fmt.Errorf("the server accepted a request the document does not allow: %w", err)
	}
	if m.route.Operation.Responses.Status(cw.status) == nil {
		return fmt.Errorf("status %d is not documented for %s", cw.status, m.route.Operation.OperationID)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: cw.status, Header: cw.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: cw.stream}}
	out.SetBodyBytes(cw.buf.Bytes())
	if cw.stream {
		out.SetBodyBytes(nil)
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return err
	}
	return cw.streamErr
}

// eventSchemas returns the x-sse-events of a stream answer: the schema
// reference of each event's data, by event name.
func eventSchemas(resp *openapi3.Response) (map[string]any, error) {
	mt := resp.Content.Get("text/event-stream")
	if mt == nil {
		return nil, errors.New("the answer is a stream of events, the document says otherwise")
	}
	schemas, _ := mt.Extensions["x-sse-events"].(map[string]any)
	return schemas, nil
}

func (c *contractDoc) checkEvent(schemas map[string]any, event, data string) error {
	sref, _ := schemas[event].(map[string]any)
	name, _ := sref["$ref"].(string)
	schema := c.doc.Components.Schemas[strings.TrimPrefix(name, "#/components/schemas/")]
	if schema == nil {
		return fmt.Errorf("event %q is not in x-sse-events (%v)", event, schemas)
	}
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return fmt.Errorf("event %q: data %s: %w", event, data, err)
	}
	if err := schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("event %q: data %s: %w", event, data, err)
	}
	return nil
}

// teeBody keeps what the handler reads of a request body.
type teeBody struct {
	io.ReadCloser
	w *bytes.Buffer
}

func (b teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.Write(p[:n])
	return n, err
}

// checkedWriter keeps an answer to check it: a JSON answer is held back
// until the handler returns; a stream of events passes through as it is
// written, and each event is checked as it completes and then dropped, so
// that a long stream holds no more memory than it does unchecked.
type checkedWriter struct {
	c         *contractDoc
	m         *match
	w         http.ResponseWriter
	status    int
	stream    bool
	buf       bytes.Buffer
	events    map[string]any
	streamErr error
}

func (c *checkedWriter) Header() http.Header { return c.w.Header() }

func (c *checkedWriter) WriteHeader(code int) {
	if c.status != 0 {
		return
	}
	c.status = code
	mt, _, _ := mime.ParseMediaType(c.w.Header().Get("Content-Type"))
	if c.stream = mt == "text/event-stream"; c.stream {
		if resp := c.m.route.Operation.Responses.Status(code); resp != nil {
			c.events, c.streamErr = eventSchemas(resp.Value)
		}
		c.w.WriteHeader(code)
	}
}

func (c *checkedWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	c.buf.Write(b)
	if !c.stream {
		return len(b), nil
	}
	for {
		i := bytes.Index(c.buf.Bytes(), []byte("\n\n"))
		if i < 0 {
			break
		}
		if err := c.checkEvent(string(c.buf.Next(i + 2))); err != nil && c.streamErr == nil {
			c.streamErr = err
		}
	}
	return c.w.Write(b)
}

// checkEvent checks one event of a stream: its data against the schema
// x-sse-events names for it. Comments and the retry field have no data.
func (c *checkedWriter) checkEvent(block string) error {
	event, data := "message", ""
	for line := range strings.SplitSeq(block, "\n") {
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		} else if v, ok := strings.CutPrefix(line, "data: "); ok {
			data += v
		}
	}
	if data == "" {
		return nil
	}
	return c.c.checkEvent(c.events, event, data)
}

// Flush flushes a stream; a held-back answer is written by finish.
func (c *checkedWriter) Flush() {
	if c.stream {
		_ = http.NewResponseController(c.w).Flush()
	}
}

// Unwrap lets an http.ResponseController reach the connection (read
// deadlines).
func (c *checkedWriter) Unwrap() http.ResponseWriter { return c.w }

func (c *checkedWriter) finish() {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if !c.stream {
		c.w.WriteHeader(c.status)
		_, _ = c.w.Write(c.buf.Bytes())
	}
}

// startServer serves srv, held to the OpenAPI document, with Server.Serve
// on a loopback listener, as the CLI serves it (graceful shutdown, the
// connection cap of its options), and returns the address. stop ends it
// and returns what Serve returned; the test's cleanup stops it, and fails
// the test on an error, if the test did not.
func startServer(t *testing.T, srv *api.Server) (addr string, stop func() error) {
	t.Helper()
	srv.WrapForTest(func(h http.Handler) http.Handler { return validated(t, h) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-served
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), stop
}

// recordingTB records the errors a check reports instead of failing.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestContractCatchesMismatches checks that validated reports each kind of
// mismatch it is there to catch, so that the API tests passing through it
// means something.
func TestContractCatchesMismatches(t *testing.T) {
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		ctype, answer            string
		want                     string
	}{
		{"a required member missing", "GET", "/api/workflows", "", 200, "application/json", `{"workflows":[]}`, "definitions"},
		{"a member of the wrong type", "GET", "/api/runs/r1", "", 200, "application/json",
			`{"id":"r1","workflow":"w","status":"running","version":"1","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`, "version"},
		{"an undocumented status", "POST", "/api/runs/r1/cancel", "", 418, "application/problem+json", `{"type":"x","title":"t","status":418}`, "not documented"},
		{"a problem that is not one", "GET", "/api/runs/r1", "", 404, "application/problem+json", `{"title":"t"}`, "type"},
		{"an accepted request the document refuses", "POST", "/api/runs", `{"workflow":"w","id":"r1","bogus":1}`, 201, "application/json",
			`{"id":"r1","workflow":"w","status":"pending","version":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`, "accepted a request"},
		{"a stream event of the wrong shape", "GET", "/api/live/events", "", 200, "text/event-stream", "retry: 2000\n\nevent: event\nid: 1\ndata: {\"position\":1}\n\n", "event \"event\""},
		{"an undocumented stream event", "GET", "/api/live/events", "", 200, "text/event-stream", "event: gossip\ndata: {}\n\n", "gossip"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			h := validated(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.answer)
			}))
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.method == "POST" {
				req.Header.Set("Content-Type", "application/json")
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], c.want) {
				t.Errorf("reported %q, want one error mentioning %q", rec.errs, c.want)
			}
		})
	}
}
