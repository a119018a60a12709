package whatsapp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Media lifetimes and the download URL lifetime (reference §5).
const (
	// UploadedMediaTTL is how long an uploaded media id lives.
	UploadedMediaTTL = 30 * 24 * time.Hour
	// InboundMediaTTL is how long a media id received in a webhook lives.
	InboundMediaTTL = 7 * 24 * time.Hour
	// MediaURLTTL is how long a download URL from GET /{media-id} works.
	MediaURLTTL = 5 * time.Minute
)

const (
	kb = 1 << 10
	mb = 1 << 20
)

// mediaItem is a stored media object.
type mediaItem struct {
	id, phoneNumberID, mimeType, filename string
	data                                  []byte
	sum                                   [sha256.Size]byte
	created                               time.Time
	ttl                                   time.Duration
}

// mediaTypes maps each supported MIME type to its kind (reference §5).
var mediaTypes = map[string]string{
	"audio/aac": "audio", "audio/amr": "audio", "audio/mpeg": "audio", "audio/mp4": "audio", "audio/ogg": "audio",
	"text/plain": "document", "application/pdf": "document", "application/msword": "document",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
	"application/vnd.ms-excel": "document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "document",
	"application/vnd.ms-powerpoint":                                             "document",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
	"image/jpeg": "image", "image/png": "image",
	"image/webp": "sticker",
	"video/mp4":  "video", "video/3gpp": "video",
}

// checkUpload applies Meta's type and size rules to an upload.
func checkUpload(mimeType string, data []byte) *apiError {
	kind, ok := mediaTypes[mimeType]
	if !ok {
		return waError(131053, "Param file must be a file with one of the supported media types; %q is not supported", mimeType)
	}
	limit := map[string]int64{"audio": 16 * mb, "video": 16 * mb, "document": 100 * mb, "image": 5 * mb}[kind]
	if kind == "sticker" {
		limit = 100 * kb
		if bytes.Contains(data, []byte("ANIM")) {
			limit = 500 * kb
		}
	}
	if int64(len(data)) > limit {
		return waError(131053, "file of %d bytes is larger than the %d bytes allowed for %s", len(data), limit, mimeType)
	}
	if strings.HasPrefix(mimeType, "image/") {
		if sniffed := http.DetectContentType(data); sniffed != mimeType {
			return waError(131053, "file content is %s but its type is %s", sniffed, mimeType)
		}
	}
	return nil
}

// handleUpload answers POST /{version}/{phone-number-id}/media.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, pnID string) {
	s.mu.Lock()
	_, ok := s.numbers[pnID]
	s.mu.Unlock()
	if !ok {
		writeError(w, errNoObject("post", pnID))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 100*mb+mb)
	if err := r.ParseMultipartForm(8 * mb); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, waError(131053, "file is larger than the 100 MB allowed"))
			return
		}
		writeError(w, errInvalid("the request must be multipart/form-data with messaging_product and file: %v", err))
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	switch mp := r.FormValue("messaging_product"); mp {
	case "":
		writeError(w, errMissing("messaging_product is required"))
		return
	case "whatsapp":
	default:
		writeError(w, errInvalid("messaging_product must be \"whatsapp\", got %q", mp))
		return
	}
	files := r.MultipartForm.File["file"]
	if len(files) == 0 {
		writeError(w, errMissing("file is required"))
		return
	}
	fh := files[0]
	declared := baseMIME(fh.Header.Get("Content-Type"))
	formType := baseMIME(r.FormValue("type"))
	if declared == "" || declared == "application/octet-stream" {
		declared = formType
	} else if formType != "" && formType != declared {
		writeError(w, waError(131053, "Param type (%s) does not match the file's content type (%s)", formType, declared))
		return
	}
	if declared == "" {
		writeError(w, waError(131053, "the file has no media type; send it as file=@path;type=<mime type>"))
		return
	}
	f, err := fh.Open()
	if err != nil {
		writeError(w, waError(131053, "file could not be read: %v", err))
		return
	}
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		writeError(w, waError(131053, "file could not be read: %v", err))
		return
	}
	if e := checkUpload(declared, data); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	item := s.storeMediaLocked(pnID, declared, fh.Filename, data, UploadedMediaTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": item.id})
}

// baseMIME returns the media type without parameters, lowercased.
func baseMIME(v string) string {
	if v == "" {
		return ""
	}
	t, _, err := mime.ParseMediaType(v)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return t
}

// storeMediaLocked stores a media object. s.mu is held.
func (s *Server) storeMediaLocked(pnID, mimeType, filename string, data []byte, ttl time.Duration) *mediaItem {
	item := &mediaItem{
		id: s.newID(), phoneNumberID: pnID, mimeType: mimeType, filename: filename,
		data: data, sum: sha256.Sum256(data), created: s.clock.Now(), ttl: ttl,
	}
	s.media[item.id] = item
	return item
}

func (s *Server) mediaExpiredLocked(m *mediaItem) bool {
	return s.clock.Now().Sub(m.created) > m.ttl
}

// lookupMedia finds a live media object, checking ?phone_number_id= when given.
func (s *Server) lookupMedia(r *http.Request, id string) (*mediaItem, *apiError) {
	pn := r.URL.Query().Get("phone_number_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	if !ok || s.mediaExpiredLocked(m) || (pn != "" && pn != m.phoneNumberID) {
		return nil, errNoObject(strings.ToLower(r.Method), id)
	}
	return m, nil
}

// handleMediaGet answers GET /{version}/{media-id}.
func (s *Server) handleMediaGet(w http.ResponseWriter, r *http.Request, id string) {
	m, e := s.lookupMedia(r, id)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"messaging_product": "whatsapp",
		"url":               s.mediaURL(s.externalBase(r), m.id),
		"mime_type":         m.mimeType,
		"sha256":            hex.EncodeToString(m.sum[:]),
		"file_size":         strconv.Itoa(len(m.data)),
		"id":                m.id,
	})
}

// handleMediaDelete answers DELETE /{version}/{media-id}.
func (s *Server) handleMediaDelete(w http.ResponseWriter, r *http.Request, id string) {
	if _, e := s.lookupMedia(r, id); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	delete(s.media, id)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// externalBase is the configured base URL, else the request's own origin.
func (s *Server) externalBase(r *http.Request) string {
	s.mu.Lock()
	base := s.baseURL
	s.mu.Unlock()
	if base != "" || r == nil {
		return base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// mediaURL returns a signed download URL for media id, valid MediaURLTTL
// from now on the fake clock.
func (s *Server) mediaURL(base, id string) string {
	exp := strconv.FormatInt(s.clock.Now().Add(MediaURLTTL).Unix(), 10)
	q := url.Values{"expires": {exp}, "sig": {s.urlSig(id, exp)}}
	return base + "/_media/" + url.PathEscape(id) + "?" + q.Encode()
}

func (s *Server) urlSig(id, exp string) string {
	mac := hmac.New(sha256.New, s.urlKey)
	fmt.Fprintf(mac, "%s|%s", id, exp)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// serveDownload answers GET /_media/{id}?expires=…&sig=…: 401 without the
// token, 404 for an unknown media, a bad signature or an expired URL (as
// Meta's CDN does), else the bytes.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if e := s.authorize(r); e != nil {
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	exp := q.Get("expires")
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(s.urlSig(id, exp))) ||
		s.clock.Now().After(time.Unix(sec, 0)) {
		http.Error(w, "URL signature mismatch or expired", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	m, ok := s.media[id]
	if ok && s.mediaExpiredLocked(m) {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "media not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", m.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	if m.filename != "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.filename}))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(m.data)
	}
}
