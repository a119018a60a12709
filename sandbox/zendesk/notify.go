package zendesk

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// viaNames are the texts {{ticket.via}} renders.
var viaNames = map[int]string{ViaWebForm: "Web Form", ViaWebService: "Web Service"}

// notifyWebhookLocked renders a trigger's body for ev and queues the signed
// request to the webhook. s.mu is held.
func (s *Server) notifyWebhookLocked(tr *trigger, hookID, tmpl string, ev *updateEvent) {
	w := s.webhooks[hookID]
	if w == nil || w.Status != "active" {
		s.log.Warn("trigger webhook missing or inactive", slog.Int64("trigger_id", tr.ID), slog.String("webhook_id", hookID))
		return
	}
	sc := s.scopeLocked(ev)
	if w.RequestFormat == "json" {
		sc.escape = jsonEscape
	}
	body := renderTemplate(tmpl, sc)
	if w.HTTPMethod == http.MethodGet || w.HTTPMethod == http.MethodDelete {
		body = "" // no body; the signature covers the empty body sent
	}
	if len(sc.unknown) > 0 {
		s.log.Debug("unknown placeholders rendered empty", slog.Int64("trigger_id", tr.ID),
			slog.Any("placeholders", slices.Sorted(maps.Keys(sc.unknown))))
	}
	h := http.Header{}
	h.Set("Content-Type", map[string]string{"json": "application/json", "xml": "application/xml",
		"form_encoded": "application/x-www-form-urlencoded"}[w.RequestFormat])
	if a := w.Auth; a != nil {
		str := func(k string) string { return valueString(a.Data[k]) }
		switch a.Type {
		case "basic_auth":
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(str("username")+":"+str("password"))))
		case "bearer_token":
			h.Set("Authorization", "Bearer "+str("token"))
		case "api_key":
			if name := str("name"); name != "" {
				h.Set(name, str("value"))
			}
		}
	}
	for k, v := range w.CustomHeaders {
		h.Set(k, v)
	}
	rec := &Delivery{WebhookID: w.ID, TriggerID: tr.ID, TicketID: ev.t.ID, Method: w.HTTPMethod, URL: w.Endpoint, Body: body}
	s.em.enqueue(rec, w.Secret, h, []byte(body))
}

// scopeLocked builds the placeholder values for ev. s.mu is held.
func (s *Server) scopeLocked(ev *updateEvent) *scope {
	t := ev.t
	base := ev.wr.base
	if base == "" {
		base = s.baseLocked()
	}
	host := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
	tags := strings.Join(t.Tags, " ")
	sc := &scope{vars: map[string]string{
		"ticket.id":                        strconv.FormatInt(t.ID, 10),
		"ticket.external_id":               t.ExternalID,
		"ticket.title":                     t.Subject,
		"ticket.status":                    titleCase(t.Status),
		"ticket.priority":                  titleCase(t.Priority),
		"ticket.ticket_type":               titleCase(t.Type),
		"ticket.via":                       viaNames[t.ViaID],
		"ticket.tags":                      tags,
		"ticket.link":                      fmt.Sprintf("%s/agent/tickets/%d", host, t.ID),
		"ticket.url":                       fmt.Sprintf("%s/agent/tickets/%d", host, t.ID),
		"ticket.url_with_protocol":         fmt.Sprintf("%s/agent/tickets/%d", base, t.ID),
		"ticket.created_at":                t.CreatedAt.Format("Jan 2, 2006"),
		"ticket.updated_at":                t.UpdatedAt.Format("Jan 2, 2006"),
		"ticket.created_at_with_timestamp": stamp(t.CreatedAt),
		"ticket.updated_at_with_timestamp": stamp(t.UpdatedAt),
		"ticket.account":                   "Deskbridge Sandbox",
	}, lists: map[string][]map[string]string{}, escape: func(v string) string { return v }, unknown: map[string]bool{}}
	if len(t.Comments) > 0 {
		sc.vars["ticket.description"] = t.Comments[0].Body
	}
	for _, p := range []struct {
		name string
		id   *int64
	}{{"brand", t.BrandID}, {"group", t.GroupID}} {
		if p.id != nil {
			sc.vars["ticket."+p.name+".id"] = strconv.FormatInt(*p.id, 10)
		}
	}
	for _, f := range t.CustomFields {
		sc.vars[fmt.Sprintf("ticket.ticket_field_%d", f.ID)] = valueString(f.Value)
	}
	s.userVarsLocked(sc, "ticket.requester", t.RequesterID)
	s.userVarsLocked(sc, "ticket.submitter", t.SubmitterID)
	if t.AssigneeID != nil {
		s.userVarsLocked(sc, "ticket.assignee", *t.AssigneeID)
	}
	s.userVarsLocked(sc, "current_user", ev.wr.userID)
	var latest, latestPublic *comment
	for _, cm := range t.Comments {
		latest = cm
		if cm.Public {
			latestPublic = cm
		}
	}
	s.commentVarsLocked(sc, base, "ticket.latest_comment", latest)
	s.commentVarsLocked(sc, base, "ticket.latest_public_comment", latestPublic)
	return sc
}

// userVarsLocked adds prefix.{id,name,first_name,last_name,email,phone,
// external_id,role,details,notes,language,tags}. s.mu is held.
func (s *Server) userVarsLocked(sc *scope, prefix string, id int64) {
	u := s.users[id]
	if u == nil {
		return
	}
	first, last, _ := strings.Cut(u.Name, " ")
	for k, v := range map[string]string{"": u.Name, ".id": strconv.FormatInt(u.ID, 10), ".name": u.Name,
		".first_name": first, ".last_name": last, ".email": u.Email, ".phone": u.Phone, ".external_id": u.ExternalID,
		".role": u.Role, ".details": u.Details, ".notes": u.Notes, ".language": "English",
		".tags": strings.Join(u.Tags, " ")} {
		sc.vars[prefix+k] = v
	}
}

// commentVarsLocked adds prefix (the body), prefix.{value,id,is_public,
// created_at,created_at_with_time,author.*} and the list prefix.attachments
// ({filename,url,content_type,size}). s.mu is held.
func (s *Server) commentVarsLocked(sc *scope, base, prefix string, cm *comment) {
	if cm == nil {
		return
	}
	for k, v := range map[string]string{"": cm.Body, ".value": cm.Body, ".id": strconv.FormatInt(cm.ID, 10),
		".is_public": strconv.FormatBool(cm.Public), ".created_at": cm.CreatedAt.Format("Jan 2, 2006"),
		".created_at_with_time": cm.CreatedAt.Format("Jan 2, 2006, 15:04")} {
		sc.vars[prefix+k] = v
	}
	s.userVarsLocked(sc, prefix+".author", cm.AuthorID)
	list := make([]map[string]string, 0, len(cm.Attachments))
	for _, a := range cm.Attachments {
		list = append(list, map[string]string{"filename": a.FileName, "content_type": a.ContentType,
			"size": strconv.Itoa(len(a.Data)), "id": strconv.FormatInt(a.ID, 10),
			"url": fmt.Sprintf("%s/attachments/token/%s/?name=%s", base, a.Token, url.QueryEscape(a.FileName))})
	}
	sc.lists[prefix+".attachments"] = list
}
