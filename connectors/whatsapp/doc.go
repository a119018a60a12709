// Package whatsapp is deskbridge's connector for the WhatsApp Business
// Platform (Meta's Cloud API).
//
// This package currently covers the inbound side:
//
//   - [VerifySignature] and [Sign] check and produce the X-Hub-Signature-256
//     header that Meta puts on every webhook POST (HMAC-SHA256 of the raw body,
//     keyed with the app secret).
//   - [ParseNotification] turns a webhook body into a flat, ordered list of
//     [Event] values (inbound messages, outbound message statuses, value-level
//     errors and every other notification field), each with a deduplication
//     key and a contact key that prefers the business-scoped user ID (BSUID)
//     over the phone-based wa_id.
//
// Parsing is deliberately tolerant: unknown message types, unknown fields,
// numbers where strings are expected (and the reverse) never fail a body; the
// exact JSON of every item is kept in [Event.Raw]. Only a body that is not JSON,
// not a whatsapp_business_account notification, or whose envelope
// (entry/changes) has the wrong shape is rejected.
//
// The Cloud API client (sending messages, media, templates) will live in this
// package as well.
package whatsapp
