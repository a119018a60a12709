package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

const fastQueue = `  poll_interval: 50ms
  lease_ttl: 3s
  job_timeout: 5s
  rescue_after: 8s
  reconcile_interval: 1s
  reconcile_after: 5s`

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		inst := newInstance(t, storetest.URL(t, kind), fastQueue)
		inst.start()
		client := &http.Client{Timeout: 10 * time.Second}

		// Verification handshake.
		resp, err := http.Get(inst.public + "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=8675309&hub.verify_token=" + verifyToken)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "8675309" {
			t.Fatalf("handshake = %d %q, want 200 8675309", resp.StatusCode, b)
		}

		single := body([]any{msg{"34600111001", "wamid.single", "hola", 1000}})
		batched := body(
			[]any{msg{"34600111002", "wamid.b1", "uno", 1001}, msg{"34600111003", "wamid.b2", "dos", 1002}},
			[]any{msg{"34600111004", "wamid.b3", "tres", 1003}, stat{"wamid.out1", "sent", 1004, "34600111004"}},
		)
		mixed := body([]any{
			stat{"wamid.out1", "delivered", 1005, "34600111004"},
			msg{"34600111004", "wamid.m1", "gracias", 1006},
			stat{"wamid.out1", "read", 1007, "34600111004"},
		})
		// Out of order: the later message arrives first.
		late := body([]any{msg{"34600111005", "wamid.o2", "second", 2000}})
		early := body([]any{msg{"34600111005", "wamid.o1", "first", 1990}})

		for _, tc := range []struct {
			name string
			body []byte
		}{
			{"single", single}, {"batched entries", batched}, {"messages and statuses", mixed},
			{"late first", late}, {"early second", early},
			{"re-delivery single", single}, {"re-delivery batch", batched}, {"re-delivery mixed", mixed},
		} {
			if code := inst.post(ctx, client, tc.body); code != 200 {
				t.Fatalf("%s: status %d, want 200", tc.name, code)
			}
		}
		// Bad input changes nothing.
		bad := []struct {
			name string
			req  func() *http.Request
			code int
		}{
			{"unsigned", func() *http.Request {
				r, _ := http.NewRequest(http.MethodPost, inst.public+"/webhooks/whatsapp", strings.NewReader(string(single)))
				return r
			}, 401},
			{"wrong secret", func() *http.Request {
				r, _ := http.NewRequest(http.MethodPost, inst.public+"/webhooks/whatsapp", strings.NewReader(string(body([]any{msg{"34600111009", "wamid.evil", "x", 1}}))))
				r.Header.Set("X-Hub-Signature-256", whatsapp.Sign(single, []byte("not-the-secret")))
				return r
			}, 401},
			{"malformed", func() *http.Request {
				b := []byte(`{"object":"whatsapp_business_account","entry":[`)
				r, _ := http.NewRequest(http.MethodPost, inst.public+"/webhooks/whatsapp", strings.NewReader(string(b)))
				r.Header.Set("X-Hub-Signature-256", whatsapp.Sign(b, []byte(appSecret)))
				return r
			}, 400},
			{"too large", func() *http.Request {
				b := []byte(`{"object":"whatsapp_business_account","pad":"` + strings.Repeat("a", 3<<20) + `"}`)
				r, _ := http.NewRequest(http.MethodPost, inst.public+"/webhooks/whatsapp", strings.NewReader(string(b)))
				r.Header.Set("X-Hub-Signature-256", whatsapp.Sign(b, []byte(appSecret)))
				return r
			}, 413},
		}
		for _, tc := range bad {
			resp, err := client.Do(tc.req())
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.code)
			}
		}

		s := inst.waitDrained(60 * time.Second)
		// single 1 + batched 4 + mixed 3 + out-of-order 2.
		if s.EventsTotal != 10 || s.EventsDone != 10 || s.DuplicatesTotal != 8 || s.DeadLetters != 0 {
			t.Errorf("status = %+v, want 10 events all done, 8 duplicates, no dead letters", s)
		}

		st, err := store.Open(ctx, inst.storeURL, store.Options{SkipMigrations: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		evs, err := st.ListEvents(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*store.Event{}
		for _, e := range evs {
			got[e.Kind+" "+e.Key] = e
		}
		for _, want := range []string{
			"message wamid.single", "message wamid.b1", "message wamid.b2", "message wamid.b3", "message wamid.m1",
			"message wamid.o1", "message wamid.o2",
			"status wamid.out1/sent", "status wamid.out1/delivered", "status wamid.out1/read",
		} {
			if got[want] == nil {
				t.Errorf("event %q not stored", want)
			}
		}
		if e := got["message wamid.o1"]; e != nil {
			if o2 := got["message wamid.o2"]; o2 != nil {
				if !e.OccurredAt.Before(o2.OccurredAt) || e.ID < o2.ID {
					t.Errorf("out-of-order pair: o1 at %v (id %d), o2 at %v (id %d)", e.OccurredAt, e.ID, o2.OccurredAt, o2.ID)
				}
				if e.ConversationID != o2.ConversationID {
					t.Error("messages of one customer landed in two conversations")
				}
			}
			wev, err := whatsapp.ParseStored(e.Payload)
			if err != nil || wev.Message == nil || wev.Message.Text == nil || wev.Message.Text.Body != "first" ||
				wev.Message.Contact == nil || wev.Message.Contact.Name != "Cliente 05" {
				t.Errorf("stored payload does not read back: %v %+v", err, wev)
			}
		}
		if st := got["status wamid.out1/sent"]; st != nil && got["message wamid.b3"] != nil &&
			st.ConversationID != got["message wamid.b3"].ConversationID {
			t.Error("a status and a message of the same customer are in different conversations")
		}

		// Metrics show what happened.
		resp, err = http.Get(inst.internal + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		mb, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, want := range []string{
			`deskbridge_webhook_events_total{kind="message",result="stored",source="whatsapp"} 7`,
			`deskbridge_webhook_events_total{kind="status",result="stored",source="whatsapp"} 3`,
			`deskbridge_webhook_events_total{kind="message",result="duplicate",source="whatsapp"} 5`,
			`deskbridge_webhook_requests_total{code="401",source="whatsapp"} 2`,
			`deskbridge_webhook_requests_total{code="413",source="whatsapp"} 1`,
			`deskbridge_webhook_requests_total{code="400",source="whatsapp"} 1`,
			`deskbridge_build_info{`,
		} {
			if !strings.Contains(string(mb), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// TestSamplePayloads posts every webhook sample in shared/payloads twice
// and checks each event is stored once and handled.
func TestSamplePayloads(t *testing.T) {
	t.Parallel()
	const dir = "../../../shared/payloads/whatsapp"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("payload folder %s not found; sample payload test skipped", dir)
	}
	var bodies [][]byte
	want := 0
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if evs, err := whatsapp.ParseNotification(b); err == nil {
			bodies = append(bodies, b)
			want += len(evs)
		}
		return nil
	})
	if len(bodies) == 0 {
		t.Fatal("no webhook samples found")
	}
	inst := newInstance(t, storetest.URL(t, store.SQLite), fastQueue)
	inst.start()
	client := &http.Client{Timeout: 10 * time.Second}
	for round := range 2 {
		for _, b := range bodies {
			if code := inst.post(context.Background(), client, b); code != 200 {
				t.Fatalf("round %d: status %d for %s", round, code, b[:min(len(b), 120)])
			}
		}
	}
	s := inst.waitDrained(60 * time.Second)
	// Some samples share a wamid (Meta's docs reuse examples): count what
	// the store keeps against distinct keys.
	if s.EventsTotal == 0 || s.EventsTotal > int64(want) || s.EventsTotal+s.DuplicatesTotal != int64(2*want) ||
		s.EventsDone != s.EventsTotal || s.DeadLetters != 0 {
		t.Errorf("status = %+v for %d sample events posted twice", s, want)
	}
}
