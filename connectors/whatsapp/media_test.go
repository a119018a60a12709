package whatsapp

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/deskbridge/deskbridge/connectors"
)

// uploadedForm is what the upload responder found in the multipart body.
type uploadedForm struct {
	fields                map[string]string
	filename, contentType string
	file                  []byte
	err                   error
}

// parseUpload reads a multipart upload request.
func parseUpload(r *http.Request) uploadedForm {
	f := uploadedForm{fields: map[string]string{}}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		f.err = err
		if f.err == nil {
			f.err = io.ErrUnexpectedEOF
		}
		return f
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return f
		}
		if err != nil {
			f.err = err
			return f
		}
		data, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			f.filename, f.contentType, f.file = p.FileName(), p.Header.Get("Content-Type"), data
		} else {
			f.fields[p.FormName()] = string(data)
		}
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	resp := example(t, "post_phone_number_id_media__resp200__upload_image_json.json")
	b := setup(t, nil)
	var (
		mu   sync.Mutex
		form uploadedForm
		auth string
	)
	b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/media", func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		form, auth = parseUpload(r), r.Header.Get("Authorization")
		mu.Unlock()
		return httpmock.NewBytesResponse(200, resp), nil
	})
	data := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	id, err := b.client.Upload(t.Context(), `photo "1".jpg`, "image/jpeg", data)
	if err != nil {
		t.Fatal(err)
	}
	if id != "4490709327384033" {
		t.Errorf("id = %q", id)
	}
	mu.Lock()
	defer mu.Unlock()
	if form.err != nil {
		t.Fatalf("multipart body: %v", form.err)
	}
	if form.fields["messaging_product"] != "whatsapp" || form.fields["type"] != "image/jpeg" || len(form.fields) != 2 {
		t.Errorf("fields = %v", form.fields)
	}
	if form.filename != `photo "1".jpg` || form.contentType != "image/jpeg" || !bytes.Equal(form.file, data) {
		t.Errorf("file part = %q %q %q", form.filename, form.contentType, form.file)
	}
	if auth != "Bearer tok-1" {
		t.Errorf("authorization = %q", auth)
	}
}

func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, filename, mime string
		size                 int
		want                 string
	}{
		{"unsupported type", "a.gif", "image/gif", 10, "not a media type"},
		{"bad mime", "a", "image/", 10, "not a media type"},
		{"image over 5 MiB", "a.jpg", "image/jpeg", 5<<20 + 1, "up to 5242880 bytes"},
		{"sticker over 500 KiB", "a.webp", "image/webp", 500<<10 + 1, "up to 512000"},
		{"audio over 16 MiB", "a.ogg", "audio/ogg; codecs=opus", 16<<20 + 1, "up to 16777216"},
		{"empty file", "a.pdf", "application/pdf", 0, "file: is empty"},
		{"path in filename", "../a.pdf", "application/pdf", 10, "plain file name"},
		{"no filename", "", "application/pdf", 10, "plain file name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/media", b.rec.respond(200, `{"id":"1"}`))
			_, err := b.client.Upload(t.Context(), tc.filename, tc.mime, make([]byte, tc.size))
			ce := asConnErr(t, err)
			if ce.Kind != connectors.Permanent || !strings.Contains(ce.Message, tc.want) || ce.Op != "upload_media" {
				t.Errorf("err = %v, want Permanent containing %q", err, tc.want)
			}
			if n := b.mock.GetTotalCallCount(); n != 0 {
				t.Errorf("%d requests were made", n)
			}
		})
	}
	if n, ok := MediaLimit("application/vnd.openxmlformats-officedocument.wordprocessingml.document"); !ok || n != 100<<20 {
		t.Errorf("docx limit = %d, %v", n, ok)
	}
}

func TestMediaURL(t *testing.T) {
	t.Parallel()
	resp := strings.ReplaceAll(string(example(t, "get_media_id__resp200__retrieve_media_url.json")),
		"<URL>", "https://lookaside.test/whatsapp_business/attachments/?mid=2621233374848975&ext=1")
	b := setup(t, nil)
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/2621233374848975", b.rec.respond(200, resp))
	info, err := b.client.MediaURL(t.Context(), "2621233374848975")
	if err != nil {
		t.Fatal(err)
	}
	want := MediaInfo{ID: "2621233374848975", URL: "https://lookaside.test/whatsapp_business/attachments/?mid=2621233374848975&ext=1",
		MimeType: "image/jpeg", SHA256: "<HASH>", FileSize: 303833}
	if *info != want {
		t.Errorf("info = %+v, want %+v", *info, want)
	}
	r := b.rec.only(t)
	if r.Method != http.MethodGet || r.URL != apiPrefix+"/2621233374848975" || r.Header.Get("Authorization") != "Bearer tok-1" {
		t.Errorf("request = %s %s %v", r.Method, r.URL, r.Header)
	}

	t.Run("unusable url", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/1", b.rec.respond(200, `{"id":"1","url":"<URL>"}`))
		if _, err := b.client.MediaURL(t.Context(), "1"); asConnErr(t, err).Kind != connectors.Retryable {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("invalid id", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		for _, id := range []string{"", "../me", "1/messages", "1?fields=x"} {
			if _, err := b.client.MediaURL(t.Context(), id); asConnErr(t, err).Kind != connectors.Permanent {
				t.Errorf("MediaURL(%q) err = %v", id, err)
			}
		}
		if n := b.mock.GetTotalCallCount(); n != 0 {
			t.Errorf("%d requests were made", n)
		}
	})
}

// mediaServer answers media-id lookups with a new URL each time (…/file/1,
// …/file/2) and serves the files whose numbers are in ok.
type mediaServer struct {
	mu        sync.Mutex
	resolves  int
	downloads []captured
}

const lookaside = "https://lookaside.test/file/"

func (s *mediaServer) register(t *testing.T, b *testBundle, id string, ok map[string]bool, payload []byte) {
	t.Helper()
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/"+id, func(r *http.Request) (*http.Response, error) {
		s.mu.Lock()
		s.resolves++
		n := s.resolves
		s.mu.Unlock()
		body := `{"messaging_product":"whatsapp","url":"` + lookaside + string(rune('0'+n)) + `?mid=` + id +
			`","mime_type":"image/jpeg","sha256":"abc","file_size":"` + strconv.Itoa(len(payload)) + `","id":"` + id + `"}`
		return httpmock.NewStringResponse(200, body), nil
	})
	b.mock.RegisterRegexpResponder(http.MethodGet, regexp.MustCompile(`^`+regexp.QuoteMeta(lookaside)), func(r *http.Request) (*http.Response, error) {
		s.mu.Lock()
		s.downloads = append(s.downloads, captured{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone()})
		s.mu.Unlock()
		name := strings.TrimPrefix(r.URL.Path, "/file/")
		if !ok[name] {
			return httpmock.NewStringResponse(404, "not found"), nil
		}
		resp := httpmock.NewBytesResponse(200, payload)
		resp.Header.Set("Content-Type", "image/jpeg")
		return resp, nil
	})
}

// counts returns the numbers of resolves and downloads so far.
func (s *mediaServer) counts() (resolves int, downloads []captured) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resolves, append([]captured(nil), s.downloads...)
}

func TestDownloadReResolvesExpiredURL(t *testing.T) {
	t.Parallel()
	payload := bytes.Repeat([]byte("jpeg"), 5<<20) // 20 MiB: beyond the stack's default 16 MiB
	b := setup(t, nil)
	s := &mediaServer{}
	s.register(t, b, "1003383421387256", map[string]bool{"2": true}, payload)

	data, mt, err := b.client.Download(t.Context(), "1003383421387256")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, payload) || mt != "image/jpeg" {
		t.Errorf("got %d bytes of %q", len(data), mt)
	}
	resolves, downloads := s.counts()
	if resolves != 2 || len(downloads) != 2 {
		t.Fatalf("resolves = %d, downloads = %d; want 2 and 2", resolves, len(downloads))
	}
	for i, d := range downloads {
		if d.Header.Get("Authorization") == "" || !strings.HasPrefix(d.Header.Get("Authorization"), "Bearer tok-") ||
			d.Header.Get("Accept") != "*/*" || !strings.HasPrefix(d.URL, lookaside+string(rune('1'+i))) {
			t.Errorf("download %d = %s %v", i, d.URL, d.Header)
		}
	}
}

func TestDownloadGivesUpAfterOneReResolve(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	s := &mediaServer{}
	s.register(t, b, "42", nil, []byte("x"))
	_, _, err := b.client.Download(t.Context(), "42")
	if ce := asConnErr(t, err); ce.Kind != connectors.Permanent || ce.Status != 404 || ce.Op != "download_media" {
		t.Errorf("err = %v", err)
	}
	if resolves, downloads := s.counts(); resolves != 2 || len(downloads) != 2 {
		t.Errorf("resolves = %d, downloads = %d; want 2 and 2", resolves, len(downloads))
	}
}

func TestDownloadURL(t *testing.T) {
	t.Parallel()
	t.Run("webhook url works", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		s := &mediaServer{}
		s.register(t, b, "42", map[string]bool{"9": true}, []byte("img"))
		data, mt, err := b.client.DownloadURL(t.Context(), lookaside+"9?mid=42", "42")
		if err != nil || string(data) != "img" || mt != "image/jpeg" {
			t.Fatalf("DownloadURL = %q, %q, %v", data, mt, err)
		}
		if resolves, _ := s.counts(); resolves != 0 {
			t.Errorf("resolved the id %d times; the webhook url needs none", resolves)
		}
	})
	t.Run("expired webhook url falls back to the id", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		s := &mediaServer{}
		s.register(t, b, "42", map[string]bool{"1": true}, []byte("img"))
		data, _, err := b.client.DownloadURL(t.Context(), lookaside+"9?mid=42", "42")
		if err != nil || string(data) != "img" {
			t.Fatalf("DownloadURL = %q, %v", data, err)
		}
		if resolves, downloads := s.counts(); resolves != 1 || len(downloads) != 2 {
			t.Errorf("resolves = %d, downloads = %d; want 1 and 2", resolves, len(downloads))
		}
	})
	t.Run("token never sent over http", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.mock.RegisterNoResponder(b.rec.respond(200, "x"))
		_, _, err := b.client.DownloadURL(t.Context(), "http://lookaside.test/file/1", "")
		if asConnErr(t, err).Kind != connectors.Permanent || b.mock.GetTotalCallCount() != 0 {
			t.Errorf("err = %v, calls = %d", err, b.mock.GetTotalCallCount())
		}
	})
	t.Run("expired without id", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		s := &mediaServer{}
		s.register(t, b, "42", nil, nil)
		if _, _, err := b.client.DownloadURL(t.Context(), lookaside+"9", ""); asConnErr(t, err).Status != 404 {
			t.Errorf("err = %v", err)
		}
	})
}

func TestDeleteMedia(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.mock.RegisterResponder(http.MethodDelete, apiPrefix+"/4490709327384033",
		b.rec.respond(200, string(example(t, "delete_media_id__resp200__delete_media.json"))))
	if err := b.client.DeleteMedia(t.Context(), "4490709327384033"); err != nil {
		t.Fatal(err)
	}
	if r := b.rec.only(t); r.Method != http.MethodDelete || r.Header.Get("Authorization") != "Bearer tok-1" {
		t.Errorf("request = %+v", r)
	}
	if err := b.client.DeleteMedia(t.Context(), "a/b"); asConnErr(t, err).Kind != connectors.Permanent {
		t.Errorf("err = %v", err)
	}
}
