package bridge

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/ratelimit"
)

// throughputUpgraded is a number's rate after Meta's THROUGHPUT_UPGRADE.
const throughputUpgraded = 1000

// throughput is a number's current send rate (0: the governor's default).
func (e *Engine) throughput(n *Number) int {
	if v, ok := e.mps[n.PhoneNumberID]; ok {
		return int(v.Load())
	}
	return n.ThroughputMPS
}

// Throughput is the send rate kept for a number (0: the governor's
// default of 80 messages per second).
func (e *Engine) Throughput(phoneNumberID string) int {
	if n, ok := e.numbers[phoneNumberID]; ok {
		return e.throughput(n)
	}
	return 0
}

// SetThroughput sets the send rate of a number whose throughput_mps is not
// configured (a configured rate is kept), e.g. from the level the
// phone-number node reports.
func (e *Engine) SetThroughput(phoneNumberID string, mps int) {
	if n, ok := e.numbers[phoneNumberID]; ok && n.ThroughputMPS == 0 {
		e.mps[phoneNumberID].Store(int64(max(mps, 0)))
	}
}

// MessagingLimit is the messaging limit kept (0: none).
func (e *Engine) MessagingLimit() int { return int(e.tierLimit.Load()) }

// applyLimits follows Meta's webhooks about limits: a THROUGHPUT_UPGRADE
// of a number (phone_number_quality_update) raises its throughput, unless
// configured; a new messaging limit (its current_limit, or a
// business_capability_update) replaces the kept one, unless configured.
func (e *Engine) applyLimits(ctx context.Context, w *whatsapp.Event) {
	var v struct {
		Display  string          `json:"display_phone_number"`
		Event    string          `json:"event"`
		Current  json.RawMessage `json:"current_limit"`
		Business json.RawMessage `json:"max_daily_conversations_per_business"`
		PerPhone json.RawMessage `json:"max_daily_conversation_per_phone"`
	}
	if err := json.Unmarshal(w.Raw, &v); err != nil {
		e.log.WarnContext(ctx, "limits webhook not readable", "field", w.Field)
		return
	}
	if strings.EqualFold(v.Event, "THROUGHPUT_UPGRADE") {
		for _, n := range e.numbers {
			if n.ThroughputMPS == 0 && n.Display != "" && digits(n.Display) == digits(v.Display) {
				e.mps[n.PhoneNumberID].Store(throughputUpgraded)
				e.log.InfoContext(ctx, "number's throughput upgraded", "phone_number_id", n.PhoneNumberID, "mps", throughputUpgraded)
			}
		}
	}
	if e.opt.MessagingLimitFixed {
		return
	}
	for _, raw := range []json.RawMessage{v.Business, v.Current, v.PerPhone} {
		if limit, ok := tierValue(raw); ok {
			e.SetMessagingLimit(limit)
			e.log.InfoContext(ctx, "messaging limit changed", "field", w.Field, "limit", limit)
			return
		}
	}
}

// tierValue reads a messaging limit given as a tier ("TIER_2K",
// "TIER_UNLIMITED") or a number (-1: unlimited); 0 means unlimited.
func tierValue(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.Contains(strings.ToUpper(s), "UNLIMITED") {
			return 0, true
		}
		if n := ratelimit.TierLimit(s); n > 0 {
			return n, true
		}
		if n, err := strconv.Atoi(s); err == nil {
			return max(n, 0), true
		}
		return 0, false
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return max(n, 0), true
	}
	return 0, false
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
