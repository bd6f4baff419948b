package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/api"
	"github.com/weftrun/weft/store/sqlite"
)

// Example serves the API over an engine on SQLite, starts a run with a
// POST, waits for it, reads it with a GET and shows an error response.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "weft-api-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "weft.db"), nil)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	eng, _ := weft.New(weft.Config{Store: st})
	weft.RegisterWorkflow(eng, "greet", func(_ context.Context, name string) (string, error) {
		return "hello " + name, nil
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Stop(ctx)

	srv := httptest.NewServer(api.New(eng, api.Options{Token: "s3cret"}))
	defer srv.Close()
	// Every request carries the token; a POST also Content-Type: application/json.
	do := func(method, path, body string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s3cret")
		if method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		return res
	}
	res := do("POST", "/api/runs", `{"workflow":"greet","id":"g1","input":"ann"}`)
	res.Body.Close()
	fmt.Println("start:", res.Status)

	if _, err := eng.Wait(ctx, "g1"); err != nil {
		panic(err)
	}
	get := func(path string) {
		res := do("GET", path, "")
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		fmt.Println(res.Status, res.Header.Get("Content-Type"))
		s := string(b)
		for _, field := range []string{`"status"`, `"result"`, `"type"`} {
			if i := strings.Index(s, field); i >= 0 {
				fmt.Println(" ", strings.SplitN(s[i:], ",", 2)[0])
			}
		}
	}
	get("/api/runs/g1")
	get("/api/runs/nope")
	// Output:
	// start: 201 Created
	// 200 OK application/json
	//   "status":"completed"
	//   "result":"hello ann"
	// 404 Not Found application/problem+json
	//   "status":404
	//   "type":"https://weft.dev/problems/run-not-found"
}
