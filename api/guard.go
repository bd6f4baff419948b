package api

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// guard is the front of every route: it serves only known Host names, so
// that a page whose name was rebound to this machine (DNS rebinding) reads
// nothing; it refuses cross-origin browser requests that change something
// (http.CrossOriginProtection); and it answers CORS for the origins of
// Options.AllowedOrigins only.
type guard struct {
	hosts   []string
	origins []string
	cop     *http.CrossOriginProtection
	next    http.Handler
}

func newGuard(o Options, next http.Handler) *guard {
	g := &guard{origins: o.AllowedOrigins, cop: http.NewCrossOriginProtection(), next: next}
	for _, h := range o.AllowedHosts {
		g.hosts = append(g.hosts, strings.ToLower(h))
	}
	for _, origin := range o.AllowedOrigins {
		if err := g.cop.AddTrustedOrigin(origin); err != nil {
			panic(err) // Options.Validate, which New and NewServer call, checked them
		}
	}
	return g
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r) {
		writeProblem(w, r, problem(http.StatusMisdirectedRequest, ProblemUnknownHost,
			"this server does not answer for the host %q; it serves loopback addresses, localhost, the address it was reached on and the names it is configured with (allowed hosts)", r.Host))
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(g.origins, origin) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
			h.Set("Access-Control-Max-Age", strconv.Itoa(600))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if err := g.cop.Check(r); err != nil {
		writeProblem(w, r, problem(http.StatusForbidden, ProblemCrossOrigin, "%v; a browser page of another origin may not change anything here unless its origin is allowed", err))
		return
	}
	g.next.ServeHTTP(w, r)
}

// hostAllowed reports whether r's Host names this server: a loopback IP
// address, "localhost", the IP address the request arrived on, or one of
// the allowed hosts. Only IP literals and these exact names count: a name
// such as "evil.localhost" resolves through whatever DNS says.
func (g *guard) hostAllowed(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return true
		}
		local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
		return ok && local.IP.Equal(ip)
	}
	if host == "localhost" {
		return true
	}
	for _, allowed := range g.hosts {
		if host == allowed || (strings.HasPrefix(allowed, ".") && (host == allowed[1:] || strings.HasSuffix(host, allowed))) {
			return true
		}
	}
	return false
}
