package zendesk

import (
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// attachment is an uploaded file. Its content is served at
// /attachments/token/{Token}/?name={FileName}.
type attachment struct {
	ID          int64
	Token       string
	FileName    string
	ContentType string
	Data        []byte
	upload      string // upload token until consumed by a comment
}

// upload is an upload token with its files, usable until ExpiresAt.
type upload struct {
	Token       string
	Attachments []*attachment
	ExpiresAt   time.Time
}

// attachmentJSON renders an attachment object.
func attachmentJSON(base string, a *attachment) map[string]any {
	content := fmt.Sprintf("%s/attachments/token/%s/?name=%s", base, a.Token, url.QueryEscape(a.FileName))
	return map[string]any{
		"url": fmt.Sprintf("%s/api/v2/attachments/%d.json", base, a.ID), "id": a.ID, "file_name": a.FileName,
		"content_url": content, "mapped_content_url": content, "content_type": a.ContentType, "size": len(a.Data),
		"inline": false, "deleted": false, "malware_access_override": false, "malware_scan_result": "malware_not_found",
		"thumbnails": []any{},
	}
}

// routeUploads serves /api/v2/uploads/…; it reports false for an unknown route.
func (s *Server) routeUploads(c *call, m string, rest []string) bool {
	switch {
	case len(rest) == 0 && m == http.MethodPost:
		s.handleUpload(c)
	case len(rest) == 1 && m == http.MethodDelete:
		s.handleUploadDelete(c, rest[0])
	default:
		return false
	}
	return true
}

// liveUploadLocked returns the upload with token if it is still usable,
// dropping it (and its files) once expired. s.mu is held.
func (s *Server) liveUploadLocked(token string, now time.Time) *upload {
	u := s.uploads[token]
	if u == nil {
		return nil
	}
	if !now.Before(u.ExpiresAt) {
		s.dropUploadLocked(u)
		return nil
	}
	return u
}

func (s *Server) dropUploadLocked(u *upload) {
	for _, a := range u.Attachments {
		delete(s.attachments, a.Token)
		delete(s.attByID, a.ID)
	}
	delete(s.uploads, u.Token)
}

// handleUpload answers POST /api/v2/uploads?filename=…[&token=…] with the
// raw file as body.
func (s *Server) handleUpload(c *call) {
	q := c.r.URL.Query()
	name := q.Get("filename")
	if name == "" {
		c.fail(errParameterMissing("filename"))
		return
	}
	data, err := io.ReadAll(io.LimitReader(c.r.Body, MaxUploadSize+1))
	switch {
	case err != nil:
		c.fail(errBadJSON())
		return
	case len(data) > MaxUploadSize:
		c.fail(&apiError{status: http.StatusRequestEntityTooLarge, body: classic{Error: "AttachmentTooLarge",
			Description: fmt.Sprintf("Attachment exceeds the maximum size of %d MB", MaxUploadSize>>20)}})
		return
	case len(data) == 0:
		c.fail(errRecordInvalid("uploaded_data", "BlankValue", "Uploaded data: cannot be blank"))
		return
	}
	ct := "application/binary"
	if mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type")); err == nil && mt != "" {
		ct = mt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var up *upload
	if tok := q.Get("token"); tok != "" {
		if up = s.liveUploadLocked(tok, now); up == nil {
			c.fail(errNotFound())
			return
		}
	} else {
		up = &upload{Token: randomToken(25), ExpiresAt: now.Add(UploadTTL)}
		s.uploads[up.Token] = up
	}
	a := &attachment{ID: s.nextIDLocked(), Token: randomToken(25), FileName: name, ContentType: ct, Data: data, upload: up.Token}
	up.Attachments = append(up.Attachments, a)
	s.attachments[a.Token] = a
	s.attByID[a.ID] = a
	all := make([]any, 0, len(up.Attachments))
	for _, x := range up.Attachments {
		all = append(all, attachmentJSON(c.base, x))
	}
	c.json(http.StatusCreated, map[string]any{"upload": map[string]any{"token": up.Token,
		"expires_at": stamp(up.ExpiresAt), "attachment": attachmentJSON(c.base, a), "attachments": all}})
}

// handleUploadDelete answers DELETE /api/v2/uploads/{token}: 204, or 404
// for an unknown, expired or already attached upload.
func (s *Server) handleUploadDelete(c *call, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	up := s.liveUploadLocked(token, s.clock.Now())
	if up == nil {
		c.fail(errNotFound())
		return
	}
	s.dropUploadLocked(up)
	c.w.WriteHeader(http.StatusNoContent)
}

// consumeUploadsLocked attaches the files of the given upload tokens;
// unknown or expired tokens are skipped, as Zendesk does. s.mu is held.
func (s *Server) consumeUploadsLocked(tokens []string, now time.Time) []*attachment {
	var out []*attachment
	for _, tok := range tokens {
		up := s.liveUploadLocked(tok, now)
		if up == nil {
			s.log.Warn("comment upload token ignored: unknown or expired", slog.String("token", tok))
			continue
		}
		for _, a := range up.Attachments {
			a.upload = ""
		}
		out = append(out, up.Attachments...)
		delete(s.uploads, tok)
	}
	return out
}

// handleDownload serves an attachment's content (authenticated).
func (s *Server) handleDownload(c *call, token string) {
	s.mu.Lock()
	a := s.attachments[token]
	if a != nil && a.upload != "" && s.liveUploadLocked(a.upload, s.clock.Now()) == nil {
		a = nil
	}
	s.mu.Unlock()
	if a == nil {
		c.fail(errNotFound())
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": a.FileName}))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(a.Data)
	}
}

// handleAttachmentShow answers GET /api/v2/attachments/{id}.
func (s *Server) handleAttachmentShow(c *call, raw string) {
	id, _ := parseID(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.attByID[id]
	if a == nil || (a.upload != "" && s.liveUploadLocked(a.upload, s.clock.Now()) == nil) {
		c.fail(errNotFound())
		return
	}
	c.json(http.StatusOK, map[string]any{"attachment": attachmentJSON(c.base, a)})
}
