// Package mapping holds the pure decisions of the bridge between WhatsApp
// and a helpdesk: who a customer is, which ticket a message goes to, how
// a WhatsApp message reads inside a ticket, and what the integrator's
// mapping expressions make of it.
//
//   - identity.go: phone normalization to E.164, the equivalent forms of a
//     number (Brazil with and without the 9th digit, Mexico +52 and +521),
//     the contact key, the deterministic helpdesk external id and the
//     [Aliases] of one contact, updated by identity-change system messages.
//   - threading.go: [DecideThread], the threading policy (append, reopen,
//     new ticket or follow-up ticket).
//   - content.go: [RenderMessage], the text and media reference a message
//     becomes in the helpdesk, for every inbound message type.
//   - vars.go, expr.go, helpers.go, fields.go: the CEL expressions of the
//     mapping and outside_window.template.params sections. [Compile] checks
//     them once when the configuration loads (errors name the key path and
//     CEL's line:col); [Mapper.Ticket], [Mapper.Contact] and
//     [Mapper.TemplateParams] evaluate them for each message or reply.
//
// # Expressions
//
// Variables (see [Vars]; field names are snake_case):
//
//	contact       name, wa_id, user_id, phone, country, aliases, first_seen, is_new
//	message       id, type, text, caption, timestamp, media_type, media_size,
//	              referral.{source_url, source_id, source_type, headline, body, ctwa_clid},
//	              context.{id, forwarded}
//	number        phone_number_id, display, label
//	conversation  ticket_id, last_activity, window_open, message_count
//	ticket        id, subject, status, priority, type, group, brand, form, tags,
//	              custom_fields, requester_name
//	comment       id, body, author_name, created_at
//
// Unset parts read as zero values; has(message.referral) tells whether a
// chat started from an ad. ticket.custom_fields["x"] fails when x is absent:
// write ticket.custom_fields[?"x"].orValue(default) instead.
//
// Helpers, besides CEL's standard functions (contains, startsWith,
// matches with RE2 syntax, size, timestamps…) and strings extension (split,
// replace, join, substring, lowerAscii…):
//
//	lower(s), upper(s), trim(s)      Unicode case mapping, surrounding space removed
//	first_non_empty(list)            first non-blank string, trimmed; "" if none
//	first_non_empty(a, b[, c[, d]])
//	format_time(t, layout)           in the configured zone; layout "date", "time",
//	                                 "datetime", "rfc3339" or a Go layout; "" when t is unset
//	mask_phone(s)                    "***" and the last 4 characters: "***1222"
//	slug(s)                          tag-safe: "Summer Sale!" gives "summer_sale"
//
// A string field that evaluates to null or "" is not set: the default
// applies (the subject "WhatsApp: <name or masked number>", the contact's
// profile name) or the helpdesk's own. Each evaluation is bounded by a CEL
// cost limit ([DefaultCostLimit]), so a runaway expression fails with
// [ErrCostLimit] in milliseconds instead of holding a worker.
//
// The package does no I/O: no network, no store, no clock (callers pass the
// time). It depends only on the message model of connectors/whatsapp, the
// ticket types of connectors, the configuration types of config and cel-go.
package mapping
