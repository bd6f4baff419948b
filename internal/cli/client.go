package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/store/postgres"
	"github.com/weftrun/weft/store/sqlite"
)

// DefaultAddrURL is the app the admin commands talk to without --addr or
// WEFT_ADDR: where `weft dev` and `serve` listen by default.
const DefaultAddrURL = "http://127.0.0.1:7070"

// ProblemError is an error answer of the app's API: its problem+json
// document and HTTP status.
type ProblemError struct {
	api.Problem
}

// Error returns the problem's title and detail.
func (e *ProblemError) Error() string { return e.Problem.Error() }

// client talks to an app's HTTP API: a running one over the network, or a
// stopped one's store through the API served in process (offline).
type client struct {
	base    string // "http://host:port", without a trailing slash
	token   string
	http    *http.Client
	offline bool
	closeFn func()
}

func (c *client) close() {
	if c.closeFn != nil {
		c.closeFn()
	}
}

// read gets path (with q) into out for a read-only command, from the
// running app or, with --db, offline; with --json it prints out too and
// reports printed, so that the command has nothing left to do.
func (a *app) read(cmd *cobra.Command, path string, q url.Values, out any) (printed bool, err error) {
	c, err := a.connect(cmd.Context(), cmd, true)
	if err != nil {
		return false, err
	}
	defer c.close()
	if err := c.get(cmd.Context(), path, q, out); err != nil {
		return false, err
	}
	if a.asJSON {
		return true, writeJSON(a.stdout, out)
	}
	return false, nil
}

// connect returns the client of an admin command: offline on --db when the
// command only reads (readOnly), over HTTP to --addr otherwise.
func (a *app) connect(ctx context.Context, cmd *cobra.Command, readOnly bool) (*client, error) {
	if cmd.Flags().Changed("db") {
		if !readOnly {
			return nil, usagef("%s changes the app: it talks to the running app over its API (--addr URL, env %s), never to its database; --db is for read-only commands", cmd.CommandPath(), EnvAddr)
		}
		return a.offline(ctx)
	}
	base := a.addr
	if base == "" {
		base = DefaultAddrURL
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usagef("--addr %q is not an http:// or https:// URL of the app", a.addr)
	}
	return &client{base: strings.TrimRight(base, "/"), token: a.token, http: &http.Client{}}, nil
}

// offline opens the store of --db read-only, without migrating it or
// registering anything, and serves the API over it in process.
func (a *app) offline(ctx context.Context) (*client, error) {
	var st store.Store
	var err error
	if isPostgres(a.db) {
		st, err = postgres.Open(ctx, a.db, &postgres.Options{MustExist: true})
	} else {
		if err := a.checkExists(); err != nil {
			return nil, err
		}
		st, err = sqlite.Open(ctx, a.db, &sqlite.Options{MustExist: true, Client: true})
	}
	if err != nil {
		return nil, a.openError(err)
	}
	eng, err := weft.New(weft.Config{Store: st})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	h := api.New(eng, api.Options{})
	msg := fmt.Sprintf("offline: reading the store %s directly (the app is not asked; nothing is registered or migrated)", a.storeName())
	if a.asJSON || a.dataOut {
		fmt.Fprintln(a.stderr, msg)
	} else {
		fmt.Fprintln(a.stdout, msg)
	}
	return &client{base: "http://localhost", http: &http.Client{Transport: handlerTransport{h}}, offline: true, closeFn: func() { _ = st.Close() }}, nil
}

// handlerTransport answers requests with an http.Handler in process, as a
// loopback request on localhost.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	r = r.Clone(context.WithValue(r.Context(), http.LocalAddrContextKey, loop))
	r.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	defer func() {
		// A handler that breaks its answer off (a journal export failing
		// midway) is a failed request, as over a network.
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			resp, err = nil, errors.New("the answer was broken off")
		}
	}()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// do sends a request to the API at path (with query q) and decodes a 2xx
// answer into out (when not nil). body, when not nil, is sent as JSON; a
// request that changes something always carries the JSON content type. An
// error answer is a *ProblemError. It returns the answer's status.
func (c *client) do(ctx context.Context, method, path string, q url.Values, body, out any) (int, error) {
	resp, err := c.send(ctx, method, path, q, body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, problemOf(resp, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if raw, ok := out.(*json.RawMessage); ok {
			*raw = append((*raw)[:0], data...)
			return resp.StatusCode, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("the answer of %s %s is not the JSON expected: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// stream GETs path (with query q) and copies a 2xx answer, however long,
// to w as it arrives; an error answer is a *ProblemError.
func (c *client) stream(ctx context.Context, path string, q url.Values, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return problemOf(resp, data)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("reading the answer of GET %s (it may be incomplete): %w", path, err)
	}
	return nil
}

// send sends a request to the API at path (with query q); body, when not
// nil, is sent as JSON. The caller closes the answer's body.
func (c *client) send(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach the app at %s (is it running? pass --addr URL or set %s): %w", c.base, EnvAddr, err)
	}
	return resp, nil
}

// problemOf returns the error of an error answer: its problem+json
// document, or its status and text when it has none.
func problemOf(resp *http.Response, data []byte) error {
	var p api.Problem
	if json.Unmarshal(data, &p) == nil && p.Title != "" {
		if p.Status == 0 {
			p.Status = resp.StatusCode
		}
		return &ProblemError{p}
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return &ProblemError{api.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: text}}
}

// get is do for a GET.
func (c *client) get(ctx context.Context, path string, q url.Values, out any) error {
	_, err := c.do(ctx, http.MethodGet, path, q, nil, out)
	return err
}

// post is do for a POST.
func (c *client) post(ctx context.Context, path string, body, out any) (int, error) {
	return c.do(ctx, http.MethodPost, path, nil, body, out)
}

// pollEvery is how often commands that wait (runs result --wait, a bulk
// job, events tail --follow) ask the app again.
const pollEvery = 250 * time.Millisecond

// sleepCtx waits d or until ctx ends, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
