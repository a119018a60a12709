package zendesk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/deskbridge/deskbridge/connectors"
)

// Client is a Zendesk Support account: the connectors.Helpdesk of one
// helpdesk, plus connectors.CommentFetcher, connectors.WebhookInstaller and
// connectors.WriteFinder. It is safe for concurrent use.
//
// Every failure is a *connectors.Error whose Kind comes from the HTTP
// status (see Classify) and whose Code is Zendesk's error name
// ("RecordInvalid", "InvalidEndpoint", …); invalid input is refused before
// any request with a Permanent error naming the field.
type Client struct {
	cfg   Config
	base  *url.URL
	log   *slog.Logger
	api   *connectors.Client // JSON API calls, rate limited
	media *connectors.Client // uploads: long timeout, waits on api's limiter
	files *connectors.Client // attachment downloads: no credentials added

	budget  *budget       // adapts api's limiter to the rate-limit headers
	tickets *ticketWindow // 30 updates per ticket per 10 minutes
	closed  *closedSet    // tickets known to be closed
	uploads *uploadCache  // upload tokens per idempotency key

	meMu sync.Mutex
	me   string // the API identity's user id, once read
}

// authorization returns the Authorization header value of the configured
// credentials, resolved now.
func (c *Client) authorization(ctx context.Context) (string, error) {
	if c.cfg.OAuthToken != nil {
		tok, err := c.cfg.OAuthToken(ctx)
		if err != nil {
			return "", fmt.Errorf("zendesk: oauth token: %w", err)
		}
		if tok == "" {
			return "", errors.New("zendesk: oauth token is empty")
		}
		return "Bearer " + tok, nil
	}
	tok, err := c.cfg.APIToken(ctx)
	if err != nil {
		return "", fmt.Errorf("zendesk: api token: %w", err)
	}
	if tok == "" {
		return "", errors.New("zendesk: api token is empty")
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.cfg.Email+"/token:"+tok)), nil
}

// auth adds the credentials to a cloned request (see connectors.AuthFunc).
func (c *Client) auth(ctx context.Context, req *http.Request) error {
	h, err := c.authorization(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", h)
	return nil
}

// classify is the stack's ClassifyFunc: it feeds the rate-limit headers of
// the error answer to the budget, then classifies (Classify).
func (c *Client) classify(status int, header http.Header, body []byte) *connectors.Error {
	c.budget.observe(header)
	return Classify(status, header, body)
}

// call performs one JSON request on the API client and decodes a 2xx body
// into out (when out is not nil).
func (c *Client) call(ctx context.Context, op string, req *connectors.Request, in, out any) (*connectors.Response, error) {
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, invalid(op, "encode request: %v", err)
		}
		req.Body, req.ContentType = b, "application/json"
	}
	c.budget.restoreIfDue()
	resp, err := c.api.Do(ctx, op, req)
	if err != nil {
		return nil, err
	}
	c.budget.observe(resp.Header)
	return resp, decode(op, resp, out)
}

// get is call for a GET without a body.
func (c *Client) get(ctx context.Context, op, path string, query url.Values, out any) error {
	_, err := c.call(ctx, op, &connectors.Request{Method: http.MethodGet, Path: path, Query: query}, nil, out)
	return err
}

// decode unmarshals a 2xx JSON body into out. A body that is not what
// Zendesk documents is Retryable: the request itself was fine.
func decode(op string, resp *connectors.Response, out any) error {
	if out == nil || len(resp.Body) == 0 && resp.Status == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
			Message: "unexpected response body", Err: err}
	}
	return nil
}

// invalid is the error for input refused before any request: Permanent,
// with no vendor code, naming what is wrong.
func invalid(op, format string, args ...any) *connectors.Error {
	return &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op, Message: fmt.Sprintf(format, args...)}
}

// idRE accepts Zendesk numeric ids; they become path segments.
var idRE = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)

// parseID parses a numeric Zendesk id named what, for op.
func parseID(op, what, id string) (int64, error) {
	if !idRE.MatchString(id) {
		return 0, invalid(op, "%s %q must be a Zendesk id (digits)", what, id)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, invalid(op, "%s %q is out of range", what, id)
	}
	return n, nil
}

// optionalID parses an optional id: "" gives def.
func optionalID(op, what, id string, def int64) (int64, error) {
	if id == "" {
		return def, nil
	}
	return parseID(op, what, id)
}

// sameOrigin reports whether u is on the configured Zendesk host (scheme,
// host and port), the only place credentials may be sent.
func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// nextPage returns where the page after the current one is: an absolute
// URL (links.next, or next_page in offset mode), or an after cursor to set
// as page[after] on the same query; both empty when this was the last
// page. A next link to another host is refused, so credentials never leave
// the account.
func (c *Client) nextPage(op string, meta cursorMeta, links cursorLinks, nextPage *string) (next, after string, err error) {
	switch {
	case meta.HasMore && links.Next != "":
		next = links.Next
	case meta.HasMore && meta.AfterCursor != "":
		return "", meta.AfterCursor, nil
	case nextPage != nil && *nextPage != "":
		next = *nextPage
	default:
		return "", "", nil
	}
	u, perr := url.Parse(next)
	if perr != nil || !u.IsAbs() || !c.sameOrigin(u) {
		return "", "", &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op,
			Message: fmt.Sprintf("next page %q is not on %s", next, c.base.Host)}
	}
	return u.String(), "", nil
}

// maxPages bounds every listing (100 per page): a ticket has at most 5,000
// comments; a bridge's triggers and webhooks fit in a few pages.
const maxPages = 60
