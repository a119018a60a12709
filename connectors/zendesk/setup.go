package zendesk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
)

// TriggerTitle returns the title of the bridge's trigger for a name prefix.
func TriggerTitle(name string) string { return name + ": agent public reply" }

// webhookIDRE accepts webhook ids (ULIDs); they become a path segment.
var webhookIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// newWebhookID stands for the id of a webhook a dry run would create.
const newWebhookID = "<new webhook id>"

// EnsureWebhook makes Zendesk call the bridge on agent public replies,
// idempotently:
//
//  1. the webhook named p.Name (GET /api/v2/webhooks?filter[name_contains]=…)
//     is created (POST /api/v2/webhooks: POST, JSON, active, subscribed to
//     conditional_ticket_events so triggers can call it) or, when its
//     endpoint or settings differ, updated (PUT /api/v2/webhooks/{id});
//  2. its signing secret is read (GET /api/v2/webhooks/{id}/signing_secret)
//     into the result, to store as the helpdesk's webhook_secret;
//  3. the trigger titled TriggerTitle(p.Name) (GET /api/v2/triggers, every
//     page) is created or, when its definition differs, updated. It fires
//     on an update with a public comment (update_type is Change,
//     comment_is_public is true) not made through the API (current_via_id
//     is_not 5: the bridge's own writes) nor by an end user (role is_not
//     end_user), and notifies the webhook with BodyTemplate().
//
// Nothing is written when everything is in place: Actions is then empty.
// With DryRun nothing is written at all; Actions says what would change,
// and the secret is read only when the webhook already exists.
func (c *Client) EnsureWebhook(ctx context.Context, p *connectors.EnsureWebhookParams) (*connectors.EnsureWebhookResult, error) {
	const op = "ensure_webhook"
	if p == nil || strings.TrimSpace(p.Name) == "" {
		return nil, invalid(op, "a name is required")
	}
	u, err := url.Parse(p.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (u.Scheme != "http" || !isLoopback(u.Hostname()))) {
		return nil, invalid(op, "endpoint %q must be an absolute https URL", p.Endpoint)
	}
	res := &connectors.EnsureWebhookResult{}
	want := wireWebhook{Name: p.Name, Endpoint: p.Endpoint, HTTPMethod: "POST", RequestFormat: "json",
		Status: "active", Subscriptions: []string{"conditional_ticket_events"}}

	hook, err := c.findWebhook(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	hookID := newWebhookID
	switch {
	case hook == nil:
		res.Actions = append(res.Actions, fmt.Sprintf("create webhook %s → %s", p.Name, p.Endpoint))
		if !p.DryRun {
			var out webhookEnvelope
			if _, err := c.call(ctx, "create_webhook", &connectors.Request{Method: http.MethodPost,
				Path: "/api/v2/webhooks"}, webhookEnvelope{Webhook: want}, &out); err != nil {
				return nil, err
			}
			if !webhookIDRE.MatchString(string(out.Webhook.ID)) {
				return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: "create_webhook",
					Message: fmt.Sprintf("webhook id %q is not a Zendesk webhook id", out.Webhook.ID)}
			}
			hookID = string(out.Webhook.ID)
		}
	default:
		hookID = string(hook.ID)
		if diff := webhookDiff(hook, &want); diff != "" {
			res.Actions = append(res.Actions, fmt.Sprintf("update webhook %s: %s", p.Name, diff))
			if !p.DryRun {
				if _, err := c.call(ctx, "update_webhook", &connectors.Request{Method: http.MethodPut,
					Path: "/api/v2/webhooks/" + hookID}, webhookEnvelope{Webhook: want}, nil); err != nil {
					return nil, err
				}
			}
		}
	}
	if hookID != newWebhookID {
		var out signingSecretResponse
		if err := c.get(ctx, "show_webhook_signing_secret", "/api/v2/webhooks/"+hookID+"/signing_secret", nil, &out); err != nil {
			return nil, err
		}
		res.SigningSecret = out.SigningSecret.Secret
	}

	title := TriggerTitle(p.Name)
	wantT := desiredTrigger(title, hookID)
	trig, err := c.findTrigger(ctx, title)
	if err != nil {
		return nil, err
	}
	switch {
	case trig == nil:
		res.Actions = append(res.Actions, fmt.Sprintf("create trigger %q → webhook %s", title, hookID))
		if !p.DryRun {
			if _, err := c.call(ctx, "create_trigger", &connectors.Request{Method: http.MethodPost,
				Path: "/api/v2/triggers.json"}, triggerRequest{Trigger: wantT}, nil); err != nil {
				return nil, err
			}
		}
	default:
		if diff := triggerDiff(trig, &wantT); diff != "" {
			res.Actions = append(res.Actions, fmt.Sprintf("update trigger %q: %s", title, diff))
			if !p.DryRun {
				if _, err := c.call(ctx, "update_trigger", &connectors.Request{Method: http.MethodPut,
					Path: "/api/v2/triggers/" + string(trig.ID) + ".json"}, triggerRequest{Trigger: wantT}, nil); err != nil {
					return nil, err
				}
			}
		}
	}
	return res, nil
}

// desiredTrigger is the bridge's trigger calling webhook hookID.
func desiredTrigger(title, hookID string) triggerWrite {
	return triggerWrite{
		Title:  title,
		Active: true,
		Conditions: triggerConditions{
			All: []triggerCondition{
				{Field: "update_type", Operator: "is", Value: "Change"},
				{Field: "comment_is_public", Operator: "is", Value: "true"},
				{Field: "current_via_id", Operator: "is_not", Value: "5"}, // 5: web service (API), the bridge's writes
				{Field: "role", Operator: "is_not", Value: "end_user"},
			},
			Any: []triggerCondition{},
		},
		Actions: []triggerAction{{Field: "notification_webhook", Value: []any{hookID, BodyTemplate()}}},
	}
}

// findWebhook returns the webhook named name, nil when none.
func (c *Client) findWebhook(ctx context.Context, name string) (*wireWebhook, error) {
	const op = "list_webhooks"
	first := url.Values{"filter[name_contains]": {name}}
	path, query := "/api/v2/webhooks", first
	for range maxPages {
		var out webhooksResponse
		if err := c.get(ctx, op, path, query, &out); err != nil {
			return nil, err
		}
		for i, h := range out.Webhooks {
			if h.Name == name {
				if !webhookIDRE.MatchString(string(h.ID)) {
					return nil, &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op,
						Message: fmt.Sprintf("webhook %q has id %q, not a Zendesk webhook id", name, h.ID)}
				}
				return &out.Webhooks[i], nil
			}
		}
		next, after, err := c.nextPage(op, out.Meta, out.Links, nil)
		switch {
		case err != nil:
			return nil, err
		case next != "":
			path, query = next, nil
		case after != "":
			path, query = "/api/v2/webhooks", url.Values{"filter[name_contains]": {name}, "page[after]": {after}}
		default:
			return nil, nil
		}
	}
	return nil, nil
}

// findTrigger returns the trigger titled title, nil when none.
func (c *Client) findTrigger(ctx context.Context, title string) (*wireTrigger, error) {
	const op = "list_triggers"
	path, query := "/api/v2/triggers.json", url.Values{"page[size]": {"100"}}
	for range maxPages {
		var out triggersResponse
		if err := c.get(ctx, op, path, query, &out); err != nil {
			return nil, err
		}
		for i, t := range out.Triggers {
			if t.Title == title {
				if !idRE.MatchString(string(t.ID)) {
					return nil, &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op,
						Message: fmt.Sprintf("trigger %q has id %q, not a Zendesk id", title, t.ID)}
				}
				return &out.Triggers[i], nil
			}
		}
		next, after, err := c.nextPage(op, out.Meta, out.Links, out.NextPage)
		switch {
		case err != nil:
			return nil, err
		case next != "":
			path, query = next, nil
		case after != "":
			path, query = "/api/v2/triggers.json", url.Values{"page[size]": {"100"}, "page[after]": {after}}
		default:
			return nil, nil
		}
	}
	return nil, nil
}

// webhookDiff describes how have differs from want, "" when it does not.
func webhookDiff(have, want *wireWebhook) string {
	var d []string
	if have.Endpoint != want.Endpoint {
		d = append(d, fmt.Sprintf("endpoint %s → %s", have.Endpoint, want.Endpoint))
	}
	if !strings.EqualFold(have.HTTPMethod, want.HTTPMethod) {
		d = append(d, fmt.Sprintf("http_method %s → %s", have.HTTPMethod, want.HTTPMethod))
	}
	if !strings.EqualFold(have.RequestFormat, want.RequestFormat) {
		d = append(d, fmt.Sprintf("request_format %s → %s", have.RequestFormat, want.RequestFormat))
	}
	if have.Status != want.Status {
		d = append(d, fmt.Sprintf("status %s → %s", have.Status, want.Status))
	}
	hs, ws := slices.Sorted(slices.Values(have.Subscriptions)), slices.Sorted(slices.Values(want.Subscriptions))
	if !slices.Equal(hs, ws) {
		d = append(d, fmt.Sprintf("subscriptions %v → %v", hs, ws))
	}
	return strings.Join(d, ", ")
}

// triggerDiff describes how have differs from want, "" when it does not.
// Conditions and actions are compared as sets of normalized values, so a
// number read back for a string sent ("5" vs 5) or a reformatted JSON body
// is not a difference.
func triggerDiff(have *wireTrigger, want *triggerWrite) string {
	var d []string
	if have.Active != want.Active {
		d = append(d, fmt.Sprintf("active %t → %t", have.Active, want.Active))
	}
	if !sameConditions(have.Conditions.All, want.Conditions.All) {
		d = append(d, "conditions (all)")
	}
	if !sameConditions(have.Conditions.Any, want.Conditions.Any) {
		d = append(d, "conditions (any)")
	}
	norm := func(as []triggerAction) []string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.Field + "\x1f" + normValue(a.Value)
		}
		return slices.Sorted(slices.Values(out))
	}
	if !slices.Equal(norm(have.Actions), norm(want.Actions)) {
		d = append(d, "actions")
	}
	return strings.Join(d, ", ")
}

func sameConditions(a, b []triggerCondition) bool {
	norm := func(cs []triggerCondition) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Field + "\x1f" + c.Operator + "\x1f" + normValue(c.Value)
		}
		return slices.Sorted(slices.Values(out))
	}
	return slices.Equal(norm(a), norm(b))
}

// normValue renders a condition or action value for comparison: numbers
// and booleans as text, lists element by element, JSON text canonically.
func normValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if t := strings.TrimSpace(x); strings.HasPrefix(t, "{") {
			var j any
			if json.Unmarshal([]byte(t), &j) == nil {
				b, _ := json.Marshal(j)
				return string(b)
			}
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = normValue(e)
		}
		return "[" + strings.Join(parts, "\x1e") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = normValue(e)
		}
		return "[" + strings.Join(parts, "\x1e") + "]"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
