package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// buildsCommand is "weft builds": the builds with their runs in flight and
// the workers reporting them (GET /api/builds), so that an operator sees
// when an old build's workers may stop (its runs in flight reach 0).
func (a *app) buildsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "builds",
		Short: "List builds with their runs in flight and the workers running them",
		Long: `List the builds of the app (weft.Config.BuildID) that have runs in flight
(not ended) or workers reporting them. A build whose runs stay on it
(weft.BuildPolicy(weft.StayOnBuild)) needs its workers until its runs in
flight reach 0. Runs stored before builds were recorded are under "(none)".`,
		Example: `  weft builds
  weft builds --db ./app.db      # a stopped app's store`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list api.BuildList
			if printed, err := a.read(cmd, "/api/builds", nil, &list); err != nil || printed {
				return err
			}
			rows := make([][]string, len(list.Builds))
			for i, b := range list.Builds {
				workers := make([]string, len(b.Workers))
				for j, w := range b.Workers {
					workers[j] = fmt.Sprintf("%s (seen %s)", w.ID, fmtTime(w.LastSeen))
				}
				id := b.ID
				if id == "" {
					id = "(none)"
				}
				rows[i] = []string{id, strconv.FormatInt(b.RunsInFlight, 10), orDash(strings.Join(workers, ", "))}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no builds")
			}
			return table(a.stdout, "BUILD\tRUNS IN FLIGHT\tWORKERS", rows)
		},
	}
}
