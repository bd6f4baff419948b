package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftrun/weft/api"
)

// queuesCommand is "weft queues": the queues of runs (GET /api/queues), with
// what waits and runs in them against their limits.
func (a *app) queuesCommand() *cobra.Command {
	ls := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List queues: runs and steps queued and running, limits and wait",
		Long: `List every queue the store knows (weft.RegisterQueue), with:

  QUEUED     runs waiting to be admitted (delayed starts too)
  RUNNING    runs admitted that have not ended
  LIMIT      the most runs admitted and not ended at once, across workers
  PER WORKER the most runs one worker executes at once
  RATE       admissions per period
  KEY        the most runs at once per concurrency key
  WAIT       how long the run waiting longest has waited
  MEAN WAIT  the mean wait of the runs admitted in the last hour
  STEPS QUEUED   step attempts waiting for a slot (weft.StepOnQueue)
  STEPS RUNNING  step attempts holding a slot

Runs on the queue (weft.OnQueue) and its steps count apart, each against
the queue's limits.

A limit of "-" is no limit.`,
		Example: `  weft queues ls
  weft queues ls --json`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list api.QueueList
			if printed, err := a.read(cmd, "/api/queues", nil, &list); err != nil || printed {
				return err
			}
			limit := func(n int) string {
				if n == 0 {
					return "-"
				}
				return strconv.Itoa(n)
			}
			ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
			rows := make([][]string, len(list.Queues))
			for i, q := range list.Queues {
				rate, wait := "-", "-"
				if q.RateN > 0 {
					rate = fmt.Sprintf("%d/%s", q.RateN, ms(q.RatePerMS))
				}
				if q.OldestQueuedAt != nil {
					wait = fmtAge(ms(q.WaitMS))
				}
				rows[i] = []string{q.Name, strconv.FormatInt(q.Queued, 10), strconv.FormatInt(q.Running, 10), limit(q.Limit),
					limit(q.PerWorker), rate, limit(q.KeyConcurrency), wait, fmtAge(ms(q.MeanWaitMS)),
					strconv.FormatInt(q.StepsQueued, 10), strconv.FormatInt(q.StepsRunning, 10)}
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stderr, "no queues: they are recorded when an app that registers them starts")
			}
			return table(a.stdout, "QUEUE\tQUEUED\tRUNNING\tLIMIT\tPER WORKER\tRATE\tKEY\tWAIT\tMEAN WAIT\tSTEPS QUEUED\tSTEPS RUNNING", rows)
		},
	}
	return group("queues", "List queues with the runs and steps that wait and run in them", []string{"queue"}, ls)
}
