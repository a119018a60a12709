package mapping

import (
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

// DefaultThreadWindow is the threading window used when
// ThreadInput.Window is zero or negative.
const DefaultThreadWindow = 24 * time.Hour

// ThreadAction is what to do with an inbound message, given the
// conversation's current ticket.
type ThreadAction string

// The outcomes of [DecideThread].
const (
	// Append adds the message to the current ticket.
	Append ThreadAction = "append"
	// AppendReopen adds the message to the current (solved) ticket and
	// reopens it.
	AppendReopen ThreadAction = "append_reopen"
	// CreateNew opens a new ticket, unrelated to any earlier one.
	CreateNew ThreadAction = "create_new"
	// CreateFollowUp opens a new ticket linked to the current (closed) one.
	CreateFollowUp ThreadAction = "create_follow_up"
)

// ThreadInput is what [DecideThread] needs to know about the conversation's
// current ticket.
type ThreadInput struct {
	// HasTicket says whether the conversation has a ticket at all; the other
	// ticket fields are ignored when it is false.
	HasTicket bool
	// Status is the ticket's normalized status.
	Status connectors.TicketStatus
	// LastActivity is the time of the ticket's last activity; zero means
	// unknown and counts as outside the window.
	LastActivity time.Time
	// Now is the current time, passed in so the decision stays pure.
	Now time.Time
	// Window is threading.window; zero or negative means [DefaultThreadWindow].
	Window time.Duration
	// ReopenSolved says whether a solved ticket inside the window is reopened
	// (true) or left alone for a new ticket (false).
	ReopenSolved bool
}

// ThreadDecision is the outcome of [DecideThread]; Reason is a short
// human-readable explanation for logs.
type ThreadDecision struct {
	Action ThreadAction
	Reason string
}

// DecideThread applies the threading policy:
//
//   - no ticket: CreateNew;
//   - last activity outside the window (elapsed >= Window, or unknown):
//     CreateNew, whatever the status; an old closed ticket is history, not
//     something to follow up on;
//   - closed inside the window: CreateFollowUp (a closed ticket is never
//     written to);
//   - solved inside the window: AppendReopen when ReopenSolved, else
//     CreateNew;
//   - new, open, pending or on hold inside the window: Append. An
//     unrecognized status is treated as open.
//
// The window is half-open: a message exactly Window after the last activity
// is outside it. A last activity in the future (clock skew) is inside.
func DecideThread(in ThreadInput) ThreadDecision {
	if !in.HasTicket {
		return ThreadDecision{CreateNew, "no ticket for this conversation"}
	}
	window := in.Window
	if window <= 0 {
		window = DefaultThreadWindow
	}
	if in.LastActivity.IsZero() {
		return ThreadDecision{CreateNew, "last activity unknown"}
	}
	if in.Now.Sub(in.LastActivity) >= window {
		return ThreadDecision{CreateNew, "last activity outside the threading window"}
	}
	switch in.Status {
	case connectors.TicketClosed:
		return ThreadDecision{CreateFollowUp, "ticket closed inside the threading window"}
	case connectors.TicketSolved:
		if in.ReopenSolved {
			return ThreadDecision{AppendReopen, "ticket solved inside the threading window"}
		}
		return ThreadDecision{CreateNew, "ticket solved and reopening is off"}
	case connectors.TicketNew, connectors.TicketOpen, connectors.TicketPending, connectors.TicketOnHold:
		return ThreadDecision{Append, "ticket " + string(in.Status) + " inside the threading window"}
	}
	return ThreadDecision{Append, "unrecognized ticket status " + string(in.Status) + " treated as open"}
}
