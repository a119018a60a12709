package bridge_test

import (
	"context"
	"testing"

	"github.com/deskbridge/deskbridge/bridge"
)

func TestLimitWebhooks(t *testing.T) {
	t.Parallel()
	upgrade := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1748454394,"changes":[{"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"THROUGHPUT_UPGRADE","current_limit":"TIER_UNLIMITED"}}]}]}`
	capability := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1748454394,"changes":[{"field":"business_capability_update","value":{"max_daily_conversation_per_phone":2000,"max_daily_conversations_per_business":"TIER_10K"}}]}]}`
	for _, tc := range []struct {
		name      string
		fixed     bool
		body      string
		mps, tier int
	}{
		{"throughput upgrade", false, upgrade, 1000, 0},
		{"new tier", false, capability, 0, 10000},
		{"configured tier kept", true, capability, 0, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eng := bridge.NewEngine(bridge.Options{Store: nil, MessagingLimit: 250, MessagingLimitFixed: tc.fixed,
				Numbers: []bridge.Number{{PhoneNumberID: "106540352242922", Display: "+1 555-078-3881"}}})
			if err := eng.Handle(context.Background(), storedEvent(t, tc.body)); err != nil {
				t.Fatal(err)
			}
			if got := eng.Throughput("106540352242922"); got != tc.mps {
				t.Errorf("throughput = %d, want %d", got, tc.mps)
			}
			if got := eng.MessagingLimit(); got != tc.tier {
				t.Errorf("messaging limit = %d, want %d", got, tc.tier)
			}
		})
	}
}

func TestSetThroughputKeepsConfiguredRates(t *testing.T) {
	t.Parallel()
	eng := bridge.NewEngine(bridge.Options{Numbers: []bridge.Number{{PhoneNumberID: "1"}, {PhoneNumberID: "2", ThroughputMPS: 20}}})
	eng.SetThroughput("1", 1000)
	eng.SetThroughput("2", 1000)
	eng.SetThroughput("3", 1000) // not served: ignored
	if eng.Throughput("1") != 1000 || eng.Throughput("2") != 20 {
		t.Errorf("throughputs = %d, %d; want 1000 (read) and 20 (configured)", eng.Throughput("1"), eng.Throughput("2"))
	}
}
