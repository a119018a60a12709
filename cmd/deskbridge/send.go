package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

func newSendCmd() *cobra.Command {
	var (
		number, to, text, template, lang, replyTo string
		params, named                             []string
		header                                    string
		previewURL                                bool
	)
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Send one WhatsApp message (text or template) and print its wamid",
		Long: `Send one WhatsApp message from a configured business number.

  deskbridge send --config FILE --to +34600111222 --text "Hello"
  deskbridge send --config FILE --to +34600111222 --template reengage --lang en_US --param Ana

A template is checked against the cached template list (status, language and
parameters) before anything is sent. On failure the command exits 1 with the
error's kind, Meta's code and what to do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (text == "") == (template == "") {
				return fmt.Errorf("pass exactly one of --text and --template")
			}
			if template != "" && lang == "" {
				return fmt.Errorf("--template needs --lang (e.g. en_US)")
			}
			if template == "" && (len(params) > 0 || len(named) > 0 || header != "") {
				return fmt.Errorf("--param, --named-param and --header-param go with --template")
			}
			env, err := openWAEnv(cmd)
			if err != nil {
				return err
			}
			defer env.Close()
			n, err := env.number(number)
			if err != nil {
				return err
			}
			client, _, err := env.client(n)
			if err != nil {
				return err
			}
			var p *whatsapp.SendParams
			if text != "" {
				p = whatsapp.TextMessage(to, text)
				p.Text.PreviewURL = previewURL
			} else {
				tp := &whatsapp.TemplateParams{Name: template, Language: lang}
				if header != "" {
					h := whatsapp.TextParam(header)
					tp.Header = &h
				}
				for _, v := range params {
					tp.Body = append(tp.Body, whatsapp.TextParam(v))
				}
				for _, kv := range named {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return fmt.Errorf("--named-param %q: want name=value", kv)
					}
					tp.Body = append(tp.Body, whatsapp.TextParam(v).Named(k))
				}
				p = whatsapp.TemplateMessage(to, tp)
			}
			if replyTo != "" {
				p = p.WithReplyTo(replyTo)
			}
			res, err := client.Send(cmd.Context(), p)
			if err != nil {
				return apiError("send", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), res.MessageID)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&number, "number", "", "phone_number_id of the sending number (default: the only configured one)")
	f.StringVar(&to, "to", "", "customer number in E.164 with +, e.g. +34600111222")
	f.StringVar(&text, "text", "", "text message body")
	f.BoolVar(&previewURL, "preview-url", false, "render a preview of the first URL in --text")
	f.StringVar(&template, "template", "", "approved template name")
	f.StringVar(&lang, "lang", "", "template language code, e.g. en_US")
	f.StringArrayVar(&params, "param", nil, "positional body parameter, in order (repeat)")
	f.StringArrayVar(&named, "named-param", nil, "named body parameter name=value (repeat)")
	f.StringVar(&header, "header-param", "", "text parameter of a TEXT header with a variable")
	f.StringVar(&replyTo, "reply-to", "", "wamid of the message to quote")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}
