package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
)

// maxDownloadBytes bounds a media download: documents may be 100 MB.
const maxDownloadBytes = 101 << 20

// Size limits of uploaded media by MIME type (reference §5). Stickers are
// allowed up to the animated limit (500 KB); Meta refuses a static sticker
// over 100 KB with 131053.
const (
	mb = 1 << 20
	kb = 1 << 10
)

var mediaLimits = map[string]int64{
	"audio/aac": 16 * mb, "audio/amr": 16 * mb, "audio/mpeg": 16 * mb, "audio/mp4": 16 * mb, "audio/ogg": 16 * mb,
	"text/plain": 100 * mb, "application/pdf": 100 * mb, "application/msword": 100 * mb,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * mb,
	"application/vnd.ms-excel": 100 * mb,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         100 * mb,
	"application/vnd.ms-powerpoint":                                             100 * mb,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * mb,
	"image/jpeg": 5 * mb, "image/png": 5 * mb,
	"image/webp": 500 * kb,
	"video/mp4":  16 * mb, "video/3gpp": 16 * mb,
}

// MediaLimit returns the largest file Meta accepts for a MIME type
// (parameters such as "; codecs=opus" are ignored) and whether the type is
// supported at all.
func MediaLimit(mimeType string) (int64, bool) {
	base, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return 0, false
	}
	n, ok := mediaLimits[base]
	return n, ok
}

// Upload stores a file at Meta for this number and returns its media id,
// usable in messages for 30 days. The MIME type must be one Meta supports
// and the size within its limit for that type; otherwise a Permanent error
// is returned without a request.
func (c *Client) Upload(ctx context.Context, filename, mimeType string, data []byte) (string, error) {
	const op = "upload_media"
	limit, ok := MediaLimit(mimeType)
	switch {
	case !ok:
		return "", invalid(op, "type: %q is not a media type WhatsApp accepts", mimeType)
	case len(data) == 0:
		return "", invalid(op, "file: is empty")
	case int64(len(data)) > limit:
		return "", invalid(op, "file: %d bytes; WhatsApp accepts %s up to %d bytes", len(data), mimeType, limit)
	}
	if filename == "" || strings.ContainsAny(filename, "/\\\r\n") {
		return "", invalid(op, "filename: %q must be a plain file name", filename)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", mimeType)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": filename}))
	h.Set("Content-Type", mimeType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", invalid(op, "build form: %v", err)
	}
	_, _ = part.Write(data)
	if err := w.Close(); err != nil {
		return "", invalid(op, "build form: %v", err)
	}
	resp, err := c.media.Do(ctx, op, &connectors.Request{Method: http.MethodPost,
		Path: "/" + c.cfg.PhoneNumberID + "/media", Body: buf.Bytes(), ContentType: w.FormDataContentType()})
	if err != nil {
		return "", err
	}
	var out struct {
		ID flexString `json:"id"`
	}
	if err := decode(op, resp, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
			Message: "Meta's answer carries no media id"}
	}
	return string(out.ID), nil
}

// MediaInfo describes a media object: a download URL valid for 5 minutes
// and the file's type, hash and size.
type MediaInfo struct {
	ID       string
	URL      string
	MimeType string
	SHA256   string
	FileSize int64
}

// MediaURL resolves a media id (from an upload or an inbound message) to
// its short-lived download URL.
func (c *Client) MediaURL(ctx context.Context, mediaID string) (*MediaInfo, error) {
	const op = "get_media"
	if !idRE.MatchString(mediaID) {
		return nil, invalid(op, "media id %q is not valid", mediaID)
	}
	var out struct {
		ID       flexString `json:"id"`
		URL      flexString `json:"url"`
		MimeType flexString `json:"mime_type"`
		SHA256   flexString `json:"sha256"`
		FileSize flexInt    `json:"file_size"` // a string in Meta's answers
	}
	if err := c.call(ctx, op, http.MethodGet, "/"+mediaID, nil, nil, &out); err != nil {
		return nil, err
	}
	u, err := url.Parse(string(out.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: http.StatusOK,
			Message: fmt.Sprintf("Meta's answer carries no usable url (%q)", string(out.URL))}
	}
	return &MediaInfo{ID: string(out.ID), URL: string(out.URL), MimeType: string(out.MimeType),
		SHA256: string(out.SHA256), FileSize: int64(out.FileSize)}, nil
}

// Download fetches a media file by id and returns its bytes and MIME type.
// It resolves the URL, downloads it with the access token, and when the
// URL has expired or is not found (404, 403 or 410) resolves it once more
// and tries again.
func (c *Client) Download(ctx context.Context, mediaID string) (data []byte, mimeType string, err error) {
	for attempt := 0; ; attempt++ {
		info, err := c.MediaURL(ctx, mediaID)
		if err != nil {
			return nil, "", err
		}
		data, mimeType, err = c.fetch(ctx, info.URL)
		if err == nil {
			return data, or(info.MimeType, mimeType), nil
		}
		if attempt > 0 || !urlExpired(err) {
			return nil, "", err
		}
		c.log.DebugContext(ctx, "media url expired; resolving again", "media_id", mediaID)
	}
}

// DownloadURL fetches a media file from the url of an inbound message's
// webhook (which saves resolving the id). When that url is expired or not
// found and mediaID is given, it falls back to Download(mediaID).
func (c *Client) DownloadURL(ctx context.Context, rawURL, mediaID string) (data []byte, mimeType string, err error) {
	u, perr := url.Parse(rawURL)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		if mediaID != "" {
			return c.Download(ctx, mediaID)
		}
		return nil, "", invalid("download_media", "url %q is not an absolute http(s) URL", rawURL)
	}
	data, mimeType, err = c.fetch(ctx, rawURL)
	if err != nil && mediaID != "" && urlExpired(err) {
		return c.Download(ctx, mediaID)
	}
	return data, mimeType, err
}

// DeleteMedia deletes an uploaded media object.
func (c *Client) DeleteMedia(ctx context.Context, mediaID string) error {
	const op = "delete_media"
	if !idRE.MatchString(mediaID) {
		return invalid(op, "media id %q is not valid", mediaID)
	}
	var out successBody
	if err := c.call(ctx, op, http.MethodDelete, "/"+mediaID, nil, nil, &out); err != nil {
		return err
	}
	return out.check(op)
}

// fetch GETs a media URL with the token (added by the stack's auth). The
// token travels only over https, unless the API itself is configured on
// http (the sandbox).
func (c *Client) fetch(ctx context.Context, rawURL string) ([]byte, string, error) {
	if !strings.HasPrefix(rawURL, "https://") && !strings.HasPrefix(c.cfg.APIBaseURL, "http://") {
		return nil, "", invalid("download_media", "refusing to send the access token to a non-https media URL")
	}
	resp, err := c.media.Do(ctx, "download_media", &connectors.Request{Method: http.MethodGet, Path: rawURL,
		Header: http.Header{"Accept": {"*/*"}}, MaxBytes: maxDownloadBytes})
	if err != nil {
		return nil, "", err
	}
	ct := resp.Header.Get("Content-Type")
	if base, _, perr := mime.ParseMediaType(ct); perr == nil {
		ct = base
	}
	return resp.Body, ct, nil
}

// urlExpired reports whether a download failed because its URL is no
// longer valid (Meta documents 404; 403 and 410 are what expired signed
// URLs give on CDNs).
func urlExpired(err error) bool {
	var e *connectors.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusNotFound, http.StatusForbidden, http.StatusGone:
		return true
	}
	return false
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
