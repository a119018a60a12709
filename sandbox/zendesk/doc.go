// Package zendesk is a stateful fake of the Zendesk Support API (REST v2
// paths and bodies), used by the `deskbridge sandbox` command, the helpdesk
// conformance suite and end-to-end tests. Importers alias it (e.g.
// zdsandbox), since connectors/zendesk has the same name.
//
// A [Server] is an http.Handler; run it on httptest.NewServer or any
// listener and, when it sits behind another host name, call SetBaseURL:
//
//	fake := zdsandbox.New(zdsandbox.Options{Email: "bot@acme.test", APIToken: "token"})
//	srv := httptest.NewServer(fake)
//	fake.SetBaseURL(srv.URL)
//	defer fake.Close()
//
// # API surface
//
// Every path answers with or without ".json". Credentials are
// "Basic base64({Email}/token:{APIToken})" or "Bearer {OAuthToken}"; they
// act as the admin user "Deskbridge API" (APIUserID). Anything else, or
// revoked credentials, is 401 {"error":"Couldn't authenticate you"}.
//
//	GET  /api/v2/users/{id}, /users/me
//	GET  /api/v2/users/show_many?ids=… | ?external_ids=…   (≤100)
//	GET  /api/v2/users/search?query=… | ?external_id=…      (offset pages)
//	POST /api/v2/users                                       201
//	POST /api/v2/users/create_or_update                      200 existing / 201 new, Location
//	PUT  /api/v2/users/{id}
//	GET|POST /api/v2/users/{id}/identities
//	GET  /api/v2/search?query=type:user phone:…              (offset pages)
//	POST /api/v2/tickets                                     201, Location, Idempotency-Key
//	GET  /api/v2/tickets[?external_id=], /tickets/{id}
//	PUT  /api/v2/tickets/{id}                                {"ticket","audit"}
//	GET  /api/v2/tickets/{id}/comments                       cursor (page[size]) or offset pages
//	GET  /api/v2/tickets/{id}/audits                         cursor (page[size]) or offset pages, oldest first
//	POST /api/v2/uploads?filename=…[&token=…]                201; DELETE /uploads/{token} 204
//	GET  /api/v2/attachments/{id}
//	GET  /attachments/token/{token}/?name=…                  the file (credentials needed)
//	GET|POST /api/v2/webhooks; GET|PUT|PATCH|DELETE /webhooks/{id}
//	GET|POST /api/v2/webhooks/{id}/signing_secret            200 show / 201 reset
//	GET|POST /api/v2/triggers; GET|PUT|DELETE /triggers/{id}
//	GET  /api/v2/ticket_fields                              every field, or cursor pages (page[size]) in id order
//	GET  /api/v2/user_fields, /groups, /brands              cursor (page[size]) or offset pages
//	GET  /api/v2/ticket_forms[?active=]                     every form (not paginated)
//
// # Behaviour
//
// Users: create_or_update matches only by external_id (case-insensitive;
// the stored value takes the case sent) or email, never by phone. user.phone
// is the primary phone_number identity; identities given on create are
// added. Search (users/search?query= and /search) sees a user only
// SearchLag after its creation; users/search?external_id= and show_many are
// exact lookups without lag. More than 5 updates of one user a minute
// (PUT, or create_or_update on an existing user) answer 429 with the plain
// text "You have exceeded the rate limit for updating a single unique user".
//
// Tickets: a requester (requester_id or a requester object) and a comment
// are required. The first comment is public unless comment.public is false;
// a later comment without "public" inherits the previous comment's value.
// The first comment's author is comment.author_id, else submitter_id, else
// the API user. A closed ticket refuses every update (422 "Status: closed
// prevents ticket update"); via_followup_source_id of a closed ticket
// creates a follow-up that inherits the tags unless given, and the source
// lists it in followup_ids. A public reply by the end-user requester
// reopens a pending or solved ticket. Options.AutoCloseAfter closes solved
// tickets after a while on the fake clock. The same Idempotency-Key and
// body within 2 hours replay the first 201 ("x-idempotency-lookup: hit");
// another body with that key is 400 IdempotentRequestError. More than 30
// updates of one ticket by one user within 10 minutes answer 429 (JSON
// TooManyRequests) with Retry-After; agent-UI writes made through the
// control API are not counted.
//
// Audits: every write to a ticket stores an audit (id, author_id,
// created_at, via, metadata {system, custom} and events: the Comment event
// first, then Create or Change events), answered by ticket create and
// update and listed by /tickets/{id}/audits. The write-only "metadata"
// object of a ticket create or update is stored as is and answered as the
// audit's metadata.custom, as Zendesk does ({"ticket":{"metadata":{"k":"v"}}}
// gives "metadata":{"custom":{"k":"v"},…}). Agent replies and status
// changes made through the control API store audits too (without custom
// metadata); the automatic close of Options.AutoCloseAfter does not.
//
// Uploads: tokens live 60 minutes on the fake clock; files over 50 MB are
// 413. Upload tokens in comment.uploads attach their files; unknown or
// expired tokens are skipped, as Zendesk does.
//
// Schema: the account starts with Zendesk's system ticket fields (subject,
// description, status, tickettype, priority, group, assignee; status,
// tickettype and priority list their values in system_field_options), the
// group "Support",
// the brand "Sandbox" and the "Default Ticket Form" (BuiltinGroupID,
// BuiltinBrandID, BuiltinFormID). Options.TicketFields, UserFields, Groups,
// Brands and TicketForms add to them, as do AddTicketField, AddUserField,
// AddGroup, AddBrand and AddTicketForm and their control routes. Drop-down
// (tagger, dropdown) and multiselect options are answered in
// custom_field_options. Ticket writes are not checked against the schema.
//
// Rate limit: a token bucket of RequestsPerMinute per account; every API
// response carries X-Rate-Limit, X-Rate-Limit-Remaining, ratelimit-limit,
// ratelimit-remaining and ratelimit-reset; past the limit it is 429 with
// Retry-After and {"error":"TooManyRequests",…} (or the text "Rate limit
// exceeded" when Limits.Plain429 is set). ExhaustRateLimit empties the
// bucket to script a 429.
//
// Errors use Zendesk's bodies: 404 {"error":"RecordNotFound","description":
// "Not found"}, unknown paths {"error":"InvalidEndpoint",…}, 422
// {"error":"RecordInvalid","description":"Record validation errors",
// "details":{field:[{"description","error"}]}}, 400 ParameterMissing; the
// webhooks API answers {"errors":[{"code","title","detail"}]}.
//
// # Triggers and webhooks
//
// After every ticket create and update (API writes are via 5 by the API
// user; control-API replies and status changes are via 0 by an agent),
// active triggers run in position order. Conditions: update_type,
// comment_is_public, current_via_id, via_id, role (of the current user),
// status, priority, current_tags, ticket_is_public, requester_id,
// assignee_id, group_id, brand_id; a trigger with another condition is
// refused with 422. The action notification_webhook [webhook_id, body]
// renders the body and sends it to the webhook (which must subscribe to
// exactly conditional_ticket_events). Other actions are stored and ignored.
//
// Placeholders: ticket.{id, external_id, title, description, status,
// priority, ticket_type, via, tags, link, url, url_with_protocol,
// created_at, updated_at, created_at_with_timestamp,
// updated_at_with_timestamp, account, brand.id, group.id,
// ticket_field_<id>}; ticket.requester.*, ticket.submitter.*,
// ticket.assignee.* and current_user.* with id, name, first_name,
// last_name, email, phone, external_id, role, details, notes, language,
// tags; ticket.latest_comment and ticket.latest_public_comment (the body)
// with .value, .id, .is_public, .created_at, .created_at_with_time,
// .author.* and the list .attachments (filename, url, content_type, size,
// id). Liquid: {% for a in list %}, {% if x [==|!= y] %}, {% else %},
// {% unless %}, forloop.first/last/index. Unknown placeholders render
// empty. In JSON webhooks every value is escaped as inside a JSON string.
//
// Requests carry X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret,
// timestamp + body)), X-Zendesk-Webhook-Signature-Timestamp (RFC 3339 UTC
// on the fake clock) and X-Zendesk-Webhook-Id. They are sent in order by
// one worker, retried with exponential backoff on any non-2xx answer up to
// WebhookMaxAttempts; Flush waits for the queue, Deliveries lists them.
//
// The control API under /_sandbox/ (no credentials) mirrors the Go
// methods; see control_http.go for its routes, and fields.go for those
// that add ticket fields, user fields, groups, brands and ticket forms
// (POST /_sandbox/ticket_fields, user_fields, groups, brands, ticket_forms).
package zendesk
