package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/mapping"
)

// userError is a failure the user can fix (bad config, unreachable store):
// it is printed as is, without a "deskbridge:" prefix repeated per line.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

// run executes the command line and returns the process exit code: 0 on
// success, 1 on any error, whose cause goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		msg := err.Error()
		var ue *userError
		if !errors.As(err, &ue) {
			msg = oneLine(msg)
		}
		if !strings.HasPrefix(msg, "deskbridge") {
			msg = "deskbridge: " + msg
		}
		fmt.Fprintln(stderr, msg)
		return 1
	}
	return 0
}

// oneLine joins a multi-line error (drivers list each connection attempt on
// a line of its own) into one line, dropping repeated lines.
func oneLine(msg string) string {
	var parts []string
	for l := range strings.Lines(msg) {
		if l = strings.TrimSpace(l); l != "" && (len(parts) == 0 || parts[len(parts)-1] != l) {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "deskbridge",
		Short:         "Bridge WhatsApp Business conversations with your helpdesk",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "configuration file (default: $DESKBRIDGE_CONFIG)")
	root.AddCommand(newServeCmd(), newConfigCmd(), newStatusCmd(), newVersionCmd(), newSendCmd(), newTemplatesCmd(), newSandboxCmd(), newHelpdeskCmd())
	root.AddCommand(newMappingCmd())
	return root
}

// configPath returns --config, else $DESKBRIDGE_CONFIG.
func configPath(cmd *cobra.Command) (string, error) {
	p, _ := cmd.Flags().GetString("config")
	if p == "" {
		p = os.Getenv("DESKBRIDGE_CONFIG")
	}
	if p == "" {
		return "", errors.New("no configuration file: pass --config FILE or set DESKBRIDGE_CONFIG")
	}
	return p, nil
}

// loadConfig loads and validates the configuration named on the command
// line; every problem is listed, one per line.
func loadConfig(cmd *cobra.Command) (*config.Config, string, error) {
	path, err := configPath(cmd)
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			noun := "problems"
			if len(ve.Problems) == 1 {
				noun = "problem"
			}
			return nil, path, &userError{fmt.Sprintf("deskbridge: invalid configuration %s (%d %s):\n%s",
				path, len(ve.Problems), noun, ve.Error())}
		}
		return nil, path, err
	}
	if _, err := compileMapping(cfg); err != nil {
		var ce *mapping.CompileError
		if errors.As(err, &ce) {
			noun := "problems"
			if len(ce.Problems) == 1 {
				noun = "problem"
			}
			return nil, path, &userError{fmt.Sprintf("deskbridge: invalid configuration %s (%d %s):\n%s",
				path, len(ce.Problems), noun, ce.Error())}
		}
		return nil, path, err
	}
	return cfg, path, nil
}

// compileMapping compiles the configuration's mapping expressions (type
// checks and all), in its time zone.
func compileMapping(cfg *config.Config) (*mapping.Mapper, error) {
	tz := time.UTC
	if cfg.Threading.TimeZone != "" {
		var err error
		if tz, err = time.LoadLocation(cfg.Threading.TimeZone); err != nil {
			return nil, fmt.Errorf("threading.time_zone: %w", err)
		}
	}
	return mapping.Compile(cfg, mapping.CompileOptions{TimeZone: tz})
}
