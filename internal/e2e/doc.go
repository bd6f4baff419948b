// Package e2e holds weft's end-to-end test of a team's own app: a binary
// of the user's (./app, built on package weftapp, with its own workflows,
// entity, consumer and schedule, none of weft's examples) runs as `serve`
// and as two `worker`s on PostgreSQL, and the test operates it with the
// stock weft command over HTTP, checking every operation in the run's
// journal, in the store and in the API.
//
// The package has no code of its own; it runs with `go test ./...`.
package e2e
