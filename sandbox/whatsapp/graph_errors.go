package whatsapp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// apiError is an error answer of the fake Graph API. It is written as Meta's
// body: {"error":{"message","type","code","error_data"?,"error_subcode"?,"fbtrace_id"}}.
type apiError struct {
	status  int    // HTTP status
	message string // error.message
	typ     string // error.type
	code    int    // error.code
	subcode int    // error.error_subcode; 0 = absent
	details string // error.error_data.details; "" = no error_data (Graph-level errors)
	authHdr string // WWW-Authenticate value for 401 answers
}

// Error returns the message and details.
func (e *apiError) Error() string {
	if e.details != "" {
		return e.message + ": " + e.details
	}
	return e.message
}

// errorTitles are the titles Meta puts after "(#code) " in error.message and
// in the title of webhook errors (reference §9).
var errorTitles = map[int]string{
	100:    "Invalid parameter",
	130429: "Rate limit hit",
	130472: "User's number is part of an experiment",
	130497: "Business account is restricted from messaging users in this country",
	131000: "Something went wrong",
	131008: "Required parameter is missing",
	131009: "Parameter value is not valid",
	131016: "Service unavailable",
	131021: "Recipient cannot be sender",
	131026: "Message undeliverable",
	131031: "Business Account locked",
	131042: "Business eligibility payment issue",
	131047: "Re-engagement message",
	131048: "Spam rate limit hit",
	131049: "This message was not delivered to maintain healthy ecosystem engagement.",
	131050: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
	131051: "Unsupported message type",
	131052: "Media download error",
	131053: "Media upload error",
	131056: "(Business Account, Consumer Account) pair rate limit hit",
	131057: "Business Account is in maintenance mode",
	131062: "BSUID recipients are not supported for this message",
	132000: "Number of parameters does not match the expected number of params",
	132001: "Template name does not exist in the translation",
	132012: "Parameter format does not match format in the created template",
	132015: "Template is Paused",
	132016: "Template is Disabled",
}

// errorDetails are default error_data.details texts, used for failed status
// webhooks when nothing more specific is known.
var errorDetails = map[int]string{
	130429: "Cloud API message throughput has been reached.",
	131026: "Message Undeliverable.",
	131047: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
	131049: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
	131050: "The recipient has stopped marketing messages from this business.",
	131051: "Message type is currently not supported.",
	131056: "Too many messages sent from this phone number to the same phone number in a short period of time.",
}

// errorTitle returns Meta's title for code, or a generic one.
func errorTitle(code int) string {
	if t, ok := errorTitles[code]; ok {
		return t
	}
	return "Message failed to send"
}

// waError is a WhatsApp error (HTTP 400, OAuthException, error_data.details)
// as the Cloud API answers a rejected send.
func waError(code int, format string, args ...any) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		message: fmt.Sprintf("(#%d) %s", code, errorTitle(code)),
		typ:     "OAuthException",
		code:    code,
		details: fmt.Sprintf(format, args...),
	}
}

// errInvalid is code 100: a parameter of the wrong JSON type, an unknown enum
// value or a request that is not what the endpoint takes.
func errInvalid(format string, args ...any) *apiError { return waError(100, format, args...) }

// errMissing is code 131008: a required parameter is absent or empty.
func errMissing(format string, args ...any) *apiError { return waError(131008, format, args...) }

// errValue is code 131009: a parameter is present but its value breaks a rule
// (length, count, format, unknown reference).
func errValue(format string, args ...any) *apiError { return waError(131009, format, args...) }

// errMissingToken is Meta's answer when no access token is sent
// (get_phone_number_id__resp401__missing_token.json).
func errMissingToken() *apiError {
	return &apiError{
		status:  http.StatusUnauthorized,
		message: "An access token is required to request this resource",
		typ:     "OAuthException",
		code:    104,
		authHdr: `OAuth "Facebook Platform" "invalid_request" "An access token is required to request this resource"`,
	}
}

// errBadToken is Meta's answer to a token it does not accept
// (get_phone_number_id__resp401__invalid_token.json).
func errBadToken() *apiError {
	return &apiError{
		status:  http.StatusUnauthorized,
		message: "Invalid OAuth access token",
		typ:     "OAuthException",
		code:    190,
		subcode: 463,
		authHdr: `OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"`,
	}
}

// errVersion is Meta's answer for a version path segment it does not serve
// (get_phone_number_id__resp400__invalid_version.json).
func errVersion() *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		message: "Invalid version format. Use format like 'v23.0'",
		typ:     "OAuthException",
		code:    100,
	}
}

// errNoObject is the Graph API's answer for an id that names no object the
// token can see (phone number, WABA or media id), or a method the object does
// not support: HTTP 400, GraphMethodException, code 100, subcode 33.
func errNoObject(method, id string) *apiError {
	return &apiError{
		status: http.StatusBadRequest,
		message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, "+
			"cannot be loaded due to missing permissions, or does not support this operation. "+
			"Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
			method, id),
		typ:     "GraphMethodException",
		code:    100,
		subcode: 33,
	}
}

// errUnknownPath is the Graph API's answer for an edge it does not know.
func errUnknownPath(rest string) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		message: "Unknown path components: /" + rest,
		typ:     "OAuthException",
		code:    2500,
	}
}

// errUnknownField is the Graph API's answer for ?fields= naming a field the
// node does not have.
func errUnknownField(field, node string) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		message: fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", field, node),
		typ:     "OAuthException",
		code:    100,
	}
}

// errorBody is the JSON shape of a Graph API error answer.
type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Message   string     `json:"message"`
	Type      string     `json:"type"`
	Code      int        `json:"code"`
	ErrorData *errorData `json:"error_data,omitempty"`
	Subcode   int        `json:"error_subcode,omitempty"`
	FBTraceID string     `json:"fbtrace_id"`
}

type errorData struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
}

// writeError writes e as Meta's error body.
func writeError(w http.ResponseWriter, e *apiError) {
	body := errorBody{Error: errorFields{
		Message:   e.message,
		Type:      e.typ,
		Code:      e.code,
		Subcode:   e.subcode,
		FBTraceID: fbTraceID(),
	}}
	if e.details != "" {
		body.Error.ErrorData = &errorData{MessagingProduct: "whatsapp", Details: e.details}
	}
	if e.authHdr != "" {
		w.Header().Set("WWW-Authenticate", e.authHdr)
	}
	writeJSON(w, e.status, body)
}

// writeJSON writes v as a JSON answer with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

const traceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// fbTraceID returns a random id shaped like Meta's fbtrace_id.
func fbTraceID() string {
	b := make([]byte, 23)
	for i := range b {
		b[i] = traceAlphabet[rand.IntN(len(traceAlphabet))]
	}
	return string(b)
}
