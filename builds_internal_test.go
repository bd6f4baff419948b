package weft

import (
	"runtime/debug"
	"testing"
)

// TestBuildIDOf checks the default build of a binary from its build
// information: the main module's version, else the VCS revision (marked
// dirty when modified), else "dev".
func TestBuildIDOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name    string
		version string
		set     []debug.BuildSetting
		want    string
	}{
		{"module version", "v1.4.2", vcs("abc123", "false"), "v1.4.2"},
		{"revision", "(devel)", vcs("abc123", "false"), "abc123"},
		{"dirty revision", "(devel)", vcs("abc123", "true"), "abc123-dirty"},
		{"nothing", "(devel)", nil, "dev"},
		{"no version", "", nil, "dev"},
	} {
		info := &debug.BuildInfo{Main: debug.Module{Path: "example.com/app", Version: tc.version}, Settings: tc.set}
		if got := buildIDOf(info); got != tc.want {
			t.Errorf("%s: buildIDOf = %q, want %q", tc.name, got, tc.want)
		}
	}
	if defaultBuildID() == "" {
		t.Error("defaultBuildID is empty")
	}
}
