package cli

import (
	"crypto/subtle"
	"fmt"
	"os"
	"strings"

	"github.com/weftrun/weft/api"
)

// tokenFlags are --admin-token and --read-token: named bearer tokens,
// NAME=SECRET, each flag repeatable and each value possibly a
// comma-separated list (as in WEFT_ADMIN_TOKENS and WEFT_READ_TOKENS).
type tokenFlags struct {
	admin, read []string
}

// envList splits a comma-separated environment variable.
func envList(name string) []string {
	if v := os.Getenv(name); v != "" {
		return []string{v}
	}
	return nil
}

// parse returns the tokens, checking that each is NAME=SECRET (a usage
// error otherwise).
func (f tokenFlags) parse() ([]api.Token, error) {
	toks, err := api.ParseTokens(f.admin, f.read)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return toks, nil
}

// applyTokens is the one place that turns the token flags into the API's
// options. With no token the API is open on loopback only (AllowOpen).
func applyTokens(o *api.Options, toks []api.Token) error {
	o.Tokens = toks
	o.AllowOpen = len(toks) == 0
	return nil
}

// hasAnyToken reports whether the request header carries one of toks, for
// the worker's /metrics.
func hasAnyToken(authorization string, toks []api.Token) bool {
	scheme, got, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got = strings.TrimSpace(got)
	for _, t := range toks {
		if subtle.ConstantTimeCompare([]byte(got), []byte(t.Secret)) == 1 {
			return true
		}
	}
	return false
}

// tokenNote describes the configured tokens for the banner.
func tokenNote(toks []api.Token) string {
	if len(toks) == 0 {
		return "none: the API is open to this machine only"
	}
	names := make([]string, len(toks))
	for i, t := range toks {
		kind := "read"
		if t.Admin {
			kind = "admin"
		}
		names[i] = fmt.Sprintf("%s (%s)", t.Name, kind)
	}
	return strings.Join(names, ", ")
}
