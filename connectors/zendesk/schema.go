package zendesk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/deskbridge/deskbridge/connectors"
)

var _ connectors.SchemaReader = (*Client)(nil)

// Schema reads what the account has that a mapping refers to by id, every
// page of each list:
//
//   - ticket fields, system and custom: GET /api/v2/ticket_fields (cursor
//     pages of 100, in id order);
//   - user fields: GET /api/v2/user_fields (cursor pages);
//   - groups: GET /api/v2/groups (cursor pages; deleted groups are left
//     out by Zendesk);
//   - brands: GET /api/v2/brands (cursor pages);
//   - ticket forms: GET /api/v2/ticket_forms (one answer: Zendesk does not
//     paginate forms).
//
// Pages are followed through links.next, meta.after_cursor or an offset
// answer's next_page, on the account's own host only. A list longer than
// maxPages pages is an error rather than a silently truncated schema.
// Options are a drop-down's option values (the tags Zendesk stores) and a
// system field's values (priority: low, normal…). A field whose "active" is
// absent counts as active.
func (c *Client) Schema(ctx context.Context) (*connectors.Schema, error) {
	s := &connectors.Schema{}
	tf, err := listAll[wireField](ctx, c, "list_ticket_fields", "/api/v2/ticket_fields", "ticket_fields", true)
	if err != nil {
		return nil, err
	}
	for _, f := range tf {
		s.TicketFields = append(s.TicketFields, f.field(f.Removable != nil && !*f.Removable))
	}
	uf, err := listAll[wireField](ctx, c, "list_user_fields", "/api/v2/user_fields", "user_fields", true)
	if err != nil {
		return nil, err
	}
	for _, f := range uf {
		s.UserFields = append(s.UserFields, f.field(bool(f.System)))
	}
	groups, err := listAll[wireGroup](ctx, c, "list_groups", "/api/v2/groups", "groups", true)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		s.Groups = append(s.Groups, connectors.NamedID{ID: string(g.ID), Name: g.Name, Active: !bool(g.Deleted)})
	}
	brands, err := listAll[wireBrand](ctx, c, "list_brands", "/api/v2/brands", "brands", true)
	if err != nil {
		return nil, err
	}
	for _, b := range brands {
		s.Brands = append(s.Brands, connectors.NamedID{ID: string(b.ID), Name: b.Name,
			Active: activeOr(b.Active) && !bool(b.IsDeleted)})
	}
	forms, err := listAll[wireForm](ctx, c, "list_ticket_forms", "/api/v2/ticket_forms", "ticket_forms", false)
	if err != nil {
		return nil, err
	}
	for _, f := range forms {
		s.Forms = append(s.Forms, connectors.NamedID{ID: string(f.ID), Name: f.Name, Active: activeOr(f.Active)})
	}
	return s, nil
}

// listAll reads every page of the list at path whose items are under root.
// With cursor it asks for cursor pages of 100 (page[size]); either way it
// follows whatever next page the answer names (see nextPage).
func listAll[T any](ctx context.Context, c *Client, op, path, root string, cursor bool) ([]T, error) {
	first := url.Values{}
	if cursor {
		first.Set("page[size]", "100")
	}
	var all []T
	p, query := path, first
	for range maxPages {
		var page listPage
		resp, err := c.call(ctx, op, &connectors.Request{Method: http.MethodGet, Path: p, Query: query}, nil, &page)
		if err != nil {
			return nil, err
		}
		raw, ok := page.rest[root]
		if !ok {
			return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
				Message: fmt.Sprintf("unexpected response body: no %q list", root)}
		}
		var items []T
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
				Message: "unexpected response body", Err: err}
		}
		all = append(all, items...)
		next, after, err := c.nextPage(op, page.Meta, page.Links, page.NextPage)
		switch {
		case err != nil:
			return nil, err
		case next != "":
			p, query = next, nil
		case after != "":
			p, query = path, url.Values{"page[size]": {"100"}, "page[after]": {after}}
		default:
			return all, nil
		}
	}
	return nil, &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op,
		Message: fmt.Sprintf("more than %d pages of %s; stopped reading", maxPages, root)}
}

// activeOr reads an optional "active": absent counts as true.
func activeOr(b *bool) bool { return b == nil || *b }

// listPage is one page of a list: the pagination members, and the rest
// kept raw for the list itself, whose name varies.
type listPage struct {
	Meta     cursorMeta
	Links    cursorLinks
	NextPage *string
	rest     map[string]json.RawMessage
}

// UnmarshalJSON reads meta, links and next_page, and keeps every member.
func (p *listPage) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &p.rest); err != nil {
		return err
	}
	for name, dst := range map[string]any{"meta": &p.Meta, "links": &p.Links, "next_page": &p.NextPage} {
		if raw, ok := p.rest[name]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, dst); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

// wireField is a ticket field (TicketFieldObject) or a user field
// (UserFieldObject, a CustomFieldObject).
type wireField struct {
	ID                 flexID        `json:"id"`
	Key                string        `json:"key"` // user fields
	Type               string        `json:"type"`
	Title              string        `json:"title"`
	Active             *bool         `json:"active"`
	Removable          *bool         `json:"removable"` // ticket fields: false for system fields
	System             flexBool      `json:"system"`    // user fields
	CustomFieldOptions []fieldOption `json:"custom_field_options"`
	SystemFieldOptions []fieldOption `json:"system_field_options"`
}

// fieldOption is a CustomFieldOptionObject or a SystemFieldOptionObject.
type fieldOption struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// field converts f.
func (f wireField) field(system bool) connectors.Field {
	out := connectors.Field{ID: string(f.ID), Key: f.Key, Title: f.Title, Type: f.Type,
		Active: activeOr(f.Active), System: system}
	for _, o := range append(append([]fieldOption(nil), f.CustomFieldOptions...), f.SystemFieldOptions...) {
		out.Options = append(out.Options, o.Value)
	}
	return out
}

// wireGroup is a GroupObject.
type wireGroup struct {
	ID      flexID   `json:"id"`
	Name    string   `json:"name"`
	Deleted flexBool `json:"deleted"`
}

// wireBrand is a BrandObject.
type wireBrand struct {
	ID        flexID   `json:"id"`
	Name      string   `json:"name"`
	Active    *bool    `json:"active"`
	IsDeleted flexBool `json:"is_deleted"`
}

// wireForm is a TicketFormObject.
type wireForm struct {
	ID     flexID `json:"id"`
	Name   string `json:"name"`
	Active *bool  `json:"active"`
}
