package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// viewsCommand is "weft views": the app's views and their queries (GET
// /api/views), and a query's rows (GET /api/views/{view}/{query}).
func (a *app) viewsCommand() *cobra.Command {
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List the views with their queries and parameters",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list api.ViewList
			if printed, err := a.read(cmd, "/api/views", nil, &list); err != nil || printed {
				return err
			}
			var rows [][]string
			for _, v := range list.Views {
				for _, q := range v.Queries {
					rows = append(rows, []string{v.Name, q.Name, orDash(strings.Join(q.Params, ", ")), orDash(q.Description)})
				}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no views")
			}
			return table(a.stdout, "VIEW\tQUERY\tPARAMS\tDESCRIPTION", rows)
		},
	}
	query := &cobra.Command{
		Use:   "query VIEW QUERY [PARAM=VALUE…]",
		Short: "Run a view's query and print its rows",
		Example: `  weft views query seats by_show show=s-1
  weft views query seats by_show show=s-1 --json`,
		Args: args(2, -1, "VIEW QUERY [PARAM=VALUE…]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			for _, kv := range args[2:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("parameters are PARAM=VALUE, not %q", kv)
				}
				q.Set(k, v)
			}
			var out api.ViewRows
			if printed, err := a.read(cmd, "/api/views/"+url.PathEscape(args[0])+"/"+url.PathEscape(args[1]), q, &out); err != nil || printed {
				return err
			}
			var cols []string
			for _, r := range out.Rows {
				for c := range r {
					if !slices.Contains(cols, c) {
						cols = append(cols, c)
					}
				}
			}
			slices.Sort(cols)
			rows := make([][]string, len(out.Rows))
			for i, r := range out.Rows {
				for _, c := range cols {
					b, _ := json.Marshal(r[c])
					rows[i] = append(rows[i], truncate(compact(b), 60))
				}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no rows")
				return nil
			}
			return table(a.stdout, strings.ToUpper(strings.Join(cols, "\t")), rows)
		},
	}
	return group("views", "List views and run their queries", []string{"view"}, ls, query)
}
