package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deskbridge/deskbridge/bridge"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

func TestFailedStatusBecomesANote(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "hola")
	r.settle()
	tk := r.tickets()[0]
	o := r.wa.WebhookOptions()
	o.FailNext = 131026
	r.wa.SetWebhookOptions(o)
	r.reply(tk.ID, "Are you there?")
	r.settle()
	n := notes(r.tickets()[0])
	if len(n) != 1 || !strings.Contains(n[0], "131026") || !strings.Contains(n[0], "not delivered") {
		t.Fatalf("notes = %q, want one failure note with the code", n)
	}
	// Normal deliveries write nothing.
	r.reply(tk.ID, "Second try")
	r.settle()
	if n := notes(r.tickets()[0]); len(n) != 1 {
		t.Errorf("notes after a delivered reply = %q", n)
	}
	st, err := r.st.SentMessage(t.Context(), r.thread(ana)[1].ID)
	if err != nil || st == nil || st.Status != "read" {
		t.Errorf("second reply status = %+v %v, want read", st, err)
	}
}

func TestStatusesAreMonotonic(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "hola")
	r.settle()
	o := r.wa.WebhookOptions()
	o.OutOfOrder, o.Duplicate = true, true
	r.wa.SetWebhookOptions(o)
	r.reply(r.tickets()[0].ID, "hello")
	r.settle()
	th := r.thread(ana)
	if len(th) != 1 {
		t.Fatalf("thread = %+v", th)
	}
	st, err := r.st.SentMessage(t.Context(), th[0].ID)
	if err != nil || st == nil || st.Status != "read" {
		t.Fatalf("status = %+v %v, want read despite out-of-order delivery", st, err)
	}
	// A late "delivered" never downgrades.
	applied, err := r.st.ApplyStatus(t.Context(), th[0].ID, "", "delivered", time.Now(), "", "")
	if err != nil || applied {
		t.Errorf("late delivered applied = %v %v", applied, err)
	}
}

func TestOptOutStopsReplies(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "hola")
	r.say(ana, "Ana", "stop")
	r.settle()
	tk := r.tickets()[0]
	r.reply(tk.ID, "We miss you")
	r.settle()
	if th := r.thread(ana); len(th) != 0 {
		t.Fatalf("sent %d messages to an opted-out customer", len(th))
	}
	n := notes(r.tickets()[0])
	if len(n) != 2 || !strings.Contains(n[0], "opted out") || !strings.Contains(n[1], "not sent") {
		t.Fatalf("notes = %q, want the opt-out and the reply not sent", n)
	}
	r.say(ana, "Ana", "START")
	r.settle()
	r.reply(tk.ID, "Welcome back")
	r.settle()
	if th := r.thread(ana); len(th) != 1 || sentText(t, th[0]) != "Welcome back" {
		t.Fatalf("after START: thread = %+v", th)
	}
}

func TestDuplicateWebhooksWriteOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	o := r.wa.WebhookOptions()
	o.Duplicate = true
	r.wa.SetWebhookOptions(o)
	for i := range 3 {
		r.say(ana, "Ana", fmt.Sprintf("msg %d", i))
	}
	r.settle()
	tks := r.tickets()
	if len(tks) != 1 || len(publicBodies(tks[0])) == 0 {
		t.Fatalf("tickets = %d", len(tks))
	}
	all := strings.Join(publicBodies(tks[0]), "\n")
	for i := range 3 {
		if c := strings.Count(all, fmt.Sprintf("msg %d", i)); c != 1 {
			t.Errorf("msg %d appears %d times in %q", i, c, all)
		}
	}
	// The same agent reply webhook delivered again sends nothing more.
	r.reply(tks[0].ID, "one reply")
	r.settle()
	for _, d := range r.zd.Deliveries() {
		req, err := http.NewRequestWithContext(t.Context(), d.Method, d.URL, strings.NewReader(d.Body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Zendesk-Webhook-Signature", d.Signature)
		req.Header.Set("X-Zendesk-Webhook-Signature-Timestamp", d.Timestamp)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("re-delivery: %d", resp.StatusCode)
		}
	}
	r.settle()
	if th := r.thread(ana); len(th) != 1 {
		t.Fatalf("thread = %d messages after re-deliveries, want 1", len(th))
	}
}

func TestMediaBothWaysByteExact(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	img := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 7, 1, 2}, 3000)
	r.inbound(sbwhatsapp.InboundParams{From: ana, Name: "Ana", Type: "image",
		Media: &sbwhatsapp.InboundMedia{MimeType: "image/png", Caption: "my receipt", DataBase64: base64.StdEncoding.EncodeToString(img)}})
	r.settle()
	tk := r.tickets()[0]
	c := tk.Comments[0]
	if len(c.Attachments) != 1 || !bytes.Equal(c.Attachments[0].Data, img) || !strings.Contains(c.Body, "my receipt") {
		t.Fatalf("comment %q attachments %d (byte-exact %v)", c.Body, len(c.Attachments),
			len(c.Attachments) == 1 && bytes.Equal(c.Attachments[0].Data, img))
	}
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 5000)...)
	r.reply(tk.ID, "Here is your invoice", sbzendesk.ReplyAttachment{FileName: "invoice.pdf", ContentType: "application/pdf", Data: pdf})
	r.settle()
	th := r.thread(ana)
	if len(th) != 2 || th[0].Type != "text" || th[1].Type != "document" {
		t.Fatalf("thread = %+v, want text then document", th)
	}
	var req struct {
		Document struct{ ID, Filename string } `json:"document"`
	}
	if err := json.Unmarshal(th[1].Request, &req); err != nil {
		t.Fatal(err)
	}
	got, _, err := r.opt.Numbers[0].Client.Download(t.Context(), req.Document.ID)
	if err != nil || !bytes.Equal(got, pdf) || req.Document.Filename != "invoice.pdf" {
		t.Fatalf("document %q: %d bytes, byte-exact %v, err %v", req.Document.Filename, len(got), bytes.Equal(got, pdf), err)
	}
}

func TestMediaOverTheHelpdeskLimit(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite, withMaxAttachment(1000))
	r.inbound(sbwhatsapp.InboundParams{From: ana, Name: "Ana", Type: "document",
		Media: &sbwhatsapp.InboundMedia{MimeType: "application/pdf", Filename: "big.pdf",
			DataBase64: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("y"), 5000))}})
	r.settle()
	c := r.tickets()[0].Comments[0]
	if len(c.Attachments) != 0 || !strings.Contains(c.Body, "big.pdf is 5 KB, over the 1 KB attachment limit") {
		t.Fatalf("comment %q with %d attachments", c.Body, len(c.Attachments))
	}
}

func TestEveryMessageTypeBecomesAComment(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	first := r.say(ana, "Ana", "hola")
	r.inbound(sbwhatsapp.InboundParams{From: ana, Type: "location", Location: &sbwhatsapp.InboundLocation{Latitude: 40.4168, Longitude: -3.7038, Name: "Sol"}})
	r.inbound(sbwhatsapp.InboundParams{From: ana, Type: "reaction", Reaction: &sbwhatsapp.InboundReaction{MessageID: first, Emoji: "👍"}})
	r.inbound(sbwhatsapp.InboundParams{From: ana, Type: "unsupported", Text: "poll_creation"})
	r.inbound(sbwhatsapp.InboundParams{From: ana, Type: "interactive", Interactive: &sbwhatsapp.InboundInteractive{ID: "b1", Title: "Yes please"}})
	r.settle()
	all := strings.Join(publicBodies(r.tickets()[0]), "\n")
	for _, want := range []string{"hola", "40.4168", "Sol", "👍", "[unsupported WhatsApp message: poll_creation]", "Yes please"} {
		if !strings.Contains(all, want) {
			t.Errorf("comments lack %q:\n%s", want, all)
		}
	}
	if s, _ := r.st.Stats(t.Context()); s.DeadLetters != 0 {
		t.Errorf("dead letters = %d", s.DeadLetters)
	}
}

func TestConcurrentCustomersOneTicketEach(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		concurrentCustomers(t, kind)
	})
}

func concurrentCustomers(t *testing.T, kind store.Kind) {
	r := newRig(t, kind)
	const customers, burst = 50, 6
	var wg sync.WaitGroup
	for c := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("+3460020%04d", c)
			for i := range burst {
				if _, _, err := r.wa.Inbound(context.Background(), sbwhatsapp.InboundParams{From: from, Name: fmt.Sprint("C", c),
					Text: fmt.Sprintf("c%d m%d", c, i), Async: true}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	r.settle()
	tks := r.tickets()
	if len(tks) != customers {
		t.Fatalf("tickets = %d, want %d", len(tks), customers)
	}
	for _, tk := range tks {
		var lines []string
		for _, b := range publicBodies(tk) {
			for _, l := range strings.Split(b, "\n") {
				if strings.HasPrefix(l, "[") {
					_, l, _ = strings.Cut(l, "] ")
				}
				lines = append(lines, l)
			}
		}
		var c int
		if _, err := fmt.Sscanf(tk.Subject, "WhatsApp: C%d", &c); err != nil {
			t.Fatalf("subject %q", tk.Subject)
		}
		want := make([]string, burst)
		for i := range burst {
			want[i] = fmt.Sprintf("c%d m%d", c, i)
		}
		if fmt.Sprint(lines) != fmt.Sprint(want) {
			t.Errorf("ticket %d: messages %q, want %q (each once, in order)", tk.ID, lines, want)
		}
	}
	writes := testutil.ToFloat64(r.metrics.HelpdeskWrites.WithLabelValues("append")) +
		testutil.ToFloat64(r.metrics.HelpdeskWrites.WithLabelValues("create_ticket"))
	t.Logf("%d messages, %v helpdesk writes, %v coalesced", customers*burst, writes, testutil.ToFloat64(r.metrics.Coalesced))
	if writes > customers*burst {
		t.Errorf("writes = %v, more than the messages", writes)
	}
}

func TestCoalescingWhenBehind(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "first")
	r.settle()
	// The helpdesk is unreachable for a moment: the customer goes on.
	r.zd.RevokeAuth(true)
	for i := range 5 {
		r.say(ana, "Ana", fmt.Sprintf("line %d", i))
	}
	time.Sleep(300 * time.Millisecond)
	r.zd.RevokeAuth(false)
	r.settle()
	bodies := publicBodies(r.tickets()[0])
	if len(bodies) != 2 {
		t.Fatalf("comments = %q, want the first and one coalesced comment", bodies)
	}
	lines := strings.Split(bodies[1], "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "[") || !strings.HasSuffix(lines[4], "] line 4") {
		t.Fatalf("coalesced comment = %q", bodies[1])
	}
}

func TestAmbiguousContactGetsAMergeNote(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.createUser("Ana Work", ana)
	r.createUser("Ana Home", ana)
	r.clock.Advance(time.Minute) // past the fake's search lag
	r.say(ana, "Ana", "hola")
	r.settle()
	tks := r.tickets()
	if len(tks) != 1 {
		t.Fatalf("tickets = %d", len(tks))
	}
	if users := r.zd.Users(); countEndUsers(users) != 2 {
		t.Errorf("end users = %d, want the 2 existing ones (no third)", countEndUsers(users))
	}
	n := notes(tks[0])
	if len(n) != 1 || !strings.Contains(n[0], "merge") {
		t.Fatalf("notes = %q, want a merge suggestion", n)
	}
	if got := testutil.ToFloat64(r.metrics.ContactMatch.WithLabelValues("ambiguous")); got != 1 {
		t.Errorf("contact_match{ambiguous} = %v", got)
	}
}

func countEndUsers(us []sbzendesk.User) int {
	n := 0
	for _, u := range us {
		if u.Role == "end-user" {
			n++
		}
	}
	return n
}

func TestNumberChangeKeepsTheConversation(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "hola")
	r.settle()
	const newNumber = "+34600999888"
	r.inbound(sbwhatsapp.InboundParams{From: ana, Type: "system", System: &sbwhatsapp.InboundSystem{
		Type: "user_changed_number", Body: "Ana changed from " + ana + " to " + newNumber, WAID: strings.TrimPrefix(newNumber, "+")}})
	r.settle() // the change is known before the new number writes
	r.say(newNumber, "Ana", "es mi número nuevo")
	r.settle()
	tks := r.tickets()
	if len(tks) != 1 {
		t.Fatalf("tickets = %d, want the same one", len(tks))
	}
	if n := notes(tks[0]); len(n) != 1 || !strings.Contains(n[0], "changed") {
		t.Errorf("notes = %q", n)
	}
	r.reply(tks[0].ID, "Got it")
	r.settle()
	if th := r.thread(newNumber); len(th) != 1 {
		t.Errorf("reply to the new number: %d messages", len(th))
	}
	if got := testutil.ToFloat64(r.metrics.ContactMatch.WithLabelValues("created")); got != 1 {
		t.Errorf("contact_match{created} = %v, want 1", got)
	}
}

func TestDeliveryStatusTag(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "whatsapp_"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.SQLite, withEngine(func(o *bridge.Options) { o.StatusTagPrefix = prefix }))
			r.say(ana, "Ana", "hola")
			r.settle()
			r.reply(r.tickets()[0].ID, "hello")
			r.settle()
			tk := r.tickets()[0]
			var status []string
			for _, tag := range tk.Tags {
				if strings.HasPrefix(tag, "whatsapp_") {
					status = append(status, tag)
				}
			}
			want := "[]"
			if prefix != "" {
				want = "[whatsapp_read]"
			}
			if fmt.Sprint(status) != want {
				t.Errorf("status tags = %v, want %s", status, want)
			}
			if n := notes(tk); len(n) != 0 {
				t.Errorf("notes = %q: normal deliveries write none", n)
			}
		})
	}
}

func TestRefusedTemplateIsExplained(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite, withEngine(func(o *bridge.Options) {
		o.OutsideWindow = "template"
		o.Template.Name, o.Template.Language = "no_such_template", "en_US"
	}))
	r.say(ana, "Ana", "hola")
	r.settle()
	r.clock.Advance(25 * time.Hour)
	r.reply(r.tickets()[0].ID, "late answer")
	r.settle()
	if th := r.thread(ana); len(th) != 0 {
		t.Fatalf("sent %d messages", len(th))
	}
	n := notes(r.tickets()[0])
	if len(n) != 1 || !strings.Contains(n[0], "no_such_template") || !strings.Contains(n[0], "24-hour") {
		t.Fatalf("notes = %q, want one naming the window and the refused template", n)
	}
}

func TestInvalidTokenWaitsWithANote(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "hola")
	r.settle()
	r.waToken.Store("revoked-token")
	r.reply(r.tickets()[0].ID, "are you there?")
	waitFor(t, "the token note", func() bool {
		n := notes(r.tickets()[0])
		return len(n) == 1 && strings.Contains(n[0], "access token")
	})
	if th := r.thread(ana); len(th) != 0 {
		t.Fatalf("sent with a bad token: %d", len(th))
	}
	r.waToken.Store("wa-token") // rotated
	r.settle()
	if th := r.thread(ana); len(th) != 1 {
		t.Fatalf("after the token was fixed: %d messages, want 1", len(th))
	}
	if n := notes(r.tickets()[0]); len(n) != 1 {
		t.Errorf("notes = %q, want the one token note", n)
	}
}

func TestAttachmentTooLargeForWhatsApp(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "hola")
	r.settle()
	big := bytes.Repeat([]byte("w"), 600_000) // image/webp: 500 KB at most
	r.reply(r.tickets()[0].ID, "see the picture", sbzendesk.ReplyAttachment{FileName: "sticker.webp", ContentType: "image/webp", Data: big})
	r.settle()
	th := r.thread(ana)
	if len(th) != 1 || sentText(t, th[0]) != "see the picture" {
		t.Fatalf("thread = %+v, want the text only", th)
	}
	n := notes(r.tickets()[0])
	if len(n) != 1 || !strings.Contains(n[0], "sticker.webp") || !strings.Contains(n[0], "limit") {
		t.Fatalf("notes = %q", n)
	}
}

func TestOutOfOrderMessagesAreWrittenInTimestampOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite, withEngine(func(o *bridge.Options) { o.CoalesceMax = 1 }))
	r.say(ana, "Ana", "zero")
	r.settle()
	r.stopWorkers()
	base := r.clock.Now().Unix()
	// Meta delivers the later message first.
	for _, m := range []struct {
		text string
		ts   int64
	}{{"second", base + 20}, {"first", base + 10}, {"third", base + 30}} {
		r.inbound(sbwhatsapp.InboundParams{From: ana, Name: "Ana", Text: m.text, Timestamp: m.ts})
	}
	r.startWorkers()
	r.settle()
	if got := strings.Join(publicBodies(r.tickets()[0]), "|"); got != "zero|first|second|third" {
		t.Fatalf("comments = %s, want them in WhatsApp timestamp order", got)
	}
}

func TestMarketingPreferencesOptOut(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "hola")
	r.settle()
	tk := r.tickets()[0]
	prefs := func(value string, ts int64) string {
		return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"%s","changes":[{"field":"user_preferences","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"%s"},"contacts":[{"wa_id":"34600111222","profile":{"name":"Ana"}}],"user_preferences":[{"wa_id":"34600111222","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"%s","timestamp":%d}]}}]}]}`,
			rigWABA, rigNumber, value, ts)
	}
	r.postWhatsApp(prefs("stop", r.clock.Now().Unix()))
	r.settle()
	r.reply(tk.ID, "special offer")
	r.settle()
	if th := r.thread(ana); len(th) != 0 {
		t.Fatalf("sent %d messages after stop", len(th))
	}
	r.postWhatsApp(prefs("resume", r.clock.Now().Unix()+1))
	r.settle()
	r.reply(tk.ID, "welcome back")
	r.settle()
	if th := r.thread(ana); len(th) != 1 || sentText(t, th[0]) != "welcome back" {
		t.Fatalf("after resume: thread = %+v", th)
	}
	n := notes(r.tickets()[0])
	if len(n) != 3 || !strings.Contains(n[0], "stopped") || !strings.Contains(n[1], "not sent") || !strings.Contains(n[2], "resumed") {
		t.Fatalf("notes = %q, want stop, not sent, resumed", n)
	}
}
