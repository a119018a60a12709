package zendesk

import "github.com/deskbridge/deskbridge/connectors"

var _ connectors.AttachmentLimiter = (*Client)(nil)

// MaxAttachmentBytes is the largest attachment this account accepts
// (Config.MaxAttachmentBytes).
func (c *Client) MaxAttachmentBytes() int64 { return c.cfg.MaxAttachmentBytes }
