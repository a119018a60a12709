package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

func newTemplatesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "Sync and list the WhatsApp message templates of the configured business accounts",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var number string
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Fetch the templates from the Cloud API into the store's cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openWAEnv(cmd)
			if err != nil {
				return err
			}
			defer env.Close()
			nums, err := env.numbersFor(number)
			if err != nil {
				return err
			}
			for _, n := range nums {
				_, cache, err := env.client(n)
				if err != nil {
					return err
				}
				if err := cache.Refresh(cmd.Context()); err != nil {
					return apiError("templates sync", err)
				}
				ts, err := cache.All(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "WABA %s: %d templates synced\n", n.WABAID, len(ts))
			}
			return nil
		},
	}
	sync.Flags().StringVar(&number, "number", "", "only the business account of this phone_number_id")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "Print the cached templates: name, language, status, category and parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openWAEnv(cmd)
			if err != nil {
				return err
			}
			defer env.Close()
			type row struct {
				WABAID     string `json:"waba_id"`
				Name       string `json:"name"`
				Language   string `json:"language"`
				Status     string `json:"status"`
				Category   string `json:"category"`
				Parameters string `json:"parameters"`
			}
			nums, err := env.numbersFor(number)
			if err != nil {
				return err
			}
			rows := []row{}
			for _, n := range nums {
				ts, err := env.templateStore().Load(cmd.Context(), n.WABAID)
				if err != nil {
					return err
				}
				for _, t := range ts {
					rows = append(rows, row{n.WABAID, t.Name, t.Language, t.Status, t.Category, describeParams(t)})
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintln(out, "no templates cached: run `deskbridge templates sync` first")
				return err
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "WABA\tNAME\tLANGUAGE\tSTATUS\tCATEGORY\tPARAMETERS")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.WABAID, r.Name, r.Language, r.Status, r.Category, r.Parameters)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&number, "number", "", "only the business account of this phone_number_id")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(sync, list)
	return cmd
}

var placeholderRE = regexp.MustCompile(`{{\s*([^}\s]+)\s*}}`)

// describeParams summarises what a template needs: "header:image body:{{1}},{{2}} button[0]:url".
func describeParams(t whatsapp.Template) string {
	var parts []string
	for _, c := range t.Components {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			switch f := strings.ToUpper(c.Format); f {
			case "IMAGE", "VIDEO", "DOCUMENT", "LOCATION":
				parts = append(parts, "header:"+strings.ToLower(f))
			default:
				if vars := placeholders(c.Text); vars != "" {
					parts = append(parts, "header:"+vars)
				}
			}
		case "BODY":
			if vars := placeholders(c.Text); vars != "" {
				parts = append(parts, "body:"+vars)
			}
		case "BUTTONS":
			for i, b := range c.Buttons {
				switch strings.ToUpper(b.Type) {
				case "QUICK_REPLY":
					parts = append(parts, fmt.Sprintf("button[%d]:quick_reply", i))
				case "URL":
					if placeholders(b.URL) != "" {
						parts = append(parts, fmt.Sprintf("button[%d]:url", i))
					}
				}
			}
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func placeholders(s string) string {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		names = append(names, "{{"+m[1]+"}}")
	}
	return strings.Join(names, ",")
}
