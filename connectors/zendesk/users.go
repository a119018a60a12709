package zendesk

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/telemetry"
)

// e164RE accepts a phone number in E.164 with "+".
var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// FindOrCreateContact finds the Zendesk end user of a WhatsApp customer,
// in this order:
//
//  1. by external id (GET /api/v2/users/show_many?external_ids=…): an exact
//     lookup in the database, with no search lag → MatchExact;
//  2. by phone, for Phone then each AltPhones (GET
//     /api/v2/users/search?query=phone:<E164>). Search lags behind writes,
//     so it is a fallback for users made outside the bridge, never relied
//     on for one the bridge just created. One user → MatchAlias, and its
//     external_id is set (when it has none) so the next lookup is exact;
//     several → MatchAmbiguous with every candidate, best first (primary
//     phone equal to Phone, then the oldest), and nothing is written;
//  3. by creating it (POST /api/v2/users/create_or_update, which matches on
//     external_id, so two concurrent creations make one user): 201 →
//     MatchCreated, 200 (it already existed) → MatchExact.
//
// A found user whose name differs from Name is renamed (PUT
// /api/v2/users/{id}). Zendesk throttles updates of one user (about 5 a
// minute): a failed rename (429 included) is logged, not returned, and
// NameUpdated stays false; the next lookup tries again.
func (c *Client) FindOrCreateContact(ctx context.Context, p *connectors.ContactParams) (*connectors.ContactResult, error) {
	const op = "find_or_create_contact"
	phones, err := contactPhones(op, p)
	if err != nil {
		return nil, err
	}
	log := c.log.With("external_id", telemetry.Phone(p.ExternalID))

	if u, err := c.userByExternalID(ctx, p.ExternalID); err != nil || u != nil {
		if err != nil {
			return nil, err
		}
		res := &connectors.ContactResult{Contact: c.contactRef(u), Match: connectors.MatchExact}
		res.NameUpdated, err = c.fixUser(ctx, log, u, p.Name, "")
		return res, err
	}

	found, err := c.usersByPhone(ctx, phones)
	if err != nil {
		return nil, err
	}
	switch {
	case len(found) == 1:
		u := &found[0]
		setExternal := ""
		if u.ExternalID == "" {
			setExternal = p.ExternalID // another external id (another system's) is left alone
		}
		res := &connectors.ContactResult{Match: connectors.MatchAlias}
		res.NameUpdated, err = c.fixUser(ctx, log, u, p.Name, setExternal)
		res.Contact = c.contactRef(u)
		return res, err
	case len(found) > 1:
		rankCandidates(found, p.Phone)
		res := &connectors.ContactResult{Match: connectors.MatchAmbiguous}
		for i := range found {
			res.Candidates = append(res.Candidates, c.contactRef(&found[i]))
		}
		res.Contact = res.Candidates[0]
		log.InfoContext(ctx, "several Zendesk users match the customer's phone", "candidates", len(found),
			"zendesk_user_id", res.Contact.ID)
		return res, nil
	}
	return c.createUser(ctx, p)
}

// contactPhones validates p and returns the phone numbers to look up:
// Phone then AltPhones, without repeats.
func contactPhones(op string, p *connectors.ContactParams) ([]string, error) {
	if p == nil {
		return nil, invalid(op, "contact params are required")
	}
	if p.ExternalID == "" || len(p.ExternalID) > 255 || strings.ContainsAny(p.ExternalID, ",\r\n") {
		return nil, invalid(op, "external id %q must be 1–255 characters without commas", telemetry.MaskPhone(p.ExternalID))
	}
	var phones []string
	for _, ph := range append([]string{p.Phone}, p.AltPhones...) {
		if ph == "" {
			continue
		}
		if !e164RE.MatchString(ph) {
			return nil, invalid(op, "phone %s must be in E.164 with +", telemetry.MaskPhone(ph))
		}
		if !slices.Contains(phones, ph) {
			phones = append(phones, ph)
		}
	}
	if p.Phone == "" && len(phones) > 0 {
		return nil, invalid(op, "alternative phones need a phone")
	}
	return phones, nil
}

// contactRef makes the ref of a user.
func (c *Client) contactRef(u *wireUser) connectors.ContactRef {
	return connectors.ContactRef{Vendor: vendor, Account: c.cfg.Name, ID: string(u.ID), ExternalID: u.ExternalID}
}

// userByExternalID returns the user with that external id, nil when none.
func (c *Client) userByExternalID(ctx context.Context, externalID string) (*wireUser, error) {
	var out usersResponse
	if err := c.get(ctx, "show_many_users", "/api/v2/users/show_many.json",
		url.Values{"external_ids": {externalID}}, &out); err != nil {
		return nil, err
	}
	for i := range out.Users {
		// Zendesk compares external ids without case.
		if u := &out.Users[i]; u.ID != "" && strings.EqualFold(u.ExternalID, externalID) {
			return u, nil
		}
	}
	return nil, nil
}

// usersByPhone searches the users of each phone and returns them once
// each, in the order found. A result whose primary phone is another number
// is dropped (the search can match partially); one without a primary phone
// matched on a secondary identity and is kept.
func (c *Client) usersByPhone(ctx context.Context, phones []string) ([]wireUser, error) {
	var found []wireUser
	for _, ph := range phones {
		var out usersResponse
		if err := c.get(ctx, "search_users", "/api/v2/users/search.json",
			url.Values{"query": {"phone:" + ph}}, &out); err != nil {
			return nil, err
		}
		for _, u := range out.Users {
			if u.ID == "" || (u.Phone != "" && digits(u.Phone) != digits(ph)) {
				continue
			}
			if !slices.ContainsFunc(found, func(f wireUser) bool { return f.ID == u.ID }) {
				found = append(found, u)
			}
		}
	}
	return found, nil
}

// digits keeps the digits of a phone number.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// rankCandidates sorts several matching users best first: the one whose
// primary phone is phone, then the oldest, then the lowest id.
func rankCandidates(users []wireUser, phone string) {
	slices.SortStableFunc(users, func(a, b wireUser) int {
		ap, bp := digits(a.Phone) == digits(phone), digits(b.Phone) == digits(phone)
		if ap != bp {
			if ap {
				return -1
			}
			return 1
		}
		if a.CreatedAt.IsZero() != b.CreatedAt.IsZero() {
			if a.CreatedAt.IsZero() {
				return 1
			}
			return -1
		}
		if c := a.CreatedAt.Compare(b.CreatedAt.Time); c != 0 {
			return c
		}
		an, _ := strconv.ParseInt(string(a.ID), 10, 64)
		bn, _ := strconv.ParseInt(string(b.ID), 10, 64)
		return cmp.Compare(an, bn)
	})
}

// fixUser renames u to name when it differs and sets its external id when
// externalID is set, in one PUT. It reports whether the name was changed.
// Failures are logged and swallowed (the lookup itself succeeded), except
// a cancelled context.
func (c *Client) fixUser(ctx context.Context, log *slog.Logger, u *wireUser, name, externalID string) (bool, error) {
	var w userWrite
	if name != "" && name != u.Name {
		w.Name = name
	}
	w.ExternalID = externalID
	if w.Name == "" && w.ExternalID == "" {
		return false, nil
	}
	_, err := c.call(ctx, "update_user", &connectors.Request{Method: http.MethodPut,
		Path: "/api/v2/users/" + string(u.ID)}, userRequest{User: w}, nil)
	if err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		level := slog.LevelWarn
		if connectors.KindOf(err) == connectors.RateLimited {
			level = slog.LevelInfo // Zendesk throttles updates of one user; retried on the next lookup
		}
		log.Log(ctx, level, "could not update the Zendesk user", "zendesk_user_id", string(u.ID),
			"rename", w.Name != "", "set_external_id", w.ExternalID != "", "error", err)
		return false, nil
	}
	if w.ExternalID != "" {
		u.ExternalID = w.ExternalID
	}
	return w.Name != "", nil
}

// createUser creates the end user (or finds it by external id, when it
// appeared since the lookup).
func (c *Client) createUser(ctx context.Context, p *connectors.ContactParams) (*connectors.ContactResult, error) {
	const op = "create_or_update_user"
	name := cmpOr(strings.TrimSpace(p.Name), p.Phone, p.ExternalID)
	w := userWrite{Name: name, ExternalID: p.ExternalID, SkipVerifyEmail: true, Verified: new(false), Role: "end-user",
		UserFields: p.Fields}
	if p.Phone != "" {
		w.Phone = p.Phone
		w.Identities = []userIdentity{{Type: "phone_number", Value: p.Phone}}
	}
	var out userResponse
	// create_or_update matches on external_id: a retry cannot make a
	// second user.
	resp, err := c.call(ctx, op, &connectors.Request{Method: http.MethodPost,
		Path: "/api/v2/users/create_or_update.json", Idempotent: true}, userRequest{User: w}, &out)
	if err != nil {
		return nil, err
	}
	if out.User.ID == "" {
		return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
			Message: "create_or_update answer carries no user id"}
	}
	ref := c.contactRef(&out.User)
	if ref.ExternalID == "" {
		ref.ExternalID = p.ExternalID
	}
	match := connectors.MatchCreated
	if resp.Status == http.StatusOK {
		match = connectors.MatchExact // it existed: another worker created it first
	}
	return &connectors.ContactResult{Contact: ref, Match: match}, nil
}

// APIUserID returns the user id of the API identity (GET
// /api/v2/users/me), read once and cached: the author of the bridge's
// notes, which IsFromBridge recognises.
func (c *Client) APIUserID(ctx context.Context) (string, error) {
	c.meMu.Lock()
	defer c.meMu.Unlock()
	if c.me != "" {
		return c.me, nil
	}
	var out userResponse
	if err := c.get(ctx, "show_me", "/api/v2/users/me.json", nil, &out); err != nil {
		return "", err
	}
	if out.User.ID == "" || out.User.ID == "0" {
		return "", &connectors.Error{Kind: connectors.Auth, Vendor: vendor, Op: "show_me",
			Message: "the credentials identify no user (anonymous)"}
	}
	c.me = string(out.User.ID)
	return c.me, nil
}
