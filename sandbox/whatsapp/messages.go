package whatsapp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ServiceWindow is the customer service window: non-template messages are
// allowed this long after the customer's last message.
const ServiceWindow = 24 * time.Hour

// maxSendBody bounds a send request body.
const maxSendBody = 1 << 20

// OutboundMessage is a message the business sent through the fake.
type OutboundMessage struct {
	ID                    string          `json:"id"` // wamid
	PhoneNumberID         string          `json:"phone_number_id"`
	To                    string          `json:"to"`                  // normalised E.164, or the BSUID when no phone is known
	Recipient             string          `json:"recipient,omitempty"` // BSUID, when sent with "recipient"
	Type                  string          `json:"type"`
	Request               json.RawMessage `json:"request"` // the request body as sent
	BizOpaqueCallbackData string          `json:"biz_opaque_callback_data,omitempty"`
	Time                  time.Time       `json:"time"`
	Status                string          `json:"status"` // accepted, sent, delivered, read, failed
	ErrorCode             int             `json:"error_code,omitempty"`
}

// ReadMark is a mark-as-read call, with its optional typing indicator.
type ReadMark struct {
	PhoneNumberID   string    `json:"phone_number_id"`
	MessageID       string    `json:"message_id"`
	From            string    `json:"from"`                       // the customer whose message was marked
	TypingIndicator string    `json:"typing_indicator,omitempty"` // "text" when one was shown
	Time            time.Time `json:"time"`
}

// outboundRecord is the stored form of an OutboundMessage.
type outboundRecord struct {
	OutboundMessage
	phoneDigits string // recipient_id for status webhooks
	template    *Template
	inWindow    bool
}

// inboundRecord is a customer message the fake generated.
type inboundRecord struct {
	phoneNumberID string
	customer      string // E.164 or BSUID
	time          time.Time
}

// sendRequest is the common part of a POST /messages body.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Recipient        string `json:"recipient"`
	Type             string `json:"type"`
	Status           string `json:"status"`
	MessageID        string `json:"message_id"`
	TypingIndicator  *struct {
		Type string `json:"type"`
	} `json:"typing_indicator"`
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data"`
}

var messageTypes = []string{"text", "image", "video", "audio", "document", "sticker",
	"template", "interactive", "reaction", "location", "contacts"}

// bsuidRe matches a business-scoped user id: country code, dot, alphanumerics
// (a parent BSUID has a further ".ENT." part).
var bsuidRe = regexp.MustCompile(`^[A-Z]{2}(\.[A-Z]{3})?\.[A-Za-z0-9]{1,128}$`)

// handleMessages answers POST /{version}/{phone-number-id}/messages.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request, pnID string) {
	s.mu.Lock()
	n, ok := s.numbers[pnID]
	s.mu.Unlock()
	if !ok {
		writeError(w, errNoObject("post", pnID))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSendBody))
	if err != nil {
		writeError(w, errInvalid("request body could not be read: %v", err))
		return
	}
	out, e := s.send(n, body)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// send validates and accepts one send or mark-as-read request.
func (s *Server) send(n *numberState, body []byte) (any, *apiError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, errInvalid("request body must be a JSON object")
	}
	var req sendRequest
	if e := decodeParam("", body, &req); e != nil {
		return nil, e
	}
	switch {
	case req.MessagingProduct == "":
		return nil, errMissing("messaging_product is required")
	case req.MessagingProduct != "whatsapp":
		return nil, errInvalid("messaging_product must be \"whatsapp\", got %q", req.MessagingProduct)
	}
	if _, ok := fields["status"]; ok {
		return s.markRead(n, &req)
	}
	if req.Type == "" {
		req.Type = "text" // Meta's default when type is omitted
	}
	if !slices.Contains(messageTypes, req.Type) {
		return nil, errInvalid("type: unsupported message type %q", req.Type)
	}
	switch req.RecipientType {
	case "", "individual":
	case "group":
		return nil, errValue("recipient_type: group messages are not supported by the sandbox")
	default:
		return nil, errInvalid("recipient_type must be \"individual\" or \"group\", got %q", req.RecipientType)
	}
	if len(req.BizOpaqueCallbackData) > 512 {
		return nil, errValue("biz_opaque_callback_data is longer than 512 characters")
	}

	rec := &outboundRecord{OutboundMessage: OutboundMessage{
		PhoneNumberID: n.PhoneNumberID, Type: req.Type, Request: json.RawMessage(bytes.Clone(body)),
		BizOpaqueCallbackData: req.BizOpaqueCallbackData, Status: "accepted",
	}}
	contact := map[string]string{}
	switch {
	case req.To != "":
		e164, ok := normalizeTo(req.To, n.cc)
		if !ok {
			return nil, errValue("to: %q is not a valid phone number", req.To)
		}
		rec.To, rec.phoneDigits = e164, e164[1:]
		contact["input"], contact["wa_id"] = req.To, rec.phoneDigits
	case req.Recipient != "":
		if req.Type == "template" {
			return nil, waError(131062, "recipient: template messages must be sent to a phone number (to)")
		}
		if !bsuidRe.MatchString(req.Recipient) {
			return nil, errValue("recipient: %q is not a valid business-scoped user ID", req.Recipient)
		}
		rec.Recipient = req.Recipient
		contact["input"], contact["user_id"] = req.Recipient, req.Recipient
	default:
		return nil, errMissing("to is required")
	}

	raw, ok := fields[req.Type]
	if !ok || string(raw) == "null" {
		return nil, errMissing("%s: the %s object is required for type %s", req.Type, req.Type, req.Type)
	}
	if req.Type == "template" {
		t, e := s.checkTemplate(n, raw)
		if e != nil {
			return nil, e
		}
		rec.template = t
	} else if e := s.checkPayload(n, req.Type, raw); e != nil {
		return nil, e
	}
	if e := s.accept(n, rec); e != nil {
		return nil, e
	}
	if rec.phoneDigits != "" {
		contact["wa_id"] = rec.phoneDigits
	}
	msg := map[string]string{"id": rec.ID}
	if rec.template != nil {
		msg["message_status"] = "accepted"
	}
	return map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{contact},
		"messages":          []map[string]string{msg},
	}, nil
}

// accept applies the service window and rate limits, records the message
// and starts its status webhooks.
func (s *Server) accept(n *numberState, rec *outboundRecord) *apiError {
	wo := s.em.options()
	now := s.clock.Now()
	s.mu.Lock()
	if rec.Recipient != "" && rec.To == "" {
		if e164, ok := s.bsuids[rec.Recipient]; ok {
			rec.To, rec.phoneDigits = e164, e164[1:]
		} else {
			rec.To = rec.Recipient
		}
	}
	last, seen := s.windows[windowKey(n.PhoneNumberID, rec.To)]
	if rec.Recipient != "" {
		if t, ok := s.windows[windowKey(n.PhoneNumberID, rec.Recipient)]; ok && t.After(last) {
			last, seen = t, true
		}
	}
	rec.inWindow = seen && now.Sub(last) <= ServiceWindow
	failCode := 0
	if rec.template == nil && !rec.inWindow {
		if !wo.WindowFailureAsync {
			s.mu.Unlock()
			return waError(131047, "%s", errorDetails[131047])
		}
		failCode = 131047
	}
	pairs := n.pairs[rec.To]
	if !n.bucket.allow(now, n.ThroughputMPS) {
		s.mu.Unlock()
		return waError(130429, "%s", errorDetails[130429])
	}
	if !pairs.allow(now, n.pairLimit, n.pairWindow) {
		s.mu.Unlock()
		return waError(131056, "%s", errorDetails[131056])
	}
	n.bucket.take(now, n.ThroughputMPS)
	n.pairs[rec.To] = pairs.add(now, n.pairWindow)
	rec.ID = s.newWAMID()
	rec.Time = now
	s.outbound = append(s.outbound, rec)
	s.mu.Unlock()

	if failCode == 0 {
		failCode = s.em.takeFailNext()
	}
	s.emitStatuses(n, rec, failCode)
	return nil
}

// emitStatuses queues the status webhooks of an accepted message:
// sent → delivered → read, or sent → failed with failCode (just failed for
// a window failure).
func (s *Server) emitStatuses(n *numberState, rec *outboundRecord, failCode int) {
	wo := s.em.options()
	steps := []string{"sent", "delivered", "read"}
	switch {
	case failCode == 131047:
		steps = []string{"failed"}
	case failCode != 0:
		steps = []string{"sent", "failed"}
	}
	if !wo.StatusesEnabled {
		if failCode != 0 {
			s.setStatus(rec, "failed", failCode)
		}
		return
	}
	emit := func(status string) {
		body, err := marshalMeta(s.statusEnvelope(n, rec, status, failCode))
		if err != nil {
			s.log.Error("status webhook not built", "error", err)
			return
		}
		s.em.enqueue("status", body)
	}
	if wo.StatusDelay <= 0 {
		for _, st := range steps {
			emit(st)
		}
		return
	}
	var step func(i int)
	step = func(i int) {
		s.em.schedule(wo.StatusDelay, func() {
			emit(steps[i])
			if i+1 < len(steps) {
				step(i + 1)
			}
		})
	}
	step(0)
}

// setStatus records status on rec.
func (s *Server) setStatus(rec *outboundRecord, status string, failCode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Status = status
	if status == "failed" {
		rec.ErrorCode = failCode
	}
}

// statusEnvelope builds one status webhook for rec and records the status.
func (s *Server) statusEnvelope(n *numberState, rec *outboundRecord, status string, failCode int) envelope {
	s.setStatus(rec, status, failCode)
	now := s.clock.Now()
	st := statusOut{
		ID: rec.ID, Status: status, Timestamp: unixString(now.Unix()),
		RecipientID: rec.phoneDigits, RecipientUserID: rec.Recipient,
		BizOpaqueCallbackData: rec.BizOpaqueCallbackData,
	}
	category, typ, billable := "service", "free_customer_service", false
	if rec.template != nil {
		category = strings.ToLower(rec.template.Category)
		if !(rec.inWindow && category == "utility") {
			typ, billable = "regular", true
		}
	}
	if status == "sent" || status == "delivered" {
		st.Pricing = &pricing{Billable: billable, PricingModel: "PMP", Type: typ, Category: category}
	}
	if status != "failed" && apiMajor(s.opts.APIVersion) < 24 {
		sum := sha256.Sum256([]byte(rec.ID))
		c := &conversation{ID: hex.EncodeToString(sum[:16])}
		c.Origin.Type = category
		if status == "sent" {
			c.ExpirationTimestamp = unixString(rec.Time.Add(ServiceWindow).Unix())
		}
		st.Conversation = c
	}
	if status == "failed" {
		st.Errors = []webhookError{newWebhookError(failCode, "")}
	}
	return messagesEnvelope(n, messagesValue{Statuses: []statusOut{st}})
}

// markRead answers a mark-as-read (+ typing indicator) request.
func (s *Server) markRead(n *numberState, req *sendRequest) (any, *apiError) {
	if req.Status != "read" {
		return nil, errInvalid("status must be \"read\", got %q", req.Status)
	}
	if req.MessageID == "" {
		return nil, errMissing("message_id is required")
	}
	typing := ""
	if req.TypingIndicator != nil {
		if req.TypingIndicator.Type != "text" {
			return nil, errValue("typing_indicator.type must be \"text\"")
		}
		typing = "text"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.inbound[req.MessageID]
	if !ok || in.phoneNumberID != n.PhoneNumberID {
		return nil, errInvalid("message_id: %q is not a message received by this phone number", req.MessageID)
	}
	s.reads = append(s.reads, ReadMark{
		PhoneNumberID: n.PhoneNumberID, MessageID: req.MessageID, From: in.customer,
		TypingIndicator: typing, Time: s.clock.Now(),
	})
	return map[string]bool{"success": true}, nil
}

// normalizeTo turns a `to` into E.164 the way Meta does: "+" and formatting
// (spaces, dashes, parentheses, dots) are allowed; without "+", the business
// number's country code is prepended unless the digits already start with it.
func normalizeTo(to, cc string) (string, bool) {
	t := strings.TrimSpace(to)
	plus := strings.HasPrefix(t, "+")
	for _, c := range strings.TrimPrefix(t, "+") {
		if !strings.ContainsRune("0123456789 -().", c) {
			return "", false
		}
	}
	d := digitsOf(t)
	if !plus && !strings.HasPrefix(d, cc) {
		d = cc + d
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", false
	}
	return "+" + d, true
}

// windowKey keys the service window of one customer of one number.
func windowKey(phoneNumberID, customer string) string { return phoneNumberID + "|" + customer }

// decodeParam decodes raw into v, turning a JSON type error into code 100
// naming the field (prefixed by field).
func decodeParam(field string, raw []byte, v any) *apiError {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		name := te.Field
		if field != "" {
			name = strings.TrimSuffix(field+"."+te.Field, ".")
		}
		if name == "" {
			name = "body"
		}
		return errInvalid("%s: expected %s, got JSON %s", name, te.Type.String(), te.Value)
	}
	return errInvalid("%s: %v", cmpOr(field, "body"), err)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Outbound returns the messages the business sent to to (E.164 with or
// without "+", or a BSUID), oldest first; all messages when to is "".
func (s *Server) Outbound(to string) []OutboundMessage {
	return s.outboundFor("", to)
}

func (s *Server) outboundFor(phoneNumberID, to string) []OutboundMessage {
	want := customerKey(to)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []OutboundMessage
	for _, r := range s.outbound {
		if phoneNumberID != "" && r.PhoneNumberID != phoneNumberID {
			continue
		}
		if want != "" && r.To != want && r.Recipient != want {
			continue
		}
		m := r.OutboundMessage
		m.Request = bytes.Clone(r.Request)
		out = append(out, m)
	}
	return out
}

// ReadMarks returns the mark-as-read calls for messages of from (all when "").
func (s *Server) ReadMarks(from string) []ReadMark {
	return s.readMarksFor("", from)
}

func (s *Server) readMarksFor(phoneNumberID, from string) []ReadMark {
	want := customerKey(from)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ReadMark
	for _, m := range s.reads {
		if (phoneNumberID == "" || m.PhoneNumberID == phoneNumberID) && (want == "" || m.From == want) {
			out = append(out, m)
		}
	}
	return out
}

// customerKey normalises a customer given as E.164 (with or without "+") or
// a BSUID.
func customerKey(c string) string {
	c = strings.TrimSpace(c)
	if c == "" || bsuidRe.MatchString(c) {
		return c
	}
	return "+" + digitsOf(c)
}
