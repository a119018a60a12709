package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

const (
	testNumber = "106540352242922"
	helpdeskZD = "support"
)

// t0 has sub-millisecond digits and a zone other than UTC, so the tests
// see both the store's millisecond precision and that zones do not matter.
var t0 = time.Date(2026, 11, 23, 9, 15, 30, 987654321, time.FixedZone("CET", 3600))

// checkChat compares a stored chat with want: times at millisecond
// precision (zero stays zero), every other field exactly.
func checkChat(t *testing.T, what string, got *store.Chat, want store.Chat) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no chat, want %+v", what, want)
		return
	}
	g := *got
	times := func(c *store.Chat) map[string]*time.Time {
		return map[string]*time.Time{
			"TicketCheckedAt": &c.TicketCheckedAt, "LastActivity": &c.LastActivity,
			"LastCustomerAt": &c.LastCustomerAt, "OptedOutAt": &c.OptedOutAt,
			"CreatedAt": &c.CreatedAt, "UpdatedAt": &c.UpdatedAt,
		}
	}
	gt, wt := times(&g), times(&want)
	for name, w := range wt {
		wantT := w.Truncate(time.Millisecond)
		if !gt[name].Equal(wantT) || gt[name].IsZero() != wantT.IsZero() {
			t.Errorf("%s: %s = %v, want %v", what, name, *gt[name], wantT)
		}
		*gt[name], *w = time.Time{}, time.Time{}
	}
	if g != want {
		t.Errorf("%s: fields other than times differ\n got %+v\nwant %+v", what, g, want)
	}
}

func saveChat(t *testing.T, st *store.Store, c *store.Chat) {
	t.Helper()
	if err := st.SaveChat(context.Background(), c); err != nil {
		t.Fatalf("save chat %s/%s: %v", c.PhoneNumberID, c.ContactKey, err)
	}
}

func chatID(c *store.Chat) int64 {
	if c == nil {
		return 0
	}
	return c.ID
}

func TestSaveChatRoundTrip(t *testing.T) {
	t.Parallel()
	full := func(key string) store.Chat {
		return store.Chat{
			PhoneNumberID: testNumber, ContactKey: key, Helpdesk: helpdeskZD, ContactID: "zd-contact-1",
			WAID: "15551230001", UserID: "US.1234567890", Name: "Zoë O'Brien", TicketID: "101", TicketStatus: "open",
			TicketCheckedAt: t0, LastActivity: t0.Add(time.Second), LastCustomerAt: t0.Add(2 * time.Second),
			OptedOutAt: t0.Add(3 * time.Second), OptOutReason: "STOP",
		}
	}
	for _, tc := range []struct {
		name   string
		insert store.Chat
		update func(c *store.Chat)
	}{
		{
			name:   "every field set, then every field changed",
			insert: full("key-all"),
			update: func(c *store.Chat) {
				c.Helpdesk, c.ContactID, c.WAID, c.UserID, c.Name = "sales", "zd-contact-2", "15551230002", "US.999", "Zoe"
				c.TicketID, c.TicketStatus, c.OptOutReason = "102", "pending", "blocked"
				c.TicketCheckedAt, c.LastActivity = t0.Add(time.Hour), t0.Add(time.Hour+time.Millisecond)
				c.LastCustomerAt, c.OptedOutAt = t0.Add(2*time.Hour+999*time.Microsecond), t0.Add(3*time.Hour)
			},
		},
		{
			name:   "zero times stay zero, then set",
			insert: store.Chat{PhoneNumberID: testNumber, ContactKey: "key-zero", Helpdesk: helpdeskZD},
			update: func(c *store.Chat) {
				c.ContactID, c.TicketID = "zd-contact-3", "103"
				c.TicketCheckedAt, c.LastActivity, c.LastCustomerAt, c.OptedOutAt = t0, t0.Add(1), t0.Add(2), t0.Add(3)
			},
		},
		{
			name:   "every field set, then cleared",
			insert: full("key-clear"),
			update: func(c *store.Chat) {
				c.ContactID, c.WAID, c.UserID, c.Name, c.TicketID, c.TicketStatus, c.OptOutReason = "", "", "", "", "", "", ""
				c.TicketCheckedAt, c.LastActivity, c.LastCustomerAt, c.OptedOutAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
				t.Parallel()
				ctx := context.Background()
				clk := newClock()
				clk.Add(1500 * time.Microsecond) // created_at has sub-millisecond digits too
				st := storetest.Open(t, kind, store.Options{Now: clk.Now})

				c := tc.insert
				saveChat(t, st, &c)
				if c.ID == 0 || !c.CreatedAt.Equal(clk.Now()) || !c.UpdatedAt.Equal(clk.Now()) {
					t.Fatalf("after insert: ID=%d CreatedAt=%v UpdatedAt=%v, want an id and both at %v", c.ID, c.CreatedAt, c.UpdatedAt, clk.Now())
				}
				want := tc.insert
				want.ID, want.CreatedAt, want.UpdatedAt = c.ID, clk.Now(), clk.Now()
				got, err := st.Chat(ctx, c.PhoneNumberID, c.ContactKey)
				if err != nil {
					t.Fatal(err)
				}
				checkChat(t, "Chat after insert", got, want)
				got, err = st.ChatByID(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				checkChat(t, "ChatByID after insert", got, want)

				created := clk.Now()
				clk.Add(time.Minute)
				tc.update(&c)
				saveChat(t, st, &c)
				want = c
				want.CreatedAt, want.UpdatedAt = created, clk.Now()
				got, err = st.ChatByID(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				checkChat(t, "ChatByID after update", got, want)
				got, err = st.Chat(ctx, c.PhoneNumberID, c.ContactKey)
				if err != nil {
					t.Fatal(err)
				}
				checkChat(t, "Chat after update", got, want)
				if all, err := st.Chats(ctx, 10); err != nil || len(all) != 1 {
					t.Errorf("Chats = %d chats, err %v, want the one chat (the update inserted nothing)", len(all), err)
				}
			})
		})
	}
}

func TestChatUniqueAndUnknown(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		first := store.Chat{PhoneNumberID: testNumber, ContactKey: "15551230001", Helpdesk: helpdeskZD, ContactID: "c-1", TicketID: "201"}
		saveChat(t, st, &first)

		dup := store.Chat{PhoneNumberID: testNumber, ContactKey: "15551230001", Helpdesk: helpdeskZD, ContactID: "c-2", TicketID: "202"}
		if err := st.SaveChat(ctx, &dup); err == nil {
			t.Errorf("second chat with the same (phone_number_id, contact_key) saved as id %d, want a unique violation", dup.ID)
		}
		// The failed insert left nothing behind, its ticket link included.
		if c, err := st.ChatByTicket(ctx, helpdeskZD, "202"); err != nil || c != nil {
			t.Errorf("ticket of the rejected chat: %+v, %v, want nil, nil", c, err)
		}
		if c, _ := st.Chat(ctx, testNumber, "15551230001"); chatID(c) != first.ID || c.ContactID != "c-1" {
			t.Errorf("chat after rejected duplicate = %+v, want the first unchanged", c)
		}
		// The same contact key on another number is another chat.
		other := store.Chat{PhoneNumberID: "999000111", ContactKey: "15551230001", Helpdesk: helpdeskZD}
		saveChat(t, st, &other)
		if other.ID == first.ID {
			t.Errorf("chat on another number got the same id %d", other.ID)
		}
		// Updating a chat that does not exist is an error, not an insert.
		ghost := store.Chat{ID: first.ID + other.ID + 1000, PhoneNumberID: testNumber, ContactKey: "ghost", Helpdesk: helpdeskZD}
		if err := st.SaveChat(ctx, &ghost); err == nil {
			t.Error("saving a chat with an unknown id succeeded")
		}

		for _, tc := range []struct {
			name string
			get  func() (*store.Chat, error)
		}{
			{"Chat unknown key", func() (*store.Chat, error) { return st.Chat(ctx, testNumber, "nobody") }},
			{"Chat unknown number", func() (*store.Chat, error) { return st.Chat(ctx, "nonumber", "15551230001") }},
			{"ChatByID unknown", func() (*store.Chat, error) { return st.ChatByID(ctx, first.ID+other.ID+1000) }},
			{"ChatByTicket unknown ticket", func() (*store.Chat, error) { return st.ChatByTicket(ctx, helpdeskZD, "999") }},
			{"ChatByTicket other helpdesk", func() (*store.Chat, error) { return st.ChatByTicket(ctx, "sales", "201") }},
			{"LatestChatOfContact unknown", func() (*store.Chat, error) {
				return st.LatestChatOfContact(ctx, testNumber, helpdeskZD, "c-unknown")
			}},
		} {
			c, err := tc.get()
			if c != nil || err != nil {
				t.Errorf("%s = %+v, %v, want nil, nil", tc.name, c, err)
			}
		}
	})
}

func TestChatByTicket(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		a := store.Chat{PhoneNumberID: testNumber, ContactKey: "a", Helpdesk: helpdeskZD, TicketID: "301", TicketStatus: "open"}
		saveChat(t, st, &a)
		// The ticket was solved; the customer's next message opened another.
		a.TicketID, a.TicketStatus = "302", "new"
		saveChat(t, st, &a)
		b := store.Chat{PhoneNumberID: testNumber, ContactKey: "b", Helpdesk: helpdeskZD, TicketID: "401"}
		saveChat(t, st, &b)
		c := store.Chat{PhoneNumberID: testNumber, ContactKey: "c", Helpdesk: "sales", TicketID: "301"}
		saveChat(t, st, &c)
		none := store.Chat{PhoneNumberID: testNumber, ContactKey: "d", Helpdesk: helpdeskZD}
		saveChat(t, st, &none)

		for _, tc := range []struct {
			helpdesk, ticket string
			want             int64
		}{
			{helpdeskZD, "302", a.ID}, // current ticket
			{helpdeskZD, "301", a.ID}, // earlier ticket
			{helpdeskZD, "401", b.ID},
			{"sales", "301", c.ID}, // same ticket id in another helpdesk
			{"sales", "302", 0},
			{helpdeskZD, "", 0}, // a chat without a ticket is not linked to ""
		} {
			got, err := st.ChatByTicket(ctx, tc.helpdesk, tc.ticket)
			if err != nil {
				t.Fatal(err)
			}
			if chatID(got) != tc.want {
				t.Errorf("ChatByTicket(%q, %q) = chat %d, want %d", tc.helpdesk, tc.ticket, chatID(got), tc.want)
			}
			if got != nil && got.ID == a.ID && got.TicketID != "302" {
				t.Errorf("ChatByTicket(%q, %q).TicketID = %q, want the current ticket 302", tc.helpdesk, tc.ticket, got.TicketID)
			}
		}
	})
}

func TestTxSaveChat(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		committed := store.Chat{PhoneNumberID: testNumber, ContactKey: "committed", Helpdesk: helpdeskZD, TicketID: "501"}
		if err := st.WithTx(ctx, func(tx *store.Tx) error { return tx.SaveChat(ctx, &committed) }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		rolledBack := store.Chat{PhoneNumberID: testNumber, ContactKey: "rolled-back", Helpdesk: helpdeskZD, TicketID: "502"}
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.SaveChat(ctx, &rolledBack); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx = %v, want boom", err)
		}
		if c, _ := st.ChatByTicket(ctx, helpdeskZD, "501"); chatID(c) != committed.ID || committed.ID == 0 {
			t.Errorf("committed chat by ticket = %+v, want chat %d", c, committed.ID)
		}
		if c, _ := st.Chat(ctx, testNumber, "rolled-back"); c != nil {
			t.Errorf("rolled-back chat stored: %+v", c)
		}
		if c, _ := st.ChatByTicket(ctx, helpdeskZD, "502"); c != nil {
			t.Errorf("rolled-back ticket link stored: %+v", c)
		}
	})
}

func TestLatestChatOfContact(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		mk := func(number, key, helpdesk, contact string, activity time.Time) *store.Chat {
			c := &store.Chat{PhoneNumberID: number, ContactKey: key, Helpdesk: helpdesk, ContactID: contact, LastActivity: activity}
			saveChat(t, st, c)
			return c
		}
		// Inserted out of activity order, so id order alone gives the wrong answer.
		newer := mk(testNumber, "bsuid-new", helpdeskZD, "c-1", t0.Add(2*time.Hour))
		oldest := mk(testNumber, "15551230001", helpdeskZD, "c-1", t0)
		mk(testNumber, "never-active", helpdeskZD, "c-1", time.Time{})
		mk("999000111", "other-number", helpdeskZD, "c-1", t0.Add(5*time.Hour))
		mk(testNumber, "other-contact", helpdeskZD, "c-2", t0.Add(5*time.Hour))
		otherHelpdesk := mk(testNumber, "other-helpdesk", "sales", "c-1", t0.Add(5*time.Hour))

		check := func(step, number, helpdesk, contact string, want int64) {
			t.Helper()
			got, err := st.LatestChatOfContact(ctx, number, helpdesk, contact)
			if err != nil {
				t.Fatal(err)
			}
			if chatID(got) != want {
				t.Errorf("%s: LatestChatOfContact(%s, %s, %s) = chat %d, want %d", step, number, helpdesk, contact, chatID(got), want)
			}
		}
		for _, tc := range []struct {
			number, helpdesk, contact string
			want                      int64
		}{
			{testNumber, helpdeskZD, "c-1", newer.ID},
			{testNumber, "sales", "c-1", otherHelpdesk.ID},
			{testNumber, helpdeskZD, "c-3", 0},
			{"unknown-number", helpdeskZD, "c-1", 0},
		} {
			check("initially", tc.number, tc.helpdesk, tc.contact, tc.want)
		}
		// The old chat becomes the most recently active one.
		oldest.LastActivity = t0.Add(3 * time.Hour)
		saveChat(t, st, oldest)
		check("after activity on the old chat", testNumber, helpdeskZD, "c-1", oldest.ID)
		// Equal activity: the chat created last (higher id) wins, whichever
		// was saved last.
		newer.LastActivity = t0.Add(4 * time.Hour)
		saveChat(t, st, newer)
		check("after activity on the first chat", testNumber, helpdeskZD, "c-1", newer.ID)
		oldest.LastActivity = newer.LastActivity
		saveChat(t, st, oldest)
		check("equal activity", testNumber, helpdeskZD, "c-1", max(newer.ID, oldest.ID))
		saveChat(t, st, newer)
		check("equal activity, saved again", testNumber, helpdeskZD, "c-1", max(newer.ID, oldest.ID))
	})
}

func TestChatsList(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		if all, err := st.Chats(ctx, 10); err != nil || len(all) != 0 {
			t.Fatalf("Chats on an empty store = %v, %v", all, err)
		}
		var ids []int64
		for i := range 4 {
			c := store.Chat{PhoneNumberID: testNumber, ContactKey: fmt.Sprint("k", i), Helpdesk: helpdeskZD}
			saveChat(t, st, &c)
			ids = append(ids, c.ID)
		}
		slices.Reverse(ids)
		for _, tc := range []struct {
			limit int
			want  []int64
		}{{10, ids}, {4, ids}, {2, ids[:2]}} {
			all, err := st.Chats(ctx, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, c := range all {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Chats(%d) = %v, want %v (newest first)", tc.limit, got, tc.want)
			}
		}
	})
}

func TestIdentities(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		st := storetest.Open(t, kind, store.Options{Now: clk.Now})
		add := func(helpdesk, contact string, aliases ...string) {
			t.Helper()
			if err := st.AddIdentities(ctx, helpdesk, contact, aliases); err != nil {
				t.Fatalf("AddIdentities(%s, %s, %v): %v", helpdesk, contact, aliases, err)
			}
			clk.Add(time.Second)
		}
		// Contact ids sort opposite to the order they are stored in.
		add(helpdeskZD, "contact-z", "wa:111", "bsuid:AAA")
		add(helpdeskZD, "contact-m", "wa:222", "wa:111") // wa:111 is z's already: it stays z's
		add(helpdeskZD, "contact-a", "wa:333", "")       // "" is no alias
		add("sales", "contact-s", "wa:111", "wa:222")    // another helpdesk's map
		add(helpdeskZD, "contact-a", "bsuid:AAA")        // add-only, again

		for _, tc := range []struct {
			name     string
			helpdesk string
			aliases  []string
			want     []string
		}{
			{"one alias", helpdeskZD, []string{"wa:111"}, []string{"contact-z"}},
			{"alias kept by its first contact", helpdeskZD, []string{"bsuid:AAA"}, []string{"contact-z"}},
			{"second contact's own alias", helpdeskZD, []string{"wa:222"}, []string{"contact-m"}},
			{"two aliases of one contact, once", helpdeskZD, []string{"bsuid:AAA", "wa:111"}, []string{"contact-z"}},
			{"first-stored order, not argument or id order", helpdeskZD, []string{"wa:333", "wa:222", "wa:111"},
				[]string{"contact-z", "contact-m", "contact-a"}},
			{"unknown alias", helpdeskZD, []string{"wa:999"}, nil},
			{"unknown and known", helpdeskZD, []string{"wa:999", "wa:333"}, []string{"contact-a"}},
			{"no aliases", helpdeskZD, nil, nil},
			{"empty alias", helpdeskZD, []string{""}, nil},
			{"other helpdesk", "sales", []string{"wa:111", "wa:222", "wa:333"}, []string{"contact-s"}},
			{"unknown helpdesk", "billing", []string{"wa:111"}, nil},
		} {
			got, err := st.LookupIdentity(ctx, tc.helpdesk, tc.aliases)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: LookupIdentity(%s, %q) = %q, want %q", tc.name, tc.helpdesk, tc.aliases, got, tc.want)
			}
		}
	})
}

func TestStatusRank(t *testing.T) {
	t.Parallel()
	order := []string{"sent", "delivered", "failed", "read", "played"}
	for i := 1; i < len(order); i++ {
		if store.StatusRank(order[i-1]) >= store.StatusRank(order[i]) {
			t.Errorf("StatusRank(%s) = %d, not below StatusRank(%s) = %d",
				order[i-1], store.StatusRank(order[i-1]), order[i], store.StatusRank(order[i]))
		}
	}
	if store.StatusRank("accepted") != store.StatusRank("sent") || store.StatusRank("") != 0 || store.StatusRank("bogus") != 0 {
		t.Errorf("accepted=%d sent=%d empty=%d bogus=%d, want accepted=sent and 0 for unknown",
			store.StatusRank("accepted"), store.StatusRank("sent"), store.StatusRank(""), store.StatusRank("bogus"))
	}
}

func TestApplyStatus(t *testing.T) {
	t.Parallel()
	// A step is a RecordSent (status "") or an ApplyStatus at t0 plus its
	// index in seconds.
	type step struct {
		status, callback string
		applied          bool
	}
	record := func() step { return step{} }
	status := func(name string, applied bool) step { return step{status: name, applied: applied} }
	cases := []struct {
		name  string
		steps []step
		// want: the final status, the step whose time it carries, its
		// callback and whether the row belongs to the chat (RecordSent).
		status   string
		atStep   int
		callback string
		failed   bool
	}{
		{name: "sent, delivered, read", status: "read", atStep: 3, callback: "cb-rec",
			steps: []step{record(), status("sent", true), status("delivered", true), status("read", true)}},
		{name: "late delivered after read", status: "read", atStep: 2, callback: "cb-rec",
			steps: []step{record(), status("sent", true), status("read", true), status("delivered", false)}},
		{name: "failed after sent", status: "failed", atStep: 2, callback: "cb-rec", failed: true,
			steps: []step{record(), status("sent", true), status("failed", true)}},
		{name: "failed after delivered", status: "failed", atStep: 2, callback: "cb-rec", failed: true,
			steps: []step{record(), status("delivered", true), status("failed", true)}},
		{name: "failed after read not applied", status: "read", atStep: 1, callback: "cb-rec",
			steps: []step{record(), status("read", true), status("failed", false)}},
		{name: "duplicate status", status: "delivered", atStep: 1, callback: "cb-rec",
			steps: []step{record(), status("delivered", true), status("delivered", false)}},
		{name: "accepted then sent", status: "accepted", atStep: 1, callback: "cb-rec",
			steps: []step{record(), status("accepted", true), status("sent", false)}},
		{name: "played after read", status: "played", atStep: 2, callback: "cb-rec",
			steps: []step{record(), status("read", true), status("played", true)}},
		{name: "status before RecordSent", status: "delivered", atStep: 1, callback: "cb-rec",
			steps: []step{{status: "sent", callback: "cb-rec", applied: true}, {status: "delivered", callback: "cb-rec", applied: true}, record()}},
		{name: "status before RecordSent, late one after", status: "read", atStep: 0, callback: "cb-rec",
			steps: []step{{status: "read", callback: "cb-rec", applied: true}, record(), status("delivered", false)}},
		{name: "first callback kept", status: "delivered", atStep: 1, callback: "cb-status",
			steps: []step{{status: "sent", callback: "cb-status", applied: true}, {status: "delivered", callback: "cb-other", applied: true}}},
		{name: "status fills a missing callback", status: "delivered", atStep: 1, callback: "cb-late",
			steps: []step{{status: "sent", applied: true}, {status: "delivered", callback: "cb-late", applied: true}}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
				t.Parallel()
				ctx := context.Background()
				clk := newClock()
				s := storetest.Open(t, kind, store.Options{Now: clk.Now})
				wamid := fmt.Sprintf("wamid.case%d", i)
				sent := store.SentMessage{WAMID: wamid, Callback: "cb-rec", ChatID: 42, Helpdesk: helpdeskZD, TicketID: "601", CommentID: "c-9"}
				recorded := false
				for j, s2 := range tc.steps {
					at := t0.Add(time.Duration(j) * time.Second)
					if s2.status == "" {
						if err := s.RecordSent(ctx, sent); err != nil {
							t.Fatal(err)
						}
						recorded = true
						continue
					}
					code, title := "", ""
					if s2.status == "failed" {
						code, title = "131026", "Message undeliverable"
					}
					applied, err := s.ApplyStatus(ctx, wamid, s2.callback, s2.status, at, code, title)
					if err != nil {
						t.Fatal(err)
					}
					if applied != s2.applied {
						t.Errorf("step %d: ApplyStatus(%s) applied = %v, want %v", j, s2.status, applied, s2.applied)
					}
					clk.Add(time.Second)
				}
				m, err := s.SentMessage(ctx, wamid)
				if err != nil || m == nil {
					t.Fatalf("SentMessage = %+v, %v", m, err)
				}
				wantAt := t0.Add(time.Duration(tc.atStep) * time.Second).Truncate(time.Millisecond)
				if m.WAMID != wamid || m.Status != tc.status || !m.StatusAt.Equal(wantAt) || m.Callback != tc.callback {
					t.Errorf("stored %+v, want status %s at %v, callback %s", m, tc.status, wantAt, tc.callback)
				}
				wantCode, wantTitle := "", ""
				if tc.failed {
					wantCode, wantTitle = "131026", "Message undeliverable"
				}
				if m.ErrorCode != wantCode || m.ErrorTitle != wantTitle {
					t.Errorf("error = %q %q, want %q %q", m.ErrorCode, m.ErrorTitle, wantCode, wantTitle)
				}
				if recorded {
					if m.ChatID != 42 || m.Helpdesk != helpdeskZD || m.TicketID != "601" || m.CommentID != "c-9" {
						t.Errorf("RecordSent's fields not stored: %+v", m)
					}
				} else if m.ChatID != 0 || m.Helpdesk != "" || m.TicketID != "" || m.CommentID != "" {
					t.Errorf("a status alone filled the chat fields: %+v", m)
				}
				if m.CreatedAt.IsZero() {
					t.Errorf("CreatedAt is zero: %+v", m)
				}
				if got, err := s.SentByCallback(ctx, tc.callback); err != nil || got == nil || got.WAMID != wamid {
					t.Errorf("SentByCallback(%s) = %+v, %v, want %s", tc.callback, got, err, wamid)
				}
			})
		})
	}
}

func TestSentMessagesAndCallback(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		st := storetest.Open(t, kind, store.Options{Now: clk.Now})
		// Sent in this order; the wamids sort the other way.
		for _, m := range []store.SentMessage{
			{WAMID: "wamid.C", Callback: "cb-1", ChatID: 7, Helpdesk: helpdeskZD, TicketID: "701", CommentID: "11"},
			{WAMID: "wamid.X", Callback: "cb-x", ChatID: 8, Helpdesk: helpdeskZD, TicketID: "801", CommentID: "81"},
			{WAMID: "wamid.B", Callback: "cb-2", ChatID: 7, Helpdesk: helpdeskZD, TicketID: "701", CommentID: "12"},
			{WAMID: "wamid.A", Callback: "cb-3", ChatID: 7, Helpdesk: helpdeskZD, TicketID: "702", CommentID: "13"},
		} {
			if err := st.RecordSent(ctx, m); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Second)
		}
		// A status for a message not recorded yet belongs to no chat.
		if _, err := st.ApplyStatus(ctx, "wamid.Z", "cb-z", "sent", t0, "", ""); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			chat int64
			want []string
		}{
			{7, []string{"wamid.C", "wamid.B", "wamid.A"}},
			{8, []string{"wamid.X"}},
			{9, nil},
		} {
			msgs, err := st.SentMessages(ctx, tc.chat)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.WAMID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("SentMessages(%d) = %v, want %v (oldest first)", tc.chat, got, tc.want)
			}
		}
		msgs, _ := st.SentMessages(ctx, 7)
		if len(msgs) == 3 {
			if m := msgs[1]; m.Callback != "cb-2" || m.TicketID != "701" || m.CommentID != "12" || m.Status != "" || !m.StatusAt.IsZero() ||
				!m.CreatedAt.Equal(newClock().Now().Add(2*time.Second)) {
				t.Errorf("SentMessages(7)[1] = %+v", m)
			}
		}

		for _, tc := range []struct{ callback, want string }{
			{"cb-1", "wamid.C"}, {"cb-2", "wamid.B"}, {"cb-x", "wamid.X"}, {"cb-z", "wamid.Z"}, {"cb-none", ""},
		} {
			m, err := st.SentByCallback(ctx, tc.callback)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if m != nil {
				got = m.WAMID
			}
			if got != tc.want {
				t.Errorf("SentByCallback(%s) = %q, want %q", tc.callback, got, tc.want)
			}
		}
		if m, err := st.SentMessage(ctx, "wamid.unknown"); m != nil || err != nil {
			t.Errorf("SentMessage(unknown) = %+v, %v, want nil, nil", m, err)
		}
	})
}

func TestBatchEffects(t *testing.T) {
	t.Parallel()
	const src, target = "whatsapp", "zendesk:support"
	type effect struct {
		state, batch, result, ref string
		attempts                  int
	}
	type op struct {
		complete       bool
		batch, ref     string
		keys           []string          // begin: keys to batch; complete: keys it returns (any order)
		result         string            // complete
		begun          map[string]effect // begin: the returned effects by key
		target, source string            // "" for the defaults
	}
	pending := func(batch, ref string, attempts int) effect {
		return effect{state: store.EffectPending, batch: batch, ref: ref, attempts: attempts}
	}
	done := func(batch, result, ref string, attempts int) effect {
		return effect{state: store.EffectDone, batch: batch, result: result, ref: ref, attempts: attempts}
	}
	for _, tc := range []struct {
		name  string
		ops   []op
		final map[string]effect
	}{
		{
			name: "begin three, complete",
			ops: []op{
				{batch: "b1", ref: "ticket-9", keys: []string{"k1", "k2", "k3"}, begun: map[string]effect{
					"k1": pending("b1", "ticket-9", 1), "k2": pending("b1", "ticket-9", 1), "k3": pending("b1", "ticket-9", 1)}},
				{complete: true, batch: "b1", result: "comment-1", ref: "ticket-9", keys: []string{"k1", "k2", "k3"}},
				{complete: true, batch: "b1", result: "comment-2", ref: "ticket-10", keys: nil}, // nothing pending left
			},
			final: map[string]effect{
				"k1": done("b1", "comment-1", "ticket-9", 1), "k2": done("b1", "comment-1", "ticket-9", 1),
				"k3": done("b1", "comment-1", "ticket-9", 1),
			},
		},
		{
			name: "ref unknown at begin, given at completion",
			ops: []op{
				{batch: "b1", ref: "", keys: []string{"k1", "k2", "k3"}, begun: map[string]effect{
					"k1": pending("b1", "", 1), "k2": pending("b1", "", 1), "k3": pending("b1", "", 1)}},
				{complete: true, batch: "b1", result: "ticket-new", ref: "ticket-new", keys: []string{"k1", "k2", "k3"}},
			},
			final: map[string]effect{
				"k1": done("b1", "ticket-new", "ticket-new", 1), "k2": done("b1", "ticket-new", "ticket-new", 1),
				"k3": done("b1", "ticket-new", "ticket-new", 1),
			},
		},
		{
			name: "done key not reset by a later batch",
			ops: []op{
				{batch: "b1", ref: "ticket-9", keys: []string{"k1", "k2"}},
				{complete: true, batch: "b1", result: "comment-1", ref: "ticket-9", keys: []string{"k1", "k2"}},
				{batch: "b2", ref: "ticket-10", keys: []string{"k2", "k3"}, begun: map[string]effect{
					"k2": done("b1", "comment-1", "ticket-9", 1), "k3": pending("b2", "ticket-10", 1)}},
				{complete: true, batch: "b2", result: "comment-2", ref: "ticket-10", keys: []string{"k3"}},
			},
			final: map[string]effect{
				"k1": done("b1", "comment-1", "ticket-9", 1), "k2": done("b1", "comment-1", "ticket-9", 1),
				"k3": done("b2", "comment-2", "ticket-10", 1),
			},
		},
		{
			name: "pending key joins a new batch",
			ops: []op{
				{batch: "b1", ref: "ticket-9", keys: []string{"k1", "k2"}},
				// The write of b1 never happened (crash); the retry coalesces k2 with k3.
				{batch: "b2", ref: "ticket-10", keys: []string{"k2", "k3"}, begun: map[string]effect{
					"k2": pending("b2", "ticket-10", 2), "k3": pending("b2", "ticket-10", 1)}},
				{complete: true, batch: "b1", result: "comment-1", ref: "ticket-9", keys: []string{"k1"}},
				{complete: true, batch: "b2", result: "comment-2", ref: "ticket-10", keys: []string{"k2", "k3"}},
			},
			final: map[string]effect{
				"k1": done("b1", "comment-1", "ticket-9", 1), "k2": done("b2", "comment-2", "ticket-10", 2),
				"k3": done("b2", "comment-2", "ticket-10", 1),
			},
		},
		{
			name: "single effect joins a batch",
			ops: []op{
				{batch: "", keys: []string{"k1"}}, // BeginEffect
				{batch: "b1", ref: "ticket-9", keys: []string{"k1", "k2"}, begun: map[string]effect{
					"k1": pending("b1", "ticket-9", 2), "k2": pending("b1", "ticket-9", 1)}},
				{complete: true, batch: "b1", result: "comment-1", ref: "ticket-9", keys: []string{"k1", "k2"}},
			},
			final: map[string]effect{
				"k1": done("b1", "comment-1", "ticket-9", 2), "k2": done("b1", "comment-1", "ticket-9", 1),
			},
		},
		{
			name: "other target and source not completed",
			ops: []op{
				{batch: "b1", ref: "ticket-9", keys: []string{"k1"}},
				{batch: "b1", ref: "conv-1", keys: []string{"k1"}, target: "whatsapp:1"},
				{complete: true, batch: "b1", result: "x", ref: "y", keys: nil, source: "zendesk"},
				{complete: true, batch: "b1", result: "comment-1", ref: "ticket-9", keys: []string{"k1"}},
				{complete: true, batch: "unknown", result: "x", ref: "y", keys: nil},
			},
			final: map[string]effect{"k1": done("b1", "comment-1", "ticket-9", 1)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
				t.Parallel()
				ctx := context.Background()
				st := storetest.Open(t, kind, store.Options{})
				for i, o := range tc.ops {
					s, tg := src, target
					if o.source != "" {
						s = o.source
					}
					if o.target != "" {
						tg = o.target
					}
					switch {
					case o.complete:
						keys, err := st.CompleteBatch(ctx, s, tg, o.batch, o.result, o.ref)
						if err != nil {
							t.Fatalf("op %d: %v", i, err)
						}
						slices.Sort(keys)
						if !slices.Equal(keys, o.keys) {
							t.Errorf("op %d: CompleteBatch(%s) = %q, want %q", i, o.batch, keys, o.keys)
						}
					case o.batch == "":
						if _, _, err := st.BeginEffect(ctx, s, o.keys[0], tg); err != nil {
							t.Fatalf("op %d: %v", i, err)
						}
					default:
						effs, err := st.BeginBatch(ctx, s, tg, o.batch, o.ref, o.keys)
						if err != nil {
							t.Fatalf("op %d: %v", i, err)
						}
						if len(effs) != len(o.keys) {
							t.Fatalf("op %d: BeginBatch returned %d effects for %d keys", i, len(effs), len(o.keys))
						}
						for j, e := range effs {
							if e.Key != o.keys[j] || e.Source != s || e.Target != tg {
								t.Errorf("op %d: effect %d is %s/%s → %s, want %s/%s → %s (keys order)", i, j, e.Source, e.Key, e.Target, s, o.keys[j], tg)
							}
							if want, ok := o.begun[e.Key]; ok {
								if got := (effect{e.State, e.Batch, e.ResultID, e.Ref, e.Attempts}); got != want {
									t.Errorf("op %d: BeginBatch effect %s = %+v, want %+v", i, e.Key, got, want)
								}
							}
						}
					}
				}
				for key, want := range tc.final {
					e, err := st.Effect(ctx, src, key, target)
					if err != nil || e == nil {
						t.Fatalf("Effect(%s) = %+v, %v", key, e, err)
					}
					if got := (effect{e.State, e.Batch, e.ResultID, e.Ref, e.Attempts}); got != want {
						t.Errorf("Effect(%s) = %+v, want %+v", key, got, want)
					}
				}
			})
		})
	}
}

func TestAbandonBatch(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		st := storetest.Open(t, kind, store.Options{})
		ctx := t.Context()
		if _, err := st.BeginBatch(ctx, "whatsapp", "helpdesk:support", "b1", "7", []string{"k1", "k2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.BeginBatch(ctx, "whatsapp", "helpdesk:support", "b2", "7", []string{"k3"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CompleteBatch(ctx, "whatsapp", "helpdesk:support", "b2", "c9", "7"); err != nil {
			t.Fatal(err)
		}
		if err := st.AbandonBatch(ctx, "whatsapp", "helpdesk:support", "b1"); err != nil {
			t.Fatal(err)
		}
		if err := st.AbandonBatch(ctx, "whatsapp", "helpdesk:support", "b2"); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{"k1": "", "k2": "", "k3": store.EffectDone} {
			e, err := st.Effect(ctx, "whatsapp", key, "helpdesk:support")
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if e != nil {
				got = e.State
			}
			if got != want {
				t.Errorf("%s: state %q, want %q", key, got, want)
			}
		}
	})
}
