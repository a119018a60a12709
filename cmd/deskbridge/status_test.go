package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/store"
)

// seedStore creates a migrated store at storeURL holding two events, the
// first of them delivered twice.
func seedStore(t *testing.T, storeURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, storeURL, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer st.Close()
	conv := store.ConversationKey{Source: "whatsapp", Account: "106540352242922", Contact: "15551234567"}
	ev := func(key string) store.NewEvent {
		return store.NewEvent{
			Source:       "whatsapp",
			Kind:         "message",
			Key:          key,
			Conversation: conv,
			Payload:      []byte(`{"id":"` + key + `"}`),
		}
	}
	insert := func(events ...store.NewEvent) []store.InsertResult {
		t.Helper()
		var res []store.InsertResult
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			res, err = tx.InsertEvents(ctx, events)
			return err
		})
		if err != nil {
			t.Fatalf("insert events: %v", err)
		}
		return res
	}
	if res := insert(ev("wamid.one"), ev("wamid.two")); res[0].Duplicate || res[1].Duplicate {
		t.Fatalf("first insert reported duplicates: %+v", res)
	}
	if res := insert(ev("wamid.one")); !res[0].Duplicate {
		t.Fatalf("re-delivery not reported as duplicate: %+v", res)
	}
}

func TestStatusNoStore(t *testing.T) {
	t.Parallel()
	storeURL, dbPath := sqliteURL(t)
	p := writeFile(t, "deskbridge.yaml", exampleConfig(t, storeURL))
	for _, args := range [][]string{{"status"}, {"status", "--json"}} {
		code, stdout, stderr := runCmd(t, append(args, "--config", p)...)
		if code != 1 {
			t.Errorf("%v: exit code = %d, want 1", args, code)
		}
		checkOneLineError(t, stdout, stderr)
		if want := "deskbridge: no store at " + dbPath; !strings.HasPrefix(stderr, want) {
			t.Errorf("%v: stderr = %q, want it to start with %q", args, stderr, want)
		}
		if !strings.Contains(stderr, "deskbridge serve") {
			t.Errorf("%v: stderr = %q, want the hint to run deskbridge serve", args, stderr)
		}
	}
	// status must not create the database it reports missing.
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("status created %s (stat: %v)", dbPath, err)
	}
}

func TestStatusCounts(t *testing.T) {
	t.Parallel()
	storeURL, _ := sqliteURL(t)
	seedStore(t, storeURL)
	p := writeFile(t, "deskbridge.yaml", exampleConfig(t, storeURL))

	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, "status", "--json", "--config", p)
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
		}
		if stderr != "" {
			t.Errorf("stderr = %q, want empty", stderr)
		}
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.UseNumber()
		var got map[string]any
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("status --json output is not a JSON object: %v\n%s", err, stdout)
		}
		if dec.More() {
			t.Errorf("status --json printed more than one JSON value:\n%s", stdout)
		}
		want := map[string]int64{
			"events_total":         2,
			"events_pending":       2,
			"events_done":          0,
			"events_dead":          0,
			"duplicates_total":     1,
			"jobs_pending":         0, // no queue ran: River's tables are absent
			"dead_letters":         0,
			"conversations":        1,
			"conversations_leased": 0,
		}
		for key, w := range want {
			v, ok := got[key]
			if !ok {
				t.Errorf("status --json lacks %q:\n%s", key, stdout)
				continue
			}
			n, ok := v.(json.Number)
			if !ok {
				t.Errorf("%s = %#v, want a JSON number", key, v)
				continue
			}
			i, err := n.Int64()
			if err != nil {
				t.Errorf("%s = %s, want an integer", key, n)
				continue
			}
			if i != w {
				t.Errorf("%s = %d, want %d", key, i, w)
			}
		}
		if n, ok := got["schema_version"].(json.Number); !ok {
			t.Errorf("schema_version = %#v, want a number", got["schema_version"])
		} else if v, err := n.Int64(); err != nil || int(v) != store.SchemaVersion() {
			t.Errorf("schema_version = %s, want %d", n, store.SchemaVersion())
		}
		if n, ok := got["oldest_pending_age_seconds"].(json.Number); !ok {
			t.Errorf("oldest_pending_age_seconds = %#v, want a number", got["oldest_pending_age_seconds"])
		} else if f, err := n.Float64(); err != nil || f < 0 || f > 600 {
			t.Errorf("oldest_pending_age_seconds = %s, want a small non-negative number", n)
		}
	})

	t.Run("text", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, "status", "--config", p)
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
		}
		if stderr != "" {
			t.Errorf("stderr = %q, want empty", stderr)
		}
		if json.Valid(bytes.TrimSpace([]byte(stdout))) {
			t.Errorf("status without --json printed JSON:\n%s", stdout)
		}
		for _, want := range []string{
			storeURL,
			"events",
			"2 total: 2 pending, 0 done, 0 dead",
			"1 re-deliveries collapsed",
			"jobs pending",
			"dead letters",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("status output lacks %q:\n%s", want, stdout)
			}
		}
		lines := nonEmptyLines(stdout)
		found := false
		for _, l := range lines {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "events" && f[1] == "2" {
				found = true
			}
		}
		if !found {
			t.Errorf("no line reads \"events 2 …\":\n%s", stdout)
		}
	})
}

func TestStatusUnmigratedStore(t *testing.T) {
	t.Parallel()
	storeURL, dbPath := sqliteURL(t)
	// An empty file is a SQLite database without deskbridge's tables.
	if err := os.WriteFile(dbPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, "deskbridge.yaml", exampleConfig(t, storeURL))
	code, stdout, stderr := runCmd(t, "status", "--json", "--config", p)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	if !strings.HasPrefix(stderr, "deskbridge: ") {
		t.Errorf("stderr = %q, want the prefix deskbridge: ", stderr)
	}
}
