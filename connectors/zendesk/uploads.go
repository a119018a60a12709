package zendesk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

// uploadTokenTTL is how long an upload token is reused for a retried
// write: Zendesk keeps a token for 60 minutes; the margin covers the write
// itself.
const uploadTokenTTL = 45 * time.Minute

// checkAttachments refuses, before any request, files Zendesk would
// refuse: no name, empty, or larger than Config.MaxAttachmentBytes.
func (c *Client) checkAttachments(op string, files []connectors.Attachment) error {
	for i, f := range files {
		switch {
		case strings.TrimSpace(f.Filename) == "":
			return invalid(op, "attachment %d has no file name", i+1)
		case strings.ContainsAny(f.Filename, "/\\\x00\r\n"):
			return invalid(op, "attachment file name %q must not contain a path or control characters", f.Filename)
		case len(f.Data) == 0:
			return invalid(op, "attachment %q is empty", f.Filename)
		case int64(len(f.Data)) > c.cfg.MaxAttachmentBytes:
			return invalid(op, "attachment %q is %d bytes, more than Zendesk's limit of %d bytes",
				f.Filename, len(f.Data), c.cfg.MaxAttachmentBytes)
		}
	}
	return nil
}

// uploadAll uploads each file (POST /api/v2/uploads, one request per
// file) and returns their tokens in order, for comment.uploads.
//
// With an idempotency key, the tokens of the same files are reused for
// uploadTokenTTL: a retried write then sends the very same body, which
// Zendesk's ticket-creation idempotency requires, and no file is uploaded
// twice.
func (c *Client) uploadAll(ctx context.Context, key string, files []connectors.Attachment) ([]string, error) {
	if len(files) == 0 {
		return nil, nil
	}
	cacheKey := ""
	if key != "" {
		cacheKey = uploadsKey(key, files)
		if tokens, ok := c.uploads.get(cacheKey, c.cfg.Now()); ok {
			return tokens, nil
		}
	}
	tokens := make([]string, 0, len(files))
	for _, f := range files {
		tok, err := c.upload(ctx, f)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, tok)
	}
	if cacheKey != "" {
		c.uploads.put(cacheKey, tokens, c.cfg.Now().Add(uploadTokenTTL))
	}
	return tokens, nil
}

// upload sends one file with its real Content-Type and returns its token.
// An unused upload is harmless (Zendesk discards it after 60 minutes), so
// the request may be retried after a timeout.
func (c *Client) upload(ctx context.Context, f connectors.Attachment) (string, error) {
	const op = "upload"
	ct := f.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	// The media client has no limiter of its own: uploads count against
	// the account's budget.
	if err := c.api.Limiter().Wait(ctx); err != nil {
		return "", &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Err: err}
	}
	c.budget.restoreIfDue()
	resp, err := c.media.Do(ctx, op, &connectors.Request{
		Method: http.MethodPost, Path: "/api/v2/uploads.json", Query: url.Values{"filename": {f.Filename}},
		Body: f.Data, ContentType: ct, Idempotent: true,
	})
	if err != nil {
		return "", err
	}
	c.budget.observe(resp.Header)
	var out uploadResponse
	if err := decode(op, resp, &out); err != nil {
		return "", err
	}
	if out.Upload.Token == "" {
		return "", &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
			Message: "upload answer carries no token"}
	}
	return out.Upload.Token, nil
}

// uploadsKey identifies a set of files written under one idempotency key.
func uploadsKey(key string, files []connectors.Attachment) string {
	h := sha256.New()
	h.Write([]byte(key))
	for _, f := range files {
		h.Write([]byte{0})
		h.Write([]byte(f.Filename + "\x00" + f.ContentType + "\x00" + strconv.Itoa(len(f.Data)) + "\x00"))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// uploadCache keeps upload tokens per idempotency key and files.
type uploadCache struct {
	mu      sync.Mutex
	entries map[string]uploadEntry
}

type uploadEntry struct {
	tokens  []string
	expires time.Time
}

func (u *uploadCache) get(key string, now time.Time) ([]string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e, ok := u.entries[key]
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.tokens, true
}

func (u *uploadCache) put(key string, tokens []string, expires time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := expires.Add(-uploadTokenTTL)
	for k, e := range u.entries {
		if !now.Before(e.expires) {
			delete(u.entries, k)
		}
	}
	u.entries[key] = uploadEntry{tokens: tokens, expires: expires}
}

// DownloadAttachment downloads an attachment's content (RemoteAttachment.URL
// from Comment). Comment content URLs may point to hosts other than the
// account (externally hosted files, CDN redirects): credentials are sent
// only when the URL is on the configured Zendesk host, and the HTTP client
// drops them on a redirect to another host. The content is bounded by
// Config.MaxAttachmentBytes.
func (c *Client) DownloadAttachment(ctx context.Context, a connectors.RemoteAttachment) ([]byte, error) {
	const op = "download_attachment"
	u, err := url.Parse(a.URL)
	if err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, invalid(op, "attachment URL %q must be an absolute http(s) URL", a.URL)
	}
	req := &connectors.Request{Method: http.MethodGet, Path: u.String(), Header: http.Header{"Accept": {"*/*"}}}
	if c.sameOrigin(u) {
		h, err := c.authorization(ctx)
		if err != nil {
			return nil, &connectors.Error{Kind: connectors.Auth, Vendor: vendor, Op: op, Err: err}
		}
		req.Header.Set("Authorization", h)
	}
	resp, err := c.files.Do(ctx, op, req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
