// Package mapping holds the pure decisions of the bridge between WhatsApp
// and a helpdesk: who a customer is, which ticket a message goes to, and how
// a WhatsApp message reads inside a ticket.
//
//   - identity.go: phone normalization to E.164, the equivalent forms of a
//     number (Brazil with and without the 9th digit, Mexico +52 and +521),
//     the contact key, the deterministic helpdesk external id and the
//     [Aliases] of one contact, updated by identity-change system messages.
//   - threading.go: [DecideThread], the threading policy (append, reopen,
//     new ticket or follow-up ticket).
//   - content.go: [RenderMessage], the text and media reference a message
//     becomes in the helpdesk, for every inbound message type.
//
// The package does no I/O: no network, no store, no clock (callers pass the
// time). It depends only on the message model of connectors/whatsapp and the
// ticket types of connectors.
package mapping
