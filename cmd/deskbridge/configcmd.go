package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/config"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Validate, print or describe the configuration",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newConfigValidateCmd(),
		&cobra.Command{
			Use:   "print",
			Short: "Print the effective configuration (defaults and env overrides applied, secrets redacted)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, _, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				return cfg.Redacted().WriteYAML(cmd.OutOrStdout())
			},
		},
		&cobra.Command{
			Use:   "schema",
			Short: "Print the JSON Schema of the configuration file",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				b, err := config.Schema()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			},
		},
	)
	return cmd
}

// newConfigValidateCmd is `config validate [--online]`; the online checks
// are in online.go.
func newConfigValidateCmd() *cobra.Command {
	var online bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file and report every problem",
		Long: `Check the configuration file and report every problem, one "key.path: reason"
per line; the exit status is 1 when there is any.

With --online, a valid configuration is also checked against each helpdesk
that whatsapp.numbers use, read with the configured credentials: the ids of
helpdesks.<name>.brand_id, group_id and ticket_form_id, the ticket fields of
mapping.ticket.custom_fields and routing set custom_fields.<id>, the user
fields of mapping.contact.fields, and groups, brands, forms, priorities,
types and field values written as literals in the mapping. A helpdesk that
cannot be read is one problem naming it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if !online {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", path)
				return err
			}
			rep := validateOnline(cmd.Context(), cfg)
			if n := len(rep.Problems); n > 0 {
				noun := "problems"
				if n == 1 {
					noun = "problem"
				}
				return &userError{fmt.Sprintf("deskbridge: invalid configuration %s (%d %s found online):\n%s",
					path, n, noun, strings.Join(rep.Problems, "\n"))}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: valid\n", path)
			if len(rep.Checked) == 0 {
				_, err = fmt.Fprintf(out, "%s: no helpdesk to check online: no whatsapp.numbers[].helpdesk is set\n", path)
				return err
			}
			for _, l := range rep.Checked {
				if _, err := fmt.Fprintf(out, "%s: %s\n", path, l); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also check the mapping and helpdesk ids against the live helpdesks")
	return cmd
}
