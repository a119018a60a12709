package zendesk

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// uploadFile posts raw data and returns the answer.
func (b *testBundle) uploadFile(t *testing.T, query string, contentType string, data []byte) result {
	t.Helper()
	return b.doWith(t, http.MethodPost, "/api/v2/uploads.json"+query, data, func(r *http.Request) {
		r.Header.Set("Content-Type", contentType)
	})
}

// get fetches a URL of the fake (path and query of an absolute URL).
func (b *testBundle) get(t *testing.T, abs string, auth bool) result {
	t.Helper()
	u, err := url.Parse(abs)
	if err != nil {
		t.Fatalf("url %q: %v", abs, err)
	}
	return b.doWith(t, http.MethodGet, u.RequestURI(), nil, func(r *http.Request) {
		if !auth {
			r.Header.Del("Authorization")
		}
	})
}

func TestUploadAttachAndDownload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	png := []byte("\x89PNG\r\n\x1a\nfake image")
	r := b.uploadFile(t, "?filename=photo.png", "image/png", png).want(t, http.StatusCreated)
	tok := str(r.body, "upload", "token")
	att := r.body["upload"].(map[string]any)["attachment"]
	if tok == "" || str(att, "file_name") != "photo.png" || str(att, "content_type") != "image/png" ||
		num(att, "size") != int64(len(png)) || len(list(r.body, "upload", "attachments")) != 1 ||
		!strings.HasPrefix(str(att, "content_url"), b.srv.URL+"/attachments/token/") {
		t.Fatalf("upload = %s", r.raw)
	}
	// A second file on the same token.
	r2 := b.uploadFile(t, "?filename=note.txt&token="+tok, "text/plain; charset=utf-8", []byte("hello")).want(t, http.StatusCreated)
	if str(r2.body, "upload", "token") != tok || len(list(r2.body, "upload", "attachments")) != 2 ||
		str(r2.body, "upload", "attachment", "content_type") != "text/plain" {
		t.Fatalf("second upload = %s", r2.raw)
	}
	// Until attached, the file is downloadable by any authenticated user.
	dl := b.get(t, str(att, "content_url"), true).want(t, http.StatusOK)
	if !bytes.Equal(dl.raw, png) || dl.header.Get("Content-Type") != "image/png" {
		t.Fatalf("download = %q %v", dl.raw, dl.header)
	}
	b.get(t, str(att, "content_url"), false).want(t, http.StatusUnauthorized)

	req := b.createUser(t, map[string]any{"name": "Ana"})
	id := b.createTicket(t, req, nil)
	b.put(t, id, map[string]any{"comment": map[string]any{"body": "see files", "uploads": []string{tok, "unknown-token"}}}).
		want(t, http.StatusOK)
	c := b.do(t, http.MethodGet, "/api/v2/tickets/"+itoa(id)+"/comments.json", nil).want(t, http.StatusOK)
	atts := list(c.body, "comments", 1, "attachments")
	if len(atts) != 2 || str(atts[0], "file_name") != "photo.png" || str(atts[1], "file_name") != "note.txt" || num(atts[0], "id") == 0 {
		t.Fatalf("attachments = %s", c.raw)
	}
	dl = b.get(t, str(atts[1], "content_url"), true).want(t, http.StatusOK)
	if string(dl.raw) != "hello" {
		t.Fatalf("attached file = %q", dl.raw)
	}
	show := b.do(t, http.MethodGet, "/api/v2/attachments/"+str(atts[0], "id")+".json", nil).want(t, http.StatusOK)
	if str(show.body, "attachment", "file_name") != "photo.png" {
		t.Fatalf("attachment = %s", show.raw)
	}
	// The token was consumed.
	b.do(t, http.MethodDelete, "/api/v2/uploads/"+tok+".json", nil).wantError(t, 404, "RecordNotFound", "")
	// Attached files outlive the token's hour.
	b.fake.AdvanceClock(2 * time.Hour)
	b.get(t, str(atts[0], "content_url"), true).want(t, http.StatusOK)
}

func TestUploadErrorsAndExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.uploadFile(t, "?filename=a.txt", "text/plain", []byte("a")).want(t, http.StatusCreated)
	doomed := b.uploadFile(t, "?filename=b.txt", "text/plain", []byte("b")).want(t, http.StatusCreated)
	b.do(t, http.MethodDelete, "/api/v2/uploads/"+str(doomed.body, "upload", "token"), nil).want(t, http.StatusNoContent)
	b.get(t, str(doomed.body, "upload", "attachment", "content_url"), true).want(t, http.StatusNotFound)
	tests := []struct {
		name       string
		query      string
		data       []byte
		wantStatus int
		wantErr    string
	}{
		{"no filename", "", []byte("x"), 400, "ParameterMissing"},
		{"empty file", "?filename=e.txt", nil, 422, "RecordInvalid"},
		{"unknown token", "?filename=x.txt&token=nope", []byte("x"), 404, "RecordNotFound"},
		{"over 50 MB", "?filename=big.bin", make([]byte, MaxUploadSize+1), 413, "AttachmentTooLarge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b.uploadFile(t, tc.query, "application/octet-stream", tc.data).wantError(t, tc.wantStatus, tc.wantErr, "")
		})
	}
	b.fake.AdvanceClock(UploadTTL)
	tok := str(r.body, "upload", "token")
	b.uploadFile(t, "?filename=c.txt&token="+tok, "text/plain", []byte("c")).wantError(t, 404, "RecordNotFound", "")
	b.get(t, str(r.body, "upload", "attachment", "content_url"), true).want(t, http.StatusNotFound)
	b.do(t, http.MethodDelete, "/api/v2/uploads/"+tok, nil).want(t, http.StatusNotFound)
}
