package api

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Token is a named API token. Admin tokens may call every route; read-only
// ones only those that change nothing (GET). Name is recorded as the actor
// of the run operations done with it (see weft.Actor).
type Token struct {
	Name   string
	Secret string
	Admin  bool
}

// ParseTokens parses the admin and read-only tokens of flags or of the
// environment (WEFT_ADMIN_TOKENS, WEFT_READ_TOKENS): each item is
// "NAME=SECRET" or a comma-separated list of them. Names and secrets must
// not be empty, and names and secrets are unique.
func ParseTokens(admin, read []string) ([]Token, error) {
	var out []Token
	add := func(items []string, isAdmin bool) error {
		for _, item := range items {
			for part := range strings.SplitSeq(item, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				name, secret, ok := strings.Cut(part, "=")
				if !ok || name == "" || secret == "" {
					return fmt.Errorf("api: token %q is not NAME=SECRET", redact(part))
				}
				for _, t := range out {
					if t.Name == name {
						return fmt.Errorf("api: token name %q given twice", name)
					}
					if t.Secret == secret {
						return fmt.Errorf("api: tokens %q and %q have the same secret", t.Name, name)
					}
				}
				out = append(out, Token{Name: name, Secret: secret, Admin: isAdmin})
			}
		}
		return nil
	}
	if err := add(admin, true); err != nil {
		return nil, err
	}
	if err := add(read, false); err != nil {
		return nil, err
	}
	return out, nil
}

// redact keeps the name of a malformed token item and hides its secret.
func redact(item string) string {
	if name, _, ok := strings.Cut(item, "="); ok {
		return name + "=…"
	}
	return "…"
}

// allTokens is Tokens with Token as the admin token "admin".
func (o Options) allTokens() []Token {
	if o.Token == "" || slices.ContainsFunc(o.Tokens, func(t Token) bool { return t.Secret == o.Token }) {
		return o.Tokens
	}
	return append(slices.Clone(o.Tokens), Token{Name: "admin", Secret: o.Token, Admin: true})
}

// anySecret is a configured secret, "" when none.
func (o ServerOptions) anySecret() string {
	if ts := o.allTokens(); len(ts) > 0 {
		return ts[0].Secret
	}
	return ""
}

// token returns the configured token r carries, compared in constant time
// with every one.
func (o Options) token(r *http.Request) (Token, bool) {
	got, ok := bearer(r)
	if !ok {
		return Token{}, false
	}
	var found Token
	match := false
	for _, t := range o.allTokens() {
		if subtle.ConstantTimeCompare([]byte(got), []byte(t.Secret)) == 1 {
			found, match = t, true
		}
	}
	return found, match
}

// authorize checks the bearer token and returns the actor: with tokens,
// every request needs one, and a request that changes something an admin
// one; without, only loopback requests are served, and only reads unless
// Options.AllowOpen (the actor is then "local").
func authorize(r *http.Request, o Options, mutating bool) (string, *Problem) {
	if len(o.allTokens()) == 0 {
		switch {
		case !onLoopback(r):
			return "", problem(http.StatusUnauthorized, ProblemUnauthorized, "this server has no API token configured, so it answers only requests made on a loopback address")
		case !mutating, o.AllowOpen:
			return "local", nil
		default:
			return "", problem(http.StatusUnauthorized, ProblemUnauthorized, "this server has no API token configured and is read-only")
		}
	}
	t, ok := o.token(r)
	if !ok {
		return "", problem(http.StatusUnauthorized, ProblemUnauthorized, `this request needs the header "Authorization: Bearer <token>" with one of the server's tokens`)
	}
	if mutating && !t.Admin {
		return "", problem(http.StatusForbidden, ProblemForbidden, "token %q is read-only; this request changes something and needs an admin token", t.Name)
	}
	return t.Name, nil
}

type actorKey struct{}

func withActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// actorOf is the name of the token the request was admitted with.
func actorOf(r *http.Request) string {
	a, _ := r.Context().Value(actorKey{}).(string)
	return a
}
