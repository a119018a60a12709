package whatsapp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// PhoneInfo describes the business phone number.
type PhoneInfo struct {
	ID                 string
	DisplayPhoneNumber string // e.g. "+1 555-555-5555"
	VerifiedName       string
	QualityRating      string // GREEN, YELLOW, RED, NA
	// MessagingLimit is the portfolio's messaging limit tier
	// (whatsapp_business_manager_messaging_limit), e.g. "TIER_2K".
	MessagingLimit string
	// Throughput is throughput.level, e.g. "STANDARD" or "HIGH"; the rate
	// governor derives messages per second from it.
	Throughput string
}

// phoneFields are the fields PhoneNumberInfo asks for.
const phoneFields = "id,display_phone_number,verified_name,quality_rating,whatsapp_business_manager_messaging_limit,throughput"

// PhoneNumberInfo reads the number's details: name, quality rating,
// messaging limit tier and throughput level.
func (c *Client) PhoneNumberInfo(ctx context.Context) (*PhoneInfo, error) {
	var out struct {
		ID                 flexString      `json:"id"`
		DisplayPhoneNumber flexString      `json:"display_phone_number"`
		VerifiedName       flexString      `json:"verified_name"`
		QualityRating      flexString      `json:"quality_rating"`
		MessagingLimit     json.RawMessage `json:"whatsapp_business_manager_messaging_limit"`
		Throughput         struct {
			Level flexString `json:"level"`
		} `json:"throughput"`
	}
	q := url.Values{"fields": {phoneFields}}
	if err := c.call(ctx, "get_phone_number", http.MethodGet, "/"+c.cfg.PhoneNumberID, q, nil, &out); err != nil {
		return nil, err
	}
	return &PhoneInfo{ID: string(out.ID), DisplayPhoneNumber: string(out.DisplayPhoneNumber),
		VerifiedName: string(out.VerifiedName), QualityRating: string(out.QualityRating),
		MessagingLimit: messagingLimit(out.MessagingLimit), Throughput: string(out.Throughput.Level)}, nil
}

// messagingLimit reads the tier, documented as a string ("TIER_2K");
// any other JSON gives "".
func messagingLimit(raw json.RawMessage) string { return strings.TrimSpace(jsonScalarString(raw)) }
