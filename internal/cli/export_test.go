package cli

import (
	"log/slog"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/examples"
)

// RegisterExamples registers the examples as cmd/weft does, for the tests,
// which run Execute with them. Only tests and cmd/weft import the examples
// (see internal/archtest).
func RegisterExamples(eng *weft.Engine, logger *slog.Logger) {
	examples.Register(eng, &examples.Effects{Log: logger})
}
