package weft_test

import (
	"runtime"
	"strings"

	"github.com/weftrun/weft"
)

var weftListAll = weft.RunFilter{Limit: 100000}

// goroutinesIn counts goroutines whose stack contains fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}
