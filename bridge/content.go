package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/mapping"
)

// render returns the comment of a batch: one message rendered by type (its
// media downloaded from WhatsApp to attach), or coalesced texts one per
// line with their time.
func (e *Engine) render(ctx context.Context, in *inbound) (string, []connectors.Attachment, error) {
	if len(in.batch) > 1 {
		lines := make([]string, len(in.batch))
		for i, m := range in.batch {
			lines[i] = "[" + m.at().In(e.opt.TimeZone).Format("15:04:05") + "] " + m.msg().Text.Body
		}
		return strings.Join(lines, "\n"), nil, nil
	}
	m := in.batch[0]
	r := mapping.RenderMessage(m.msg(), e.opt.TimeZone)
	if r.Media == nil {
		return r.Text, nil, nil
	}
	file, problem, err := e.fetchMedia(ctx, in, m, r.Media)
	if err != nil {
		return "", nil, err
	}
	if problem != "" {
		return strings.TrimSpace(r.Text + "\n" + problem), nil, nil
	}
	return r.Text, []connectors.Attachment{*file}, nil
}

// fetchMedia downloads a message's media for the helpdesk. A file the
// helpdesk cannot take, or WhatsApp cannot give, becomes a problem text
// for the comment; only a temporary failure is an error (retried).
func (e *Engine) fetchMedia(ctx context.Context, in *inbound, m inMsg, ref *mapping.MediaRef) (*connectors.Attachment, string, error) {
	name := mediaFilename(ref, m.msg().ID)
	if in.n.Client == nil {
		return nil, fmt.Sprintf("[%s %s not relayed: the number has no access token]", ref.Kind, name), nil
	}
	var limit int64
	if l, ok := in.hd.(connectors.AttachmentLimiter); ok {
		limit = l.MaxAttachmentBytes()
	}
	info, err := in.n.Client.MediaURL(ctx, ref.ID)
	if err != nil {
		problem, err := e.mediaProblem(ctx, ref, name, err)
		return nil, problem, err
	}
	if limit > 0 && info.FileSize > limit {
		return nil, mapping.MediaTooLarge(name, info.FileSize, limit), nil
	}
	data, mt, err := in.n.Client.DownloadURL(ctx, info.URL, ref.ID)
	if err != nil {
		problem, err := e.mediaProblem(ctx, ref, name, err)
		return nil, problem, err
	}
	if limit > 0 && int64(len(data)) > limit {
		return nil, mapping.MediaTooLarge(name, int64(len(data)), limit), nil
	}
	ct := firstNonEmpty(ref.MimeType, info.MimeType, mt, "application/octet-stream")
	return &connectors.Attachment{Filename: name, ContentType: ct, Data: data}, "", nil
}

// mediaProblem turns a download failure into a comment text when retrying
// cannot help, and returns it as an error otherwise.
func (e *Engine) mediaProblem(ctx context.Context, ref *mapping.MediaRef, name string, err error) (string, error) {
	switch connectors.KindOf(err) {
	case connectors.Permanent:
		e.log.WarnContext(ctx, "media could not be downloaded from WhatsApp", "media_kind", ref.Kind, slog.Any("error", err))
		hint := whatsapp.Hint(err)
		if hint == "" {
			hint = err.Error()
		}
		return fmt.Sprintf("[%s %s could not be downloaded from WhatsApp: %s]", ref.Kind, name, hint), nil
	default:
		return "", fmt.Errorf("download %s: %w", ref.Kind, err)
	}
}

// mediaFilename is the document's own name, else the kind, a short id of
// the message and the extension of its MIME type ("image-1a2b3c4d.jpg").
func mediaFilename(ref *mapping.MediaRef, wamid string) string {
	if n := strings.TrimSpace(ref.Filename); n != "" && !strings.ContainsAny(n, "/\\\x00\r\n") {
		return n
	}
	ext := ""
	if base, _, err := mime.ParseMediaType(ref.MimeType); err == nil {
		ext = preferredExt[base]
		if ext == "" {
			if exts, _ := mime.ExtensionsByType(base); len(exts) > 0 {
				ext = exts[0]
			}
		}
	}
	return ref.Kind + "-" + mapping.ShortID(wamid) + ext
}

// preferredExt fixes the extension of common WhatsApp types, where the
// system table may list an unusual one first.
var preferredExt = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
	"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/aac": ".aac", "audio/amr": ".amr",
	"video/mp4": ".mp4", "video/3gpp": ".3gp", "application/pdf": ".pdf", "text/plain": ".txt",
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
