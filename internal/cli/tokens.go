package cli

import (
	"crypto/subtle"
	"errors"
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

// token is one parsed named token.
type token struct {
	name, secret string
	admin        bool
}

// parse returns the tokens, checking that each is NAME=SECRET.
func (f tokenFlags) parse() ([]token, error) {
	var out []token
	seen := map[string]bool{}
	for _, src := range []struct {
		items []string
		admin bool
		flag  string
	}{{f.admin, true, "--admin-token"}, {f.read, false, "--read-token"}} {
		for _, item := range src.items {
			for part := range strings.SplitSeq(item, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				name, secret, ok := strings.Cut(part, "=")
				if !ok || name == "" || secret == "" {
					return nil, usagef("%s: %q is not NAME=SECRET", src.flag, redactToken(part))
				}
				if seen[name] {
					return nil, usagef("%s: the token name %q is given twice", src.flag, name)
				}
				seen[name] = true
				out = append(out, token{name: name, secret: secret, admin: src.admin})
			}
		}
	}
	return out, nil
}

// redactToken hides the secret of a NAME=SECRET item for messages.
func redactToken(s string) string {
	if name, _, ok := strings.Cut(s, "="); ok {
		return name + "=…"
	}
	return "…"
}

// errReadTokens: the API of this build has one admin token and no read
// tokens (api.Options.Token).
var errReadTokens = errors.New("this build's API takes exactly one --admin-token and no --read-token")

// applyTokens is the one place that turns the token flags into the API's
// options. With no token the API is open on loopback only (AllowOpen).
//
// TODO(merge): with api.Options.Tokens and api.ParseTokens, this becomes
// `o.Tokens, err = api.ParseTokens(f.admin, f.read)` (AllowOpen when none).
func applyTokens(o *api.Options, toks []token) error {
	switch {
	case len(toks) == 0:
		o.AllowOpen = true
		return nil
	case len(toks) == 1 && toks[0].admin:
		o.Token = toks[0].secret
		return nil
	}
	return usagef("%w (got %d tokens)", errReadTokens, len(toks))
}

// hasAnyToken reports whether the request header carries one of toks, for
// the worker's /metrics.
func hasAnyToken(authorization string, toks []token) bool {
	scheme, got, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got = strings.TrimSpace(got)
	for _, t := range toks {
		if subtle.ConstantTimeCompare([]byte(got), []byte(t.secret)) == 1 {
			return true
		}
	}
	return false
}

// tokenNote describes the configured tokens for the banner.
func tokenNote(toks []token) string {
	if len(toks) == 0 {
		return "none: the API is open to this machine only"
	}
	names := make([]string, len(toks))
	for i, t := range toks {
		kind := "read"
		if t.admin {
			kind = "admin"
		}
		names[i] = fmt.Sprintf("%s (%s)", t.name, kind)
	}
	return strings.Join(names, ", ")
}
