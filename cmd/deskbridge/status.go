package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/store"
)

func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print event, job and dead-letter counts from the store (works whether serve runs or not)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if cfg.StoreKind() == "sqlite" {
				if _, err := os.Stat(cfg.SQLitePath()); err != nil {
					return &userError{fmt.Sprintf("deskbridge: no store at %s: run `deskbridge serve` first (%v)", cfg.SQLitePath(), err)}
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
			defer cancel()
			st, err := store.Open(ctx, cfg.Store.URL, store.Options{SkipMigrations: true})
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.CheckSchema(ctx); err != nil {
				return err
			}
			stats, err := st.Stats(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(stats)
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "store\t%s (%s, schema %d)\n", st.Target(), st.Kind(), stats.SchemaVersion)
			fmt.Fprintf(w, "events\t%d total: %d pending, %d done, %d dead\n", stats.EventsTotal, stats.EventsPending, stats.EventsDone, stats.EventsDead)
			fmt.Fprintf(w, "duplicates\t%d re-deliveries collapsed\n", stats.DuplicatesTotal)
			fmt.Fprintf(w, "oldest pending\t%.1fs\n", stats.OldestPendingAgeSeconds)
			fmt.Fprintf(w, "jobs pending\t%d\n", stats.JobsPending)
			fmt.Fprintf(w, "dead letters\t%d\n", stats.DeadLetters)
			fmt.Fprintf(w, "conversations\t%d (%d leased now)\n", stats.Conversations, stats.ConversationsLeased)
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
