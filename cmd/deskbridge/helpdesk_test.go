package main

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// zendeskConfig is the example configuration with a Zendesk helpdesk at
// baseURL and a public URL for the bridge.
func zendeskConfig(t *testing.T, baseURL string) string {
	t.Helper()
	u, _ := sqliteURL(t)
	cfg := exampleConfig(t, u) + fmt.Sprintf(`      helpdesk: support
helpdesks:
  support:
    kind: zendesk
    base_url: %q
    email: "bridge@acme.test"
    api_token: "env://DESKBRIDGE_TEST_UNSET_ZD_TOKEN?default=zd-token"
    webhook_secret: "env://DESKBRIDGE_TEST_UNSET_ZD_SECRET?default=not-yet"
`, baseURL)
	cfg = strings.Replace(cfg, "store:", "server:\n  public_url: \"https://bridge.acme.test\"\nstore:", 1)
	return writeFile(t, "zendesk.yaml", cfg)
}

func TestHelpdeskSetupAgainstFake(t *testing.T) {
	t.Parallel()
	fake := sbzendesk.New(sbzendesk.Options{Email: "bridge@acme.test", APIToken: "zd-token"})
	t.Cleanup(fake.Close)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetBaseURL(srv.URL)
	cfg := zendeskConfig(t, srv.URL)

	code, out, errOut := runCmd(t, "helpdesk", "setup", "--config", cfg, "--helpdesk", "support", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"would change 2", "create webhook deskbridge → https://bridge.acme.test/webhooks/zendesk", `create trigger "deskbridge: agent public reply"`} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if n := len(fake.Deliveries()); n != 0 {
		t.Errorf("dry run: %d deliveries", n)
	}

	code, out, errOut = runCmd(t, "helpdesk", "setup", "--config", cfg, "--helpdesk", "support")
	if code != 0 || !strings.Contains(out, "changed 2") || !strings.Contains(out, "store this signing secret as helpdesks.support.webhook_secret") {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "helpdesk", "setup", "--config", cfg, "--helpdesk", "support")
	if code != 0 || !strings.Contains(out, "nothing to change") {
		t.Fatalf("second run: exit %d, want nothing to change\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "helpdesk", "setup", "--config", cfg, "--helpdesk", "support", "--dry-run")
	if code != 0 || !strings.Contains(out, "nothing to change") {
		t.Errorf("dry run after setup: %s", out)
	}
}

func TestHelpdeskSetupErrors(t *testing.T) {
	t.Parallel()
	cfg := zendeskConfig(t, "http://127.0.0.1:1")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no helpdesk flag", []string{"helpdesk", "setup", "--config", cfg}, "pass --helpdesk NAME (one of: support)"},
		{"unknown helpdesk", []string{"helpdesk", "setup", "--config", cfg, "--helpdesk", "sales"}, `helpdesk "sales" is not configured`},
		{"unreachable", []string{"helpdesk", "setup", "--config", cfg, "--helpdesk", "support"}, "helpdesk setup failed: retryable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmd(t, tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q, want 1 and %q (stdout %q)", code, errOut, tc.want, out)
			}
			checkOneLineError(t, out, errOut)
		})
	}
}
