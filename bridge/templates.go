package bridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/store"
)

// TemplateStore keeps WhatsApp template lists in the database, so every
// process (serve, send, templates list) shares the last synced list. It
// implements whatsapp.TemplateStore.
type TemplateStore struct{ st *store.Store }

// NewTemplateStore returns a TemplateStore over st.
func NewTemplateStore(st *store.Store) *TemplateStore { return &TemplateStore{st: st} }

// Load implements whatsapp.TemplateStore.
func (s *TemplateStore) Load(ctx context.Context, wabaID string) ([]whatsapp.Template, error) {
	rows, err := s.st.Templates(ctx, wabaID)
	if err != nil {
		return nil, err
	}
	out := make([]whatsapp.Template, 0, len(rows))
	for _, r := range rows {
		var t whatsapp.Template
		if err := json.Unmarshal(r.Data, &t); err != nil {
			return nil, fmt.Errorf("bridge: stored template %s/%s: %w", r.Name, r.Language, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Save implements whatsapp.TemplateStore.
func (s *TemplateStore) Save(ctx context.Context, wabaID string, ts []whatsapp.Template) error {
	rows := make([]store.TemplateRow, 0, len(ts))
	for _, t := range ts {
		data, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("bridge: encode template %s/%s: %w", t.Name, t.Language, err)
		}
		rows = append(rows, store.TemplateRow{WABAID: wabaID, Name: t.Name, Language: t.Language,
			Status: t.Status, Category: t.Category, Data: data})
	}
	return s.st.ReplaceTemplates(ctx, wabaID, rows)
}
