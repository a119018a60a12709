package store

import (
	"context"
	"fmt"
	"time"
)

// TemplateRow is one cached WhatsApp message template: its identity and
// status as columns, and the whole template as the vendor described it in
// Data (JSON).
type TemplateRow struct {
	WABAID    string
	Name      string
	Language  string
	Status    string
	Category  string
	Data      []byte
	UpdatedAt time.Time
}

// ReplaceTemplates makes rows the cached templates of the business
// account, in one transaction: templates no longer listed are removed.
func (s *Store) ReplaceTemplates(ctx context.Context, wabaID string, rows []TemplateRow) error {
	return s.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.exec(ctx, `DELETE FROM whatsapp_templates WHERE waba_id = ?`, wabaID); err != nil {
			return fmt.Errorf("store: replace templates: %w", err)
		}
		now := ms(s.now())
		for _, r := range rows {
			if _, err := tx.q.exec(ctx, `INSERT INTO whatsapp_templates
	(waba_id, name, language, status, category, data, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (waba_id, name, language) DO UPDATE SET status = excluded.status,
	category = excluded.category, data = excluded.data, updated_at_ms = excluded.updated_at_ms`,
				wabaID, r.Name, r.Language, r.Status, r.Category, r.Data, now); err != nil {
				return fmt.Errorf("store: save template %s/%s: %w", r.Name, r.Language, err)
			}
		}
		return nil
	})
}

// Templates returns the cached templates of the business account, by name
// and language.
func (s *Store) Templates(ctx context.Context, wabaID string) ([]TemplateRow, error) {
	rs, err := s.q.query(ctx, `SELECT waba_id, name, language, status, category, data, updated_at_ms
	FROM whatsapp_templates WHERE waba_id = ? ORDER BY name, language`, wabaID)
	if err != nil {
		return nil, fmt.Errorf("store: list templates: %w", err)
	}
	defer rs.Close()
	var out []TemplateRow
	for rs.Next() {
		var r TemplateRow
		var updated int64
		if err := rs.Scan(&r.WABAID, &r.Name, &r.Language, &r.Status, &r.Category, &r.Data, &updated); err != nil {
			return nil, fmt.Errorf("store: list templates: %w", err)
		}
		r.UpdatedAt = time.UnixMilli(updated)
		out = append(out, r)
	}
	return out, rs.Err()
}
