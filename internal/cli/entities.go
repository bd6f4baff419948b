package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// EntityOutput is what `entity show --json` prints: the entity's state (as
// GET /api/entities/{type}/{id} answers; absent offline, where no entity
// type is registered to fold the events) and its events.
type EntityOutput struct {
	*api.EntityState
	Events []api.Event `json:"events"`
}

// entityEvents reads an entity's events: from the app, or offline from the
// log (the events route needs the entity type registered).
func entityEvents(ctx context.Context, c *client, typ, id string) ([]api.Event, error) {
	if !c.offline {
		var out api.EntityEvents
		err := c.get(ctx, api.EntityPath(typ, id)+"/events", nil, &out)
		return out.Events, err
	}
	o := tailOptions{streamPrefix: typ + ":" + id, stream: typ + ":" + id}
	var evs []api.Event
	for after := int64(0); ; {
		page, err := eventPage(ctx, c, o, after)
		if err != nil {
			return nil, err
		}
		evs = append(evs, page.Events...)
		if page.NextAfter == after {
			return evs, nil
		}
		after = page.NextAfter
	}
}

func (a *app) entityCommand() *cobra.Command {
	show := &cobra.Command{
		Use:   "show TYPE ID",
		Short: "Show an entity's state, version and events",
		Long: `Show the entity ID of type TYPE: its state (the fold of its events, as the
app computes it), its version and its events, oldest first. Offline (--db),
only the events: the state needs the app's entity type.`,
		Example: `  weft entity show booking b-1`,
		Args:    args(2, 2, "TYPE ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.connect(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer c.close()
			var out EntityOutput
			if !c.offline {
				out.EntityState = &api.EntityState{}
				if err := c.get(ctx, api.EntityPath(args[0], args[1]), nil, out.EntityState); err != nil {
					return err
				}
			}
			evs, err := entityEvents(ctx, c, args[0], args[1])
			if err != nil {
				return err
			}
			out.Events = evs
			if a.asJSON {
				return writeJSON(a.stdout, out)
			}
			if out.EntityState != nil {
				a.printEntity(*out.EntityState)
			} else {
				fmt.Fprintf(a.stdout, "entity    %s %s\nstate     - (offline: the app's entity type folds the events)\n", args[0], args[1])
			}
			fmt.Fprintf(a.stdout, "\nevents (%d)\n", len(out.Events))
			rows := make([][]string, len(out.Events))
			for i, ev := range out.Events {
				rows[i] = []string{strconv.FormatInt(ev.Version, 10), strconv.FormatInt(ev.Position, 10), ev.Type, fmtTime(ev.Time), orDash(truncate(compact(ev.Data), 100))}
			}
			return table(a.stdout, "VER\tPOS\tTYPE\tTIME\tDATA", rows)
		},
	}
	var commandID string
	send := &cobra.Command{
		Use:   "send TYPE ID JSON|@file.json",
		Short: "Send a command (JSON) to an entity and print its new state",
		Long: `Send the command JSON to the entity ID of type TYPE: the app decodes it into
the entity's command type and decides it; the entity's error is printed if
it rejects it (nothing is appended). For an entity whose command type is an
interface, the command is {"type": NAME, "data": …}.`,
		Example: `  weft entity send booking b-1 '{"cancel":{"reason":"changed plans"}}' --command-id cancel-b-1`,
		Args:    args(3, 3, "TYPE ID JSON"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := jsonValue(args[2], "the command")
			if err != nil {
				return err
			}
			c, err := a.connect(cmd.Context(), cmd, false)
			if err != nil {
				return err
			}
			defer c.close()
			var st api.EntityState
			if _, err := c.post(cmd.Context(), api.EntityPath(args[0], args[1])+"/commands", api.CommandRequest{Command: b, CommandID: commandID}, &st); err != nil {
				return err
			}
			if a.asJSON {
				return writeJSON(a.stdout, st)
			}
			fmt.Fprintf(a.stdout, "sent; %s at version %d\n", st.Stream, st.Version)
			a.printEntity(st)
			return nil
		},
	}
	send.Flags().StringVar(&commandID, "command-id", "", "idempotency key: a command ID the entity applied already appends nothing")
	var reason string
	erase := &cobra.Command{
		Use:   "erase TYPE ID --reason R",
		Short: "Erase an entity's data (its events and snapshots become one tombstone event), for data protection requests",
		Args:  args(2, 2, "TYPE ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usagef("--reason is required: say why the data is erased (kept in the tombstone)")
			}
			return a.post(cmd, api.EntityPath(args[0], args[1])+"/erase", opRequest{Reason: reason}, fmt.Sprintf("erased entity %s %s", args[0], args[1]))
		},
	}
	erase.Flags().StringVar(&reason, "reason", "", "why the data is erased (required)")
	return group("entity", "Show entities' state and events, send them commands, erase them", []string{"entities"}, show, send, erase)
}

func (a *app) printEntity(st api.EntityState) {
	w := a.stdout
	fmt.Fprintf(w, "entity    %s %s\n", st.Type, st.ID)
	fmt.Fprintf(w, "stream    %s\n", st.Stream)
	fmt.Fprintf(w, "version   %d\n", st.Version)
	var buf bytes.Buffer
	state := "-"
	if len(st.State) > 0 && json.Indent(&buf, st.State, "          ", "  ") == nil {
		state = buf.String()
	}
	fmt.Fprintf(w, "state     %s\n", state)
}
