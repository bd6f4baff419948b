package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// runsUpdateCommand is `weft runs update`: send an update to a run and
// print its handler's answer.
func (a *app) runsUpdateCommand() *cobra.Command {
	var input, id string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "update ID NAME [--input JSON|@file.json] [--id UPDATE_ID]",
		Short: "Send an update to a run and print its handler's result",
		Long: `Send the update NAME with an optional JSON input to the run ID, and wait
for the answer of the handler the workflow registered (weft.HandleUpdate): its
result, or the validator's rejection or the handler's error (exit 1). The
update is stored before the answer is awaited; sent again with the same --id,
it is not handled again and gets the same answer.`,
		Example: `  weft runs update booking-7 seats --input '{"seats":3}' --id change-1
  weft runs update booking-7 seats --input @change.json --timeout 30s`,
		Args: args(2, 2, "ID NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.UpdateRequest{UpdateID: id}
			if input != "" {
				b, err := jsonValue(input, "the input of update "+args[1])
				if err != nil {
					return err
				}
				req.Input = b
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			c, err := a.connect(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var out api.UpdateResponse
			if _, err := c.post(ctx, api.UpdatePath(args[0], args[1]), req, &out); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, out)
			}
			return writeRaw(a.stdout, out.Result)
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "the input as JSON, or @file.json")
	cmd.Flags().StringVar(&id, "id", "", "the update's ID, its idempotency key (default: a random one)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up waiting for the answer after this long (default: wait until interrupted)")
	return cmd
}
