package main

import (
	"fmt"

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
		&cobra.Command{
			Use:   "validate",
			Short: "Check the configuration file and report every problem",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				_, path, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", path)
				return err
			},
		},
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
