package api

import "net/http"

// Roles of a caller (Whoami.Role).
const (
	// RoleAdmin may call every route.
	RoleAdmin = "admin"
	// RoleRead may call only the routes that change nothing.
	RoleRead = "read"
)

// Whoami is the answer of GET /api/whoami: the caller's token name (the
// actor recorded with its operations; "local" on a server without tokens)
// and its role, which tells a client such as the UI which controls to show.
type Whoami struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (h *handler) whoami(w http.ResponseWriter, r *http.Request) error {
	// The request was admitted as a read: ask again as a change to learn
	// whether this caller may make one.
	role := RoleRead
	if _, p := authorize(r, h.opts, true); p == nil {
		role = RoleAdmin
	}
	writeJSON(w, http.StatusOK, Whoami{Name: actorOf(r), Role: role})
	return nil
}
