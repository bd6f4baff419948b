package cli

import (
	"github.com/spf13/cobra"

	"github.com/weftrun/weft/weftvet"
)

// vetCommand is `weft vet`: the determinism analyzer of package weftvet over
// the user's packages, in process, so that it needs no second binary.
func (a *app) vetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "vet [packages]",
		Short: "Report workflow code that breaks replay (time, randomness, map order, goroutines, I/O outside steps)",
		Long: `Run the weftdeterminism analyzer on the packages (default ./...): inside the
workflow functions registered with weft.RegisterWorkflow and the functions of their
package they call, it reports time.Now and time.Sleep, math/rand, ranging over
maps, go statements, channel operations, select, writes to package-level
variables and I/O outside weft.Step, weft.TxStep and weft.Record.

Each finding is printed as file:line:col: message; the command exits 1 when
there is any. A finding known to be safe is silenced by a comment
"//weft:nondeterministic-ok <reason>" on its line or the line above. The same
analyzer runs under go vet as the weftvet command:
go vet -vettool=$(which weftvet) ./...`,
		Args: args(0, -1, "package patterns"),
		RunE: func(cmd *cobra.Command, pkgs []string) error {
			if len(pkgs) == 0 {
				pkgs = []string{"./..."}
			}
			_, err := weftvet.Check("", pkgs, a.stdout)
			return err
		},
	}
}
