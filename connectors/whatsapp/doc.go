// Package whatsapp is deskbridge's connector for the WhatsApp Business
// Platform (Meta's Cloud API).
//
// Inbound side:
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
// Outbound side: [Client] sends every message type (text, templates with
// positional or named parameters, media, interactive buttons and lists,
// reactions), marks messages read, uploads and downloads media, lists the
// business account's templates ([TemplateCache] keeps them and
// [CheckTemplate] checks a send against them before any request) and reads
// the number's limits. Every failure is a *connectors.Error whose kind comes
// from Meta's error code ([ClassifyCode]); [StatusError] maps the errors of
// failed-status webhooks the same way and [Hint] says what to do.
package whatsapp
