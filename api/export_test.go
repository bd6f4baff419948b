package api

import "net/http"

// WrapForTest puts wrap around everything s serves, so that a test can
// hold the answers of Server.Serve to the OpenAPI document.
func (s *Server) WrapForTest(wrap func(http.Handler) http.Handler) { s.handler = wrap(s.handler) }

// MuxPatterns are the ServeMux patterns of routes whose own pattern the
// ServeMux refuses (see muxPatterns), for the contract tests' ServeMux.
var MuxPatterns = muxPatterns
