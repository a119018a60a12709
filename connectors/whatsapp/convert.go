package whatsapp

// Conversion from the wire structs (types.go) to the exported model
// (model.go). Pure field copying, no allocation beyond the result.

func (c *wireContact) model() *Contact {
	return &Contact{
		Name:            string(c.Profile.Name),
		Username:        string(c.Profile.Username),
		WAID:            string(c.WAID),
		UserID:          string(c.UserID),
		ParentUserID:    string(c.ParentUserID),
		IdentityKeyHash: string(c.IdentityKeyHash),
		CountryCode:     string(c.CountryCode),
	}
}

// maxEditDepth bounds edit.message.edit.message… recursion. Meta nests one
// level; anything deeper is kept only in Event.Raw.
const maxEditDepth = 4

func (w *wireMessage) model(depth int) *Message {
	m := &Message{
		ID:         string(w.ID),
		From:       string(w.From),
		FromUserID: string(w.FromUserID),
		Timestamp:  w.Timestamp.Time(),
		Type:       string(w.Type),
		Image:      w.Image.model(),
		Video:      w.Video.model(),
		Document:   w.Document.model(),
		Audio:      w.Audio.model(),
		Sticker:    w.Sticker.model(),
		Errors:     errorsModel(w.Errors),
	}
	if w.Text != nil {
		m.Text = &Text{Body: string(w.Text.Body)}
	}
	if l := w.Location; l != nil {
		m.Location = &Location{
			Latitude:  float64(l.Latitude),
			Longitude: float64(l.Longitude),
			Name:      string(l.Name),
			Address:   string(l.Address),
			URL:       string(l.URL),
		}
	}
	if len(w.Contacts) > 0 {
		m.Contacts = make([]SharedContact, len(w.Contacts))
		for i := range w.Contacts {
			m.Contacts[i] = w.Contacts[i].model()
		}
	}
	if in := w.Interactive; in != nil {
		m.Interactive = &Interactive{
			Type:        string(in.Type),
			ButtonReply: in.ButtonReply.model(),
			ListReply:   in.ListReply.model(),
		}
		if n := in.NFMReply; n != nil {
			m.Interactive.NFMReply = &NFMReply{
				Name:         string(n.Name),
				Body:         string(n.Body),
				ResponseJSON: string(n.ResponseJSON),
			}
		}
	}
	if b := w.Button; b != nil {
		m.Button = &Button{Payload: string(b.Payload), Text: string(b.Text)}
	}
	if r := w.Reaction; r != nil {
		m.Reaction = &Reaction{MessageID: string(r.MessageID), Emoji: string(r.Emoji)}
	}
	if o := w.Order; o != nil {
		m.Order = &Order{CatalogID: string(o.CatalogID), Text: string(o.Text)}
		if len(o.ProductItems) > 0 {
			m.Order.ProductItems = make([]ProductItem, len(o.ProductItems))
			for i, p := range o.ProductItems {
				m.Order.ProductItems[i] = ProductItem{
					ProductRetailerID: string(p.ProductRetailerID),
					Quantity:          int64(p.Quantity),
					ItemPrice:         float64(p.ItemPrice),
					Currency:          string(p.Currency),
				}
			}
		}
	}
	if s := w.System; s != nil {
		m.System = &System{
			Body:           string(s.Body),
			Type:           string(s.Type),
			WAID:           string(s.WAID),
			NewWAID:        string(s.NewWAID),
			UserID:         string(s.UserID),
			PreviousUserID: string(s.PreviousUserID),
			Customer:       string(s.Customer),
			Identity:       string(s.Identity),
		}
	}
	if u := w.Unsupported; u != nil {
		m.Unsupported = &Unsupported{Type: string(u.Type)}
	}
	if r := w.Revoke; r != nil {
		m.Revoke = &Revoke{OriginalMessageID: string(r.OriginalMessageID)}
	}
	if e := w.Edit; e != nil {
		m.Edit = &Edit{OriginalMessageID: string(e.OriginalMessageID)}
		if e.Message != nil && depth < maxEditDepth {
			m.Edit.Message = e.Message.model(depth + 1)
		}
	}
	if c := w.Context; c != nil {
		m.Context = &Context{
			From:                string(c.From),
			ID:                  string(c.ID),
			Forwarded:           bool(c.Forwarded),
			FrequentlyForwarded: bool(c.FrequentlyForwarded),
		}
		if p := c.ReferredProduct; p != nil {
			m.Context.ReferredProduct = &ReferredProduct{
				CatalogID:         string(p.CatalogID),
				ProductRetailerID: string(p.ProductRetailerID),
			}
		}
	}
	if r := w.Referral; r != nil {
		m.Referral = &Referral{
			SourceURL:      string(r.SourceURL),
			SourceID:       string(r.SourceID),
			SourceType:     string(r.SourceType),
			Body:           string(r.Body),
			Headline:       string(r.Headline),
			MediaType:      string(r.MediaType),
			ImageURL:       string(r.ImageURL),
			VideoURL:       string(r.VideoURL),
			ThumbnailURL:   string(r.ThumbnailURL),
			CtwaClid:       string(r.CtwaClid),
			WelcomeMessage: string(r.WelcomeMessage.Text),
		}
	}
	if id := w.Identity; id != nil {
		m.Identity = &Identity{
			Acknowledged:     bool(id.Acknowledged),
			CreatedTimestamp: id.CreatedTimestamp.Time(),
			Hash:             string(id.Hash),
		}
	}
	return m
}

func (w *wireMedia) model() *Media {
	if w == nil {
		return nil
	}
	return &Media{
		ID:       string(w.ID),
		MimeType: string(w.MimeType),
		SHA256:   string(w.SHA256),
		Caption:  string(w.Caption),
		Filename: string(w.Filename),
		URL:      string(w.URL),
		Voice:    bool(w.Voice),
		Animated: bool(w.Animated),
	}
}

func (w *wireReplyOption) model() *ReplyOption {
	if w == nil {
		return nil
	}
	return &ReplyOption{ID: string(w.ID), Title: string(w.Title), Description: string(w.Description)}
}

func (w *wireSharedContact) model() SharedContact {
	c := SharedContact{
		Name: ContactName{
			FormattedName: string(w.Name.FormattedName),
			FirstName:     string(w.Name.FirstName),
			LastName:      string(w.Name.LastName),
			MiddleName:    string(w.Name.MiddleName),
			Prefix:        string(w.Name.Prefix),
			Suffix:        string(w.Name.Suffix),
		},
		Org: ContactOrg{
			Company:    string(w.Org.Company),
			Department: string(w.Org.Department),
			Title:      string(w.Org.Title),
		},
		Birthday: string(w.Birthday),
	}
	for _, p := range w.Phones {
		c.Phones = append(c.Phones, ContactPhone{Phone: string(p.Phone), WAID: string(p.WAID), Type: string(p.Type)})
	}
	for _, e := range w.Emails {
		c.Emails = append(c.Emails, ContactEmail{Email: string(e.Email), Type: string(e.Type)})
	}
	for _, a := range w.Addresses {
		c.Addresses = append(c.Addresses, ContactAddress{
			Street:      string(a.Street),
			City:        string(a.City),
			State:       string(a.State),
			Zip:         string(a.Zip),
			Country:     string(a.Country),
			CountryCode: string(a.CountryCode),
			Type:        string(a.Type),
		})
	}
	for _, u := range w.URLs {
		c.URLs = append(c.URLs, ContactURL{URL: string(u.URL), Type: string(u.Type)})
	}
	return c
}

func (w *wireError) model() Error {
	return Error{
		Code:    int64(w.Code),
		Title:   string(w.Title),
		Message: string(w.Message),
		Details: string(w.ErrorData.Details),
		Href:    string(w.Href),
	}
}

func errorsModel(ws []wireError) []Error {
	if len(ws) == 0 {
		return nil
	}
	out := make([]Error, len(ws))
	for i := range ws {
		out[i] = ws[i].model()
	}
	return out
}

func (w *wireStatus) model() *Status {
	s := &Status{
		ID:                               string(w.ID),
		Status:                           string(w.Status),
		Timestamp:                        w.Timestamp.Time(),
		RecipientID:                      string(w.RecipientID),
		RecipientUserID:                  string(w.RecipientUserID),
		RecipientParentUserID:            string(w.RecipientParentUserID),
		RecipientType:                    string(w.RecipientType),
		RecipientParticipantID:           string(w.RecipientParticipantID),
		RecipientParticipantUserID:       string(w.RecipientParticipantUserID),
		RecipientParticipantParentUserID: string(w.RecipientParticipantParentUserID),
		RecipientIdentityKeyHash:         string(w.RecipientIdentityKeyHash),
		BizOpaqueCallbackData:            string(w.BizOpaqueCallbackData),
		Errors:                           errorsModel(w.Errors),
	}
	if c := w.Conversation; c != nil {
		s.Conversation = &Conversation{
			ID:                  string(c.ID),
			ExpirationTimestamp: c.ExpirationTimestamp.Time(),
			OriginType:          string(c.Origin.Type),
		}
	}
	if p := w.Pricing; p != nil {
		s.Pricing = &Pricing{
			Billable:     bool(p.Billable),
			PricingModel: string(p.PricingModel),
			Type:         string(p.Type),
			Category:     string(p.Category),
		}
	}
	return s
}
