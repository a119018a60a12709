package zendesk

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUserCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createUser(t, map[string]any{"name": "Taken", "email": "taken@acme.test", "external_id": "whatsapp:+34600000001"})
	tests := []struct {
		name       string
		user       map[string]any
		wantStatus int
		wantDetail string
	}{
		{"name only", map[string]any{"name": "Ana"}, 201, ""},
		{"phone and external id", map[string]any{"name": "Bea", "phone": "+34600111222", "external_id": "whatsapp:+34600111222"}, 201, ""},
		{"identities", map[string]any{"name": "Cris", "identities": []any{map[string]any{"type": "phone_number", "value": "+34600333444"}}}, 201, ""},
		{"blank name", map[string]any{"name": " "}, 422, "name"},
		{"no name", map[string]any{"email": "x@acme.test"}, 422, "name"},
		{"bad email", map[string]any{"name": "D", "email": "nope"}, 422, "email"},
		{"duplicate email", map[string]any{"name": "D", "email": "TAKEN@acme.test"}, 422, "email"},
		{"duplicate external id (other case)", map[string]any{"name": "D", "external_id": "WhatsApp:+34600000001"}, 422, "external_id"},
		{"bad role", map[string]any{"name": "D", "role": "boss"}, 422, "role"},
		{"bad identity type", map[string]any{"name": "D", "identities": []any{map[string]any{"type": "fax", "value": "1"}}}, 422, "identities"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.do(t, http.MethodPost, "/api/v2/users.json", map[string]any{"user": tc.user})
			if tc.wantDetail != "" {
				r.wantError(t, tc.wantStatus, "RecordInvalid", tc.wantDetail)
				if str(r.body, "description") != "Record validation errors" || str(r.body, "details", tc.wantDetail, 0, "error") == "" {
					t.Fatalf("body = %s", r.raw)
				}
				return
			}
			r.want(t, tc.wantStatus)
			if str(r.body, "user", "role") != "end-user" || str(r.body, "user", "name") != tc.user["name"] {
				t.Fatalf("user = %s", r.raw)
			}
		})
	}
}

func TestUserPhoneIsThePrimaryPhoneIdentity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name      string
		user      map[string]any
		wantPhone string
		wantIDs   []string // type:value:primary
	}{
		{"phone", map[string]any{"name": "A", "phone": "+34600111222"}, "+34600111222",
			[]string{"phone_number:+34600111222:true"}},
		{"email and phone", map[string]any{"name": "B", "email": "b@acme.test", "phone": "+34600111223"}, "+34600111223",
			[]string{"email:b@acme.test:true", "phone_number:+34600111223:true"}},
		{"phone identity", map[string]any{"name": "C", "identities": []any{map[string]any{"type": "phone_number", "value": "+34600111224"}}},
			"+34600111224", []string{"phone_number:+34600111224:true"}},
		{"phone and another phone identity", map[string]any{"name": "D", "phone": "+34600111225",
			"identities": []any{map[string]any{"type": "phone_number", "value": "+34600111226"}}}, "+34600111225",
			[]string{"phone_number:+34600111225:true", "phone_number:+34600111226:false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := b.createUser(t, tc.user)
			u := b.do(t, http.MethodGet, "/api/v2/users/"+itoa(id), nil).want(t, http.StatusOK)
			if str(u.body, "user", "phone") != tc.wantPhone {
				t.Fatalf("phone = %q, want %q", str(u.body, "user", "phone"), tc.wantPhone)
			}
			r := b.do(t, http.MethodGet, "/api/v2/users/"+itoa(id)+"/identities.json", nil).want(t, http.StatusOK)
			var got []string
			for _, x := range list(r.body, "identities") {
				got = append(got, str(x, "type")+":"+str(x, "value")+":"+str(x, "primary"))
				if num(x, "user_id") != id {
					t.Fatalf("identity user_id = %v", x)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.wantIDs, ",") {
				t.Fatalf("identities = %v, want %v", got, tc.wantIDs)
			}
		})
	}
}

func TestIdentities(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.createUser(t, map[string]any{"name": "Ana", "email": "ana@acme.test"})
	path := "/api/v2/users/" + itoa(id) + "/identities"
	r := b.do(t, http.MethodPost, path, map[string]any{"identity": map[string]any{"type": "phone_number", "value": "+1 555-123-4567"}}).
		want(t, http.StatusCreated)
	if str(r.body, "identity", "type") != "phone_number" || str(r.body, "identity", "primary") != "true" {
		t.Fatalf("identity = %s", r.raw)
	}
	u := b.do(t, http.MethodGet, "/api/v2/users/"+itoa(id), nil)
	if str(u.body, "user", "phone") != "+1 555-123-4567" {
		t.Fatalf("phone = %s", u.raw)
	}
	f := b.do(t, http.MethodGet, path+"?type[]=phone_number", nil).want(t, http.StatusOK)
	if n := len(list(f.body, "identities")); n != 1 {
		t.Fatalf("filtered identities = %d: %s", n, f.raw)
	}
	tests := []struct {
		name       string
		path       string
		body       any
		wantStatus int
		wantErr    string
	}{
		{"unknown user", "/api/v2/users/999/identities", map[string]any{"identity": map[string]any{"type": "email", "value": "a@b.c"}}, 404, "RecordNotFound"},
		{"bad type", path, map[string]any{"identity": map[string]any{"type": "pager", "value": "1"}}, 422, "RecordInvalid"},
		{"blank value", path, map[string]any{"identity": map[string]any{"type": "email", "value": ""}}, 422, "RecordInvalid"},
		{"missing root", path, map[string]any{"type": "email"}, 400, "ParameterMissing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b.do(t, http.MethodPost, tc.path, tc.body).wantError(t, tc.wantStatus, tc.wantErr, "")
		})
	}
}

func TestCreateOrUpdateMatchesOnlyExternalIDOrEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		existing   map[string]any
		send       map[string]any
		wantStatus int
		wantSame   bool
		wantExt    string
	}{
		{"by external id", map[string]any{"name": "A", "external_id": "whatsapp:+34600111222"},
			map[string]any{"name": "Ana", "external_id": "whatsapp:+34600111222"}, 200, true, "whatsapp:+34600111222"},
		{"by external id in another case, case rewritten", map[string]any{"name": "A", "external_id": "WhatsApp:+34600111222"},
			map[string]any{"name": "Ana", "external_id": "whatsapp:+34600111222"}, 200, true, "whatsapp:+34600111222"},
		{"by email", map[string]any{"name": "A", "email": "ana@acme.test"},
			map[string]any{"name": "Ana", "email": "ANA@acme.test", "external_id": "whatsapp:+34600111222"}, 200, true, "whatsapp:+34600111222"},
		{"same phone, no external id: not matched", map[string]any{"name": "A", "phone": "+34600111222"},
			map[string]any{"name": "Ana", "phone": "+34600111222", "external_id": "whatsapp:+34600111222"}, 201, false, "whatsapp:+34600111222"},
		{"same name: not matched", map[string]any{"name": "Ana"},
			map[string]any{"name": "Ana", "external_id": "whatsapp:+34600111222"}, 201, false, "whatsapp:+34600111222"},
		{"new without name", map[string]any{"name": "A"},
			map[string]any{"external_id": "whatsapp:+34600111222"}, 422, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			old := b.createUser(t, tc.existing)
			r := b.do(t, http.MethodPost, "/api/v2/users/create_or_update.json", map[string]any{"user": tc.send})
			if tc.wantStatus == 422 {
				r.wantError(t, 422, "RecordInvalid", "name")
				return
			}
			r.want(t, tc.wantStatus)
			id := num(r.body, "user", "id")
			if (id == old) != tc.wantSame {
				t.Fatalf("matched existing = %v, want %v", id == old, tc.wantSame)
			}
			if loc := r.header.Get("Location"); loc != b.srv.URL+"/api/v2/users/"+itoa(id)+".json" {
				t.Fatalf("Location = %q", loc)
			}
			if str(r.body, "user", "external_id") != tc.wantExt || str(r.body, "user", "name") != "Ana" && tc.send["name"] != nil {
				t.Fatalf("user = %s", r.raw)
			}
		})
	}
}

func TestShowMany(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.createUser(t, map[string]any{"name": "A", "external_id": "ext-a"})
	c := b.createUser(t, map[string]any{"name": "C", "external_id": "ext-c"})
	many := make([]string, 101)
	for i := range many {
		many[i] = itoa(int64(i + 1))
	}
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantIDs    []int64
	}{
		{"ids", "?ids=" + itoa(a) + "," + itoa(c) + ",999", 200, []int64{a, c}},
		{"external ids, any case", "?external_ids=EXT-C,ext-a,nope", 200, []int64{c, a}},
		{"neither", "", 400, nil},
		{"more than 100", "?ids=" + strings.Join(many, ","), 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.do(t, http.MethodGet, "/api/v2/users/show_many.json"+tc.query, nil).want(t, tc.wantStatus)
			if tc.wantStatus != 200 {
				return
			}
			users := list(r.body, "users")
			if len(users) != len(tc.wantIDs) {
				t.Fatalf("users = %s", r.raw)
			}
			for i, id := range tc.wantIDs {
				if num(users[i], "id") != id {
					t.Fatalf("user %d = %v, want %d", i, num(users[i], "id"), id)
				}
			}
		})
	}
}

func TestUserUpdateAndThrottle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.createUser(t, map[string]any{"name": "Ana", "phone": "+34600111222", "external_id": "ext-ana"})
	path := "/api/v2/users/" + itoa(id) + ".json"
	r := b.do(t, http.MethodPut, path, map[string]any{"user": map[string]any{"name": "Ana Q", "phone": "+34600999888", "notes": "vip"}}).
		want(t, http.StatusOK)
	if str(r.body, "user", "name") != "Ana Q" || str(r.body, "user", "phone") != "+34600999888" || str(r.body, "user", "notes") != "vip" {
		t.Fatalf("updated = %s", r.raw)
	}
	ids := b.do(t, http.MethodGet, "/api/v2/users/"+itoa(id)+"/identities", nil)
	if n := len(list(ids.body, "identities")); n != 1 || str(ids.body, "identities", 0, "value") != "+34600999888" {
		t.Fatalf("phone identity not moved: %s", ids.raw)
	}
	b.do(t, http.MethodPut, "/api/v2/users/999", map[string]any{"user": map[string]any{"name": "x"}}).wantError(t, 404, "RecordNotFound", "")
	// The update above was the first of this minute; four more pass, the
	// sixth is throttled with a plain-text body, and so is an update through
	// create_or_update.
	for range 4 {
		b.do(t, http.MethodPut, path, map[string]any{"user": map[string]any{"notes": "n"}}).want(t, http.StatusOK)
	}
	for _, tc := range []struct {
		method, path string
		body         map[string]any
	}{
		{http.MethodPut, path, map[string]any{"user": map[string]any{"notes": "again"}}},
		{http.MethodPost, "/api/v2/users/create_or_update", map[string]any{"user": map[string]any{"name": "Ana", "external_id": "ext-ana"}}},
	} {
		r := b.do(t, tc.method, tc.path, tc.body).want(t, http.StatusTooManyRequests)
		if string(r.raw) != "You have exceeded the rate limit for updating a single unique user" ||
			!strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || r.header.Get("Retry-After") != "60" {
			t.Fatalf("throttle answer = %q %v", r.raw, r.header)
		}
	}
	// Other users are not affected.
	other := b.createUser(t, map[string]any{"name": "Bea"})
	b.do(t, http.MethodPut, "/api/v2/users/"+itoa(other), map[string]any{"user": map[string]any{"notes": "n"}}).want(t, http.StatusOK)
	b.fake.AdvanceClock(time.Minute)
	b.do(t, http.MethodPut, path, map[string]any{"user": map[string]any{"notes": "later"}}).want(t, http.StatusOK)
}

func TestConcurrentCreateOrUpdateMakesOneUser(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.RequestsPerMinute = Unlimited })
	const n = 16
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// No t.Fatal off the test goroutine: report the status only. The
			// per-user throttle answers some updates with 429, which is fine.
			body := `{"user":{"name":"Ana ` + itoa(int64(i)) + `","external_id":"whatsapp:+34600111222"}}`
			req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/api/v2/users/create_or_update", strings.NewReader(body))
			req.Header.Set("Authorization", basicAuth)
			req.Header.Set("Content-Type", "application/json")
			resp, err := b.srv.Client().Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			_ = resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	created := 0
	for s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusOK, http.StatusTooManyRequests:
		default:
			t.Errorf("status %d", s)
		}
	}
	if created != 1 || len(b.fake.Users()) != 3 {
		t.Fatalf("%d creates, %d users", created, len(b.fake.Users()))
	}
}
