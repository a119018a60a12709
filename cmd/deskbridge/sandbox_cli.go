package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// sandboxState is the state file `deskbridge sandbox` writes once
// everything is up, for say, reply and show to find it; it holds addresses
// and paths, never a secret. It is removed on exit.
type sandboxState struct {
	PID           int       `json:"pid"`
	Instance      string    `json:"instance"` // random per run: only its own run removes the file
	StartedAt     time.Time `json:"started_at"`
	Dir           string    `json:"dir"`
	Config        string    `json:"config"`
	PublicURL     string    `json:"public_url"`
	InternalURL   string    `json:"internal_url"`
	WhatsAppURL   string    `json:"whatsapp_url"`
	ZendeskURL    string    `json:"zendesk_url"`
	PhoneNumberID string    `json:"phone_number_id"`
	Helpdesk      string    `json:"helpdesk"`
}

// defaultSandboxStatePath is $XDG_RUNTIME_DIR/deskbridge-sandbox/state.json,
// else deskbridge-sandbox-UID/state.json in the temporary directory.
func defaultSandboxStatePath() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "deskbridge-sandbox", "state.json")
	}
	name := "deskbridge-sandbox"
	if uid := os.Getuid(); uid >= 0 {
		name += "-" + strconv.Itoa(uid)
	}
	return filepath.Join(os.TempDir(), name, "state.json")
}

// writeSandboxState writes st to path atomically, with mode 0600.
func writeSandboxState(path string, st sandboxState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("sandbox: state file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*.json")
	if err != nil {
		return fmt.Errorf("sandbox: state file: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("sandbox: state file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("sandbox: state file: %w", err)
	}
	return nil
}

// removeSandboxState removes the state file if it is still the one of run
// instance (another sandbox may have started since).
func removeSandboxState(path, instance string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var st sandboxState
	if json.Unmarshal(b, &st) == nil && st.Instance == instance {
		_ = os.Remove(path)
	}
}

// errNoSandbox is the answer of say, reply and show when no sandbox answers.
var errNoSandbox = &userError{"deskbridge: no sandbox is running; start one with `deskbridge sandbox`"}

// sandboxClient talks to the control APIs of a running sandbox.
type sandboxClient struct {
	st   sandboxState
	http *http.Client
}

// findSandbox reads the state file at path, falling back to the default
// addresses when there is none.
func findSandbox(path string) *sandboxClient {
	st := sandboxState{
		PublicURL: "http://" + defaultSandboxPublicAddr, InternalURL: "http://" + defaultSandboxInternalAddr,
		WhatsAppURL: "http://" + defaultSandboxWhatsAppAddr, ZendeskURL: "http://" + defaultSandboxZendeskAddr,
		PhoneNumberID: sandboxPhoneNumberID, Helpdesk: sandboxHelpdesk,
	}
	if b, err := os.ReadFile(path); err == nil {
		var saved sandboxState
		if json.Unmarshal(b, &saved) == nil && saved.WhatsAppURL != "" && saved.ZendeskURL != "" {
			st = saved
		}
	}
	return &sandboxClient{st: st, http: &http.Client{Timeout: 60 * time.Second}}
}

// ping checks that the fake at base answers its control API.
func (c *sandboxClient) ping(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var clock struct {
		Now string `json:"now"`
	}
	if err := c.call(ctx, http.MethodGet, base+"/_sandbox/clock", nil, &clock); err != nil || clock.Now == "" {
		return errNoSandbox
	}
	return nil
}

// call sends in (if not nil) as JSON and decodes the JSON answer into out.
// An answer other than 2xx is an error carrying the control API's message.
func (c *sandboxClient) call(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		ce := &controlError{status: resp.StatusCode, msg: fmt.Sprintf("%s %s: HTTP %d", method, url, resp.StatusCode)}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			ce.msg = e.Error
		}
		return ce
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	return nil
}

// controlError is an answer other than 2xx from a control API.
type controlError struct {
	status int    // HTTP status
	msg    string // the control API's error message
}

func (e *controlError) Error() string { return e.msg }

// maxSandboxFile bounds a file sent with say or reply (the control APIs
// take base64 JSON bodies).
const maxSandboxFile = 32 << 20

// readSandboxFile reads a file to send and its MIME type (from the
// extension, else sniffed), without parameters.
func readSandboxFile(flag, path string) (data []byte, mimeType string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", &userError{fmt.Sprintf("deskbridge: --%s: %v", flag, err)}
	}
	if fi.Size() > maxSandboxFile {
		return nil, "", &userError{fmt.Sprintf("deskbridge: --%s %s: %d bytes; the sandbox takes files up to %d MiB", flag, path, fi.Size(), maxSandboxFile>>20)}
	}
	if data, err = os.ReadFile(path); err != nil {
		return nil, "", &userError{fmt.Sprintf("deskbridge: --%s: %v", flag, err)}
	}
	if len(data) == 0 {
		return nil, "", &userError{fmt.Sprintf("deskbridge: --%s %s: the file is empty", flag, path)}
	}
	mimeType = mime.TypeByExtension(filepath.Ext(path))
	if mimeType == "" {
		mimeType = http.DetectContentType(data)
	}
	if mt, _, err := mime.ParseMediaType(mimeType); err == nil {
		mimeType = mt
	}
	return data, mimeType, nil
}

// sandboxStateFlag registers --state on a client command.
func sandboxStateFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "state", defaultSandboxStatePath(), "state file of the running sandbox")
}

func newSandboxSayCmd() *cobra.Command {
	var statePath, from, name, image, document string
	cmd := &cobra.Command{
		Use:   "say [flags] TEXT",
		Short: "Write to the running sandbox as a WhatsApp customer; prints the message's wamid",
		Long: `Play a customer: the WhatsApp fake of the running sandbox receives the
message and sends its signed webhook to the bridge. With --image or
--document the file is sent as media and TEXT, if any, is its caption.

  deskbridge sandbox say --from +34600111222 --name Ana "Hola, where is my order?"
  deskbridge sandbox say --from +34600111222 --image receipt.jpg "this one"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.Join(args, " ")
			p := sbwhatsapp.InboundParams{From: from, Name: name, Type: "text", Text: text}
			if image != "" && document != "" {
				return &userError{"deskbridge: give --image or --document, not both"}
			}
			typ, file := "image", image
			if document != "" {
				typ, file = "document", document
			}
			if file != "" {
				data, mimeType, err := readSandboxFile(typ, file)
				if err != nil {
					return err
				}
				p.Type, p.Text = typ, ""
				p.Media = &sbwhatsapp.InboundMedia{MimeType: mimeType, DataBase64: base64.StdEncoding.EncodeToString(data), Caption: text}
				if typ == "document" {
					p.Media.Filename = filepath.Base(file)
				}
			} else if strings.TrimSpace(text) == "" {
				return &userError{"deskbridge: say needs the message TEXT (or --image/--document FILE)"}
			}
			c := findSandbox(statePath)
			if err := c.ping(cmd.Context(), c.st.WhatsAppURL); err != nil {
				return err
			}
			p.PhoneNumberID = c.st.PhoneNumberID
			var ans struct {
				ID            string `json:"id"`
				WebhookStatus int    `json:"webhook_status"`
				WebhookError  string `json:"webhook_error"`
			}
			if err := c.call(cmd.Context(), http.MethodPost, c.st.WhatsAppURL+"/_sandbox/inbound", p, &ans); err != nil {
				return &userError{oneLine("deskbridge: say: " + err.Error())}
			}
			fmt.Fprintln(cmd.OutOrStdout(), ans.ID)
			if ans.WebhookStatus != http.StatusOK {
				why := ans.WebhookError
				if why == "" {
					why = fmt.Sprintf("it answered %d", ans.WebhookStatus)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "deskbridge: warning: the bridge did not take the webhook yet (%s); the fake retries it\n", oneLine(why))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", sandboxExampleFrom, "the customer's number, + and the country code")
	f.StringVar(&name, "name", "", "the customer's WhatsApp profile name")
	f.StringVar(&image, "image", "", "send this image file (TEXT is its caption)")
	f.StringVar(&document, "document", "", "send this file as a document (TEXT is its caption)")
	sandboxStateFlag(cmd, &statePath)
	return cmd
}

func newSandboxReplyCmd() *cobra.Command {
	var statePath, status string
	var note bool
	var attach []string
	cmd := &cobra.Command{
		Use:   "reply [flags] TICKET TEXT",
		Short: "Answer a ticket of the running sandbox as a Zendesk agent; prints the comment id",
		Long: `Play an agent: a public reply (or with --note an internal note) on the Zendesk
fake's ticket TICKET, made as in the agent UI. A public reply fires the
trigger that sends the signed webhook to the bridge.

  deskbridge sandbox reply 1 "Hi Ana, your order ships today."
  deskbridge sandbox reply 1 --note "Checked the warehouse"
  deskbridge sandbox reply 1 --attach invoice.pdf "Here is your invoice"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return &userError{fmt.Sprintf("deskbridge: TICKET %q must be a ticket id, such as 1 (see `deskbridge sandbox show`)", args[0])}
			}
			public := !note
			p := sbzendesk.ReplyParams{TicketID: id, Body: strings.Join(args[1:], " "), Public: &public, Status: status}
			for _, file := range attach {
				data, mimeType, err := readSandboxFile("attach", file)
				if err != nil {
					return err
				}
				p.Attachments = append(p.Attachments, sbzendesk.ReplyAttachment{FileName: filepath.Base(file), ContentType: mimeType, Data: data})
			}
			if strings.TrimSpace(p.Body) == "" && len(p.Attachments) == 0 {
				return &userError{"deskbridge: reply needs the TEXT (or --attach FILE)"}
			}
			c := findSandbox(statePath)
			if err := c.ping(cmd.Context(), c.st.ZendeskURL); err != nil {
				return err
			}
			var ans struct {
				CommentID int64 `json:"comment_id"`
			}
			if err := c.call(cmd.Context(), http.MethodPost, c.st.ZendeskURL+"/_sandbox/reply", p, &ans); err != nil {
				var ce *controlError
				if errors.As(err, &ce) && ce.status == http.StatusNotFound {
					return &userError{fmt.Sprintf("deskbridge: reply: the Zendesk fake has no ticket %d; `deskbridge sandbox show` lists the tickets", id)}
				}
				if errors.As(err, &ce) && ce.status == http.StatusConflict {
					return &userError{fmt.Sprintf("deskbridge: reply: ticket %d is closed and cannot change", id)}
				}
				return &userError{oneLine("deskbridge: reply: " + err.Error())}
			}
			fmt.Fprintln(cmd.OutOrStdout(), ans.CommentID)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&note, "note", false, "add an internal note instead of a public reply")
	f.StringArrayVar(&attach, "attach", nil, "attach this file (repeatable)")
	f.StringVar(&status, "status", "", "submit the ticket as open, pending, hold or solved")
	sandboxStateFlag(cmd, &statePath)
	return cmd
}
