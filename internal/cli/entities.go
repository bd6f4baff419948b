package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// --- entities

func (a *app) entityCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "entity",
		Aliases: []string{"entities"},
		Short:   "Show entities' state and events, and send them commands",
		Args:    args(0, 0, "a subcommand: show, send or types"),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.entityShowCommand(), a.entitySendCommand(), a.entityTypesCommand())
	return cmd
}

func (a *app) entityTypesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "types",
		Short: "List the entity types registered by the examples",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.openClient(cmd.Context())
			if err != nil {
				return err
			}
			defer c.close()
			for _, t := range c.eng.EntityTypes() {
				fmt.Fprintln(a.stdout, t)
			}
			return nil
		},
	}
}

func (a *app) entityShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show TYPE ID",
		Short: "Show an entity's state, version and events",
		Long: `Show the entity ID of type TYPE: its state (the fold of its events, as
JSON), its version (its number of events; 0: none yet, the initial state),
and its events, oldest first.`,
		Example: `  weft entity show booking b-1
  weft entity show wallet alice --json`,
		Args: args(2, 2, "TYPE ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.entityShow(cmd.Context(), args[0], args[1], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print JSON: {"type", "id", "stream", "version", "state", "events"}`)
	return cmd
}

func (a *app) entityShow(ctx context.Context, typ, id string, asJSON bool) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	state, version, err := c.eng.Untyped().EntityState(ctx, typ, id)
	if err != nil {
		return a.entityError(c, err)
	}
	evs, err := c.eng.Untyped().EntityEvents(ctx, typ, id)
	if err != nil {
		return a.entityError(c, err)
	}
	out := EntityOutput{Type: typ, ID: id, Stream: weftype.StreamName(typ, id), Version: version, State: jsonOrString(state), Events: make([]EventView, len(evs))}
	for i, ev := range evs {
		out.Events[i] = newEventView(ev)
	}
	if asJSON {
		return writeJSON(a.stdout, out)
	}
	a.printEntity(out)
	if len(evs) == 0 {
		fmt.Fprintf(a.stdout, "\nno events: %s %q has the initial state\n", typ, id)
		return nil
	}
	fmt.Fprintf(a.stdout, "\nevents (%d)\n", len(evs))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VER\tPOS\tTYPE\tTIME\tDATA")
	for _, ev := range evs {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", ev.Version, ev.Position, ev.Type, fmtTime(ev.Time), orDash(truncate(compact(jsonOrString(ev.Data)), 100)))
	}
	return tw.Flush()
}

func (a *app) printEntity(out EntityOutput) {
	w := a.stdout
	fmt.Fprintf(w, "entity    %s %s\n", out.Type, out.ID)
	fmt.Fprintf(w, "stream    %s\n", out.Stream)
	fmt.Fprintf(w, "version   %d\n", out.Version)
	state := "-"
	if len(out.State) > 0 {
		var v any
		if json.Unmarshal(out.State, &v) == nil {
			if b, err := json.MarshalIndent(v, "          ", "  "); err == nil {
				state = string(b)
			}
		}
	}
	fmt.Fprintf(w, "state     %s\n", state)
}

func (a *app) entitySendCommand() *cobra.Command {
	var commandID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "send TYPE ID JSON",
		Short: "Send a command (JSON) to an entity and print its new state",
		Long: `Send the command JSON to the entity ID of type TYPE: the entity decides it
on its current state and appends the resulting events, or rejects it (the
entity's error is printed, nothing is appended). For an entity whose command
type is an interface, the command is {"type": NAME, "data": …}.

The consumers of the process running ` + "`weft dev`" + ` handle the new events on
their next poll.`,
		Example: `  weft entity send booking b-1 '{"place":{"client":"ann","concert":"open-rehearsal","seats":["A1"]}}'
  weft entity send booking b-1 '{"cancel":{"reason":"changed plans"}}' --command-id cancel-b-1`,
		Args: args(3, 3, "TYPE ID JSON"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := jsonArg(args[2], "JSON (the command for "+args[0]+" "+args[1]+")")
			if err != nil {
				return err
			}
			return a.entitySend(cmd.Context(), args[0], args[1], b, commandID, asJSON)
		},
	}
	cmd.Flags().StringVar(&commandID, "command-id", "", "idempotency key: a command ID the entity applied already appends nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print JSON: {"type", "id", "stream", "version", "state"}`)
	return cmd
}

func (a *app) entitySend(ctx context.Context, typ, id string, cmd []byte, commandID string, asJSON bool) error {
	c, err := a.openClient(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	var opts []weft.CommandOption
	if commandID != "" {
		opts = append(opts, weft.CommandID(commandID))
	}
	_, before, err := c.eng.Untyped().EntityState(ctx, typ, id)
	if err != nil {
		return a.entityError(c, err)
	}
	state, version, err := c.eng.Untyped().SendCommand(ctx, typ, id, cmd, opts...)
	if err != nil {
		var ue *weft.UnknownEntityError
		switch {
		case errors.As(err, &ue):
			return a.entityError(c, err)
		case errors.Is(err, weft.ErrInvalidInput):
			return err
		case errors.Is(err, weft.ErrConflict), errors.Is(err, weftype.ErrStoreClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return err
		}
		return fmt.Errorf("%s %q rejected the command: %w", typ, id, err)
	}
	out := EntityOutput{Type: typ, ID: id, Stream: weftype.StreamName(typ, id), Version: version, State: jsonOrString(state)}
	if asJSON {
		return writeJSON(a.stdout, out)
	}
	switch n := version - before; {
	case n > 0:
		fmt.Fprintf(a.stdout, "sent: %d event(s) appended to %s, now at version %d\n", n, out.Stream, version)
	default:
		fmt.Fprintf(a.stdout, "sent: nothing to append (already applied, or no change); %s at version %d\n", out.Stream, version)
	}
	a.printEntity(out)
	return nil
}

// entityError explains an unknown entity type.
func (a *app) entityError(c *client, err error) error {
	var ue *weft.UnknownEntityError
	if errors.As(err, &ue) {
		known := c.eng.EntityTypes()
		if len(known) == 0 {
			return fmt.Errorf("unknown entity type %q; no entity type is registered", ue.Name)
		}
		return fmt.Errorf("unknown entity type %q; known entity types: %s", ue.Name, strings.Join(known, ", "))
	}
	return err
}
