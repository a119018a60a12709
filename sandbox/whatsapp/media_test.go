package whatsapp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	jpegBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9")
	pngBytes  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")
	pdfBytes  = []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
	webpBytes = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
)

// uploadForm is a multipart upload body.
type uploadForm struct {
	product  string // messaging_product; "-" leaves it out
	fileType string // Content-Type of the file part; "" leaves it out
	typeFld  string // the "type" field; "" leaves it out
	filename string
	data     []byte // nil leaves the file out
}

func (f uploadForm) encode(t *testing.T) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if f.product != "-" {
		_ = mw.WriteField("messaging_product", cmpOr(f.product, "whatsapp"))
	}
	if f.typeFld != "" {
		_ = mw.WriteField("type", f.typeFld)
	}
	if f.data != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+cmpOr(f.filename, "file.bin")+`"`)
		if f.fileType != "" {
			h.Set("Content-Type", f.fileType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f.data)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// postUpload sends an upload form and returns the status and JSON answer.
func postUpload(t *testing.T, b *testBundle, f uploadForm) (int, map[string]any) {
	t.Helper()
	ct, body := f.encode(t)
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/"+testVersion+"/"+testPN+"/media", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", ct)
	return doJSON(t, b, req)
}

func doJSON(t *testing.T, b *testBundle, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// uploadMedia uploads a file and returns its media id.
func uploadMedia(t *testing.T, b *testBundle, mimeType, filename string, data []byte) string {
	t.Helper()
	status, body := postUpload(t, b, uploadForm{fileType: mimeType, filename: filename, data: data})
	if status != 200 || body["id"] == "" {
		t.Fatalf("upload: %d %v", status, body)
	}
	return body["id"].(string)
}

func TestMediaUpload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	big := func(prefix []byte, n int) []byte { return append(append([]byte{}, prefix...), make([]byte, n)...) }
	tests := []struct {
		name     string
		form     uploadForm
		wantCode int // 0 = accepted
		wantText string
	}{
		{"jpeg", uploadForm{fileType: "image/jpeg", data: jpegBytes}, 0, ""},
		{"png via the type field", uploadForm{fileType: "application/octet-stream", typeFld: "image/png", data: pngBytes}, 0, ""},
		{"pdf", uploadForm{fileType: "application/pdf", filename: "a.pdf", data: pdfBytes}, 0, ""},
		{"ogg opus audio", uploadForm{fileType: "audio/ogg; codecs=opus", data: []byte("OggS\x00\x02")}, 0, ""},
		{"static sticker", uploadForm{fileType: "image/webp", data: webpBytes}, 0, ""},
		{"mp4", uploadForm{fileType: "video/mp4", data: []byte("\x00\x00\x00\x18ftypmp42")}, 0, ""},
		{"unsupported type", uploadForm{fileType: "image/gif", data: []byte("GIF89a")}, 131053, "image/gif"},
		{"image over 5 MB", uploadForm{fileType: "image/jpeg", data: big(jpegBytes, 5*mb)}, 131053, "larger than"},
		{"static sticker over 100 KB", uploadForm{fileType: "image/webp", data: big(webpBytes, 100*kb)}, 131053, "larger than"},
		{"png bytes sent as jpeg", uploadForm{fileType: "image/jpeg", data: pngBytes}, 131053, "file content is image/png"},
		{"type field contradicts the file", uploadForm{fileType: "image/jpeg", typeFld: "image/png", data: jpegBytes}, 131053, "does not match"},
		{"no media type", uploadForm{data: jpegBytes}, 131053, "no media type"},
		{"no file", uploadForm{}, 131008, "file is required"},
		{"no messaging_product", uploadForm{product: "-", fileType: "image/jpeg", data: jpegBytes}, 131008, "messaging_product"},
		{"wrong messaging_product", uploadForm{product: "sms", fileType: "image/jpeg", data: jpegBytes}, 100, "messaging_product"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := postUpload(t, b, tc.form)
			if tc.wantCode == 0 {
				if id, _ := body["id"].(string); status != 200 || id == "" {
					t.Fatalf("%d %v", status, body)
				}
				return
			}
			wantError(t, status, body, 400, tc.wantCode, tc.wantText)
		})
	}
	t.Run("not multipart", func(t *testing.T) {
		t.Parallel()
		status, body := b.do(t, http.MethodPost, "/"+testVersion+"/"+testPN+"/media", map[string]any{"messaging_product": "whatsapp"})
		wantError(t, status, body, 400, 100, "multipart/form-data")
	})
}

func TestMediaURLDownloadDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := uploadMedia(t, b, "application/pdf", "invoice.pdf", pdfBytes)
	path := "/" + testVersion + "/" + id

	status, body := b.do(t, http.MethodGet, path+"?phone_number_id="+testPN, nil)
	if status != 200 {
		t.Fatalf("get: %d %v", status, body)
	}
	sum := sha256.Sum256(pdfBytes)
	want := map[string]string{"messaging_product": "whatsapp", "mime_type": "application/pdf",
		"sha256": hex.EncodeToString(sum[:]), "file_size": strconv.Itoa(len(pdfBytes)), "id": id}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	mediaURL := body["url"].(string)
	if !strings.HasPrefix(mediaURL, b.srv.URL+"/_media/"+id+"?") {
		t.Fatalf("url = %s", mediaURL)
	}

	download := func(u, token string) (int, []byte, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := b.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data, resp.Header
	}
	if st, data, h := download(mediaURL, testToken); st != 200 || !bytes.Equal(data, pdfBytes) ||
		h.Get("Content-Type") != "application/pdf" || !strings.Contains(h.Get("Content-Disposition"), "invoice.pdf") {
		t.Fatalf("download: %d %q %v", st, data, h)
	}
	if st, _, _ := download(mediaURL, ""); st != http.StatusUnauthorized {
		t.Errorf("download without token: %d, want 401", st)
	}
	u, _ := url.Parse(mediaURL)
	q := u.Query()
	q.Set("sig", "forged")
	u.RawQuery = q.Encode()
	if st, _, _ := download(u.String(), testToken); st != http.StatusNotFound {
		t.Errorf("download with a bad signature: %d, want 404", st)
	}

	status, body = b.do(t, http.MethodGet, path+"?phone_number_id="+testPN2, nil)
	wantError(t, status, body, 400, 100, "does not exist")

	b.fake.AdvanceClock(MediaURLTTL + time.Second)
	if st, _, _ := download(mediaURL, testToken); st != http.StatusNotFound {
		t.Errorf("download after 5 minutes: %d, want 404", st)
	}

	status, body = b.do(t, http.MethodDelete, path, nil)
	if status != 200 || body["success"] != true {
		t.Fatalf("delete: %d %v", status, body)
	}
	status, body = b.do(t, http.MethodGet, path, nil)
	wantError(t, status, body, 400, 100, "Unsupported get request")
	status, body = b.do(t, http.MethodDelete, path, nil)
	wantError(t, status, body, 400, 100, "Unsupported delete request")
	status, body = b.send(t, map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "document", "document": map[string]any{"id": id}})
	wantError(t, status, body, 400, 131009, "does not exist")
}

func TestMediaExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := uploadMedia(t, b, "image/png", "a.png", pngBytes)
	b.fake.AdvanceClock(UploadedMediaTTL + time.Hour)
	status, body := b.do(t, http.MethodGet, "/"+testVersion+"/"+id, nil)
	wantError(t, status, body, 400, 100, "does not exist")
}
