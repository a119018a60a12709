package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// migration is one versioned schema change, written for each backend.
type migration struct {
	version  int
	name     string
	sqlite   string
	postgres string
}

// migrations are applied in order and never edited once released: a change
// to the schema is a new entry.
var migrations = []migration{
	{
		version: 1,
		name:    "inbox, conversations, dead letters",
		sqlite: `
CREATE TABLE conversations (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	source              TEXT    NOT NULL,
	account             TEXT    NOT NULL,
	contact             TEXT    NOT NULL,
	created_at_ms       INTEGER NOT NULL,
	last_event_at_ms    INTEGER NOT NULL,
	lease_owner         TEXT,
	lease_expires_at_ms INTEGER NOT NULL DEFAULT 0,
	job_queued          INTEGER NOT NULL DEFAULT 0,
	UNIQUE (source, account, contact)
);
CREATE TABLE inbox_events (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	source          TEXT    NOT NULL,
	kind            TEXT    NOT NULL,
	key             TEXT    NOT NULL,
	conversation_id INTEGER NOT NULL REFERENCES conversations (id),
	occurred_at_ms  INTEGER NOT NULL,
	received_at_ms  INTEGER NOT NULL,
	payload         BLOB    NOT NULL,
	state           TEXT    NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at_ms BIGINT NOT NULL DEFAULT 0,
	duplicates      INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT,
	done_at_ms      INTEGER,
	UNIQUE (source, kind, key)
);
CREATE INDEX inbox_events_pending ON inbox_events (conversation_id, occurred_at_ms, id) WHERE state = 'pending';
CREATE INDEX inbox_events_state ON inbox_events (state, received_at_ms);
CREATE TABLE dead_letters (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id        INTEGER NOT NULL UNIQUE REFERENCES inbox_events (id),
	conversation_id INTEGER NOT NULL,
	source          TEXT    NOT NULL,
	kind            TEXT    NOT NULL,
	key             TEXT    NOT NULL,
	reason          TEXT    NOT NULL,
	error           TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	created_at_ms   INTEGER NOT NULL
);`,
		postgres: `
CREATE TABLE conversations (
	id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source              TEXT   NOT NULL,
	account             TEXT   NOT NULL,
	contact             TEXT   NOT NULL,
	created_at_ms       BIGINT NOT NULL,
	last_event_at_ms    BIGINT NOT NULL,
	lease_owner         TEXT,
	lease_expires_at_ms BIGINT NOT NULL DEFAULT 0,
	job_queued          INTEGER NOT NULL DEFAULT 0,
	UNIQUE (source, account, contact)
);
CREATE TABLE inbox_events (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source          TEXT   NOT NULL,
	kind            TEXT   NOT NULL,
	key             TEXT   NOT NULL,
	conversation_id BIGINT NOT NULL REFERENCES conversations (id),
	occurred_at_ms  BIGINT NOT NULL,
	received_at_ms  BIGINT NOT NULL,
	payload         BYTEA  NOT NULL,
	state           TEXT   NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at_ms BIGINT NOT NULL DEFAULT 0,
	duplicates      INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT,
	done_at_ms      BIGINT,
	UNIQUE (source, kind, key)
);
CREATE INDEX inbox_events_pending ON inbox_events (conversation_id, occurred_at_ms, id) WHERE state = 'pending';
CREATE INDEX inbox_events_state ON inbox_events (state, received_at_ms);
CREATE TABLE dead_letters (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id        BIGINT NOT NULL UNIQUE REFERENCES inbox_events (id),
	conversation_id BIGINT NOT NULL,
	source          TEXT   NOT NULL,
	kind            TEXT   NOT NULL,
	key             TEXT   NOT NULL,
	reason          TEXT   NOT NULL,
	error           TEXT   NOT NULL,
	attempts        INTEGER NOT NULL,
	created_at_ms   BIGINT NOT NULL
);`,
	},
	{
		version: 2,
		name:    "whatsapp template cache",
		sqlite: `
CREATE TABLE whatsapp_templates (
	waba_id       TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	language      TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	category      TEXT    NOT NULL,
	data          BLOB    NOT NULL,
	updated_at_ms INTEGER NOT NULL,
	PRIMARY KEY (waba_id, name, language)
);`,
		postgres: `
CREATE TABLE whatsapp_templates (
	waba_id       TEXT   NOT NULL,
	name          TEXT   NOT NULL,
	language      TEXT   NOT NULL,
	status        TEXT   NOT NULL,
	category      TEXT   NOT NULL,
	data          BYTEA  NOT NULL,
	updated_at_ms BIGINT NOT NULL,
	PRIMARY KEY (waba_id, name, language)
);`,
	},
	{
		version: 3,
		name:    "effects: vendor writes keyed by their source id",
		sqlite: `
CREATE TABLE effects (
	source        TEXT    NOT NULL,
	key           TEXT    NOT NULL,
	target        TEXT    NOT NULL,
	state         TEXT    NOT NULL,
	result_id     TEXT    NOT NULL DEFAULT '',
	ref           TEXT    NOT NULL DEFAULT '',
	attempts      INTEGER NOT NULL DEFAULT 1,
	created_at_ms INTEGER NOT NULL,
	updated_at_ms INTEGER NOT NULL,
	PRIMARY KEY (source, key, target)
);`,
		postgres: `
CREATE TABLE effects (
	source        TEXT    NOT NULL,
	key           TEXT    NOT NULL,
	target        TEXT    NOT NULL,
	state         TEXT    NOT NULL,
	result_id     TEXT    NOT NULL DEFAULT '',
	ref           TEXT    NOT NULL DEFAULT '',
	attempts      INTEGER NOT NULL DEFAULT 1,
	created_at_ms BIGINT  NOT NULL,
	updated_at_ms BIGINT  NOT NULL,
	PRIMARY KEY (source, key, target)
);`,
	},
	{
		version: 4,
		name:    "engine: identities, chats, their tickets, sent messages, effect batches",
		sqlite: `
CREATE TABLE identities (
	helpdesk      TEXT   NOT NULL,
	alias         TEXT   NOT NULL,
	contact_id    TEXT   NOT NULL,
	created_at_ms INTEGER NOT NULL,
	PRIMARY KEY (helpdesk, alias)
);
CREATE INDEX identities_contact ON identities (helpdesk, contact_id);
CREATE TABLE chats (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	phone_number_id     TEXT   NOT NULL,
	contact_key         TEXT   NOT NULL,
	helpdesk            TEXT   NOT NULL,
	contact_id          TEXT   NOT NULL DEFAULT '',
	wa_id               TEXT   NOT NULL DEFAULT '',
	user_id             TEXT   NOT NULL DEFAULT '',
	name                TEXT   NOT NULL DEFAULT '',
	ticket_id           TEXT   NOT NULL DEFAULT '',
	ticket_status       TEXT   NOT NULL DEFAULT '',
	ticket_checked_at_ms INTEGER NOT NULL DEFAULT 0,
	last_activity_ms    INTEGER NOT NULL DEFAULT 0,
	last_customer_ms    INTEGER NOT NULL DEFAULT 0,
	opted_out_at_ms     INTEGER NOT NULL DEFAULT 0,
	opt_out_reason      TEXT   NOT NULL DEFAULT '',
	created_at_ms       INTEGER NOT NULL,
	updated_at_ms       INTEGER NOT NULL,
	UNIQUE (phone_number_id, contact_key)
);
CREATE INDEX chats_contact ON chats (phone_number_id, helpdesk, contact_id);
CREATE TABLE chat_tickets (
	helpdesk      TEXT   NOT NULL,
	ticket_id     TEXT   NOT NULL,
	chat_id       INTEGER NOT NULL,
	created_at_ms INTEGER NOT NULL,
	PRIMARY KEY (helpdesk, ticket_id)
);
CREATE TABLE sent_messages (
	wamid         TEXT   PRIMARY KEY,
	callback      TEXT   NOT NULL DEFAULT '',
	chat_id       INTEGER NOT NULL DEFAULT 0,
	helpdesk      TEXT   NOT NULL DEFAULT '',
	ticket_id     TEXT   NOT NULL DEFAULT '',
	comment_id    TEXT   NOT NULL DEFAULT '',
	status        TEXT   NOT NULL DEFAULT '',
	status_rank   INTEGER NOT NULL DEFAULT 0,
	status_at_ms  INTEGER NOT NULL DEFAULT 0,
	error_code    TEXT   NOT NULL DEFAULT '',
	error_title   TEXT   NOT NULL DEFAULT '',
	created_at_ms INTEGER NOT NULL,
	updated_at_ms INTEGER NOT NULL
);
CREATE INDEX sent_messages_callback ON sent_messages (callback);
CREATE INDEX sent_messages_chat ON sent_messages (chat_id, created_at_ms);
ALTER TABLE effects ADD COLUMN batch TEXT NOT NULL DEFAULT '';
CREATE INDEX effects_batch ON effects (source, target, batch);`,
		postgres: `
CREATE TABLE identities (
	helpdesk      TEXT   NOT NULL,
	alias         TEXT   NOT NULL,
	contact_id    TEXT   NOT NULL,
	created_at_ms BIGINT NOT NULL,
	PRIMARY KEY (helpdesk, alias)
);
CREATE INDEX identities_contact ON identities (helpdesk, contact_id);
CREATE TABLE chats (
	id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	phone_number_id     TEXT   NOT NULL,
	contact_key         TEXT   NOT NULL,
	helpdesk            TEXT   NOT NULL,
	contact_id          TEXT   NOT NULL DEFAULT '',
	wa_id               TEXT   NOT NULL DEFAULT '',
	user_id             TEXT   NOT NULL DEFAULT '',
	name                TEXT   NOT NULL DEFAULT '',
	ticket_id           TEXT   NOT NULL DEFAULT '',
	ticket_status       TEXT   NOT NULL DEFAULT '',
	ticket_checked_at_ms BIGINT NOT NULL DEFAULT 0,
	last_activity_ms    BIGINT NOT NULL DEFAULT 0,
	last_customer_ms    BIGINT NOT NULL DEFAULT 0,
	opted_out_at_ms     BIGINT NOT NULL DEFAULT 0,
	opt_out_reason      TEXT   NOT NULL DEFAULT '',
	created_at_ms       BIGINT NOT NULL,
	updated_at_ms       BIGINT NOT NULL,
	UNIQUE (phone_number_id, contact_key)
);
CREATE INDEX chats_contact ON chats (phone_number_id, helpdesk, contact_id);
CREATE TABLE chat_tickets (
	helpdesk      TEXT   NOT NULL,
	ticket_id     TEXT   NOT NULL,
	chat_id       BIGINT NOT NULL,
	created_at_ms BIGINT NOT NULL,
	PRIMARY KEY (helpdesk, ticket_id)
);
CREATE TABLE sent_messages (
	wamid         TEXT   PRIMARY KEY,
	callback      TEXT   NOT NULL DEFAULT '',
	chat_id       BIGINT NOT NULL DEFAULT 0,
	helpdesk      TEXT   NOT NULL DEFAULT '',
	ticket_id     TEXT   NOT NULL DEFAULT '',
	comment_id    TEXT   NOT NULL DEFAULT '',
	status        TEXT   NOT NULL DEFAULT '',
	status_rank   INTEGER NOT NULL DEFAULT 0,
	status_at_ms  BIGINT NOT NULL DEFAULT 0,
	error_code    TEXT   NOT NULL DEFAULT '',
	error_title   TEXT   NOT NULL DEFAULT '',
	created_at_ms BIGINT NOT NULL,
	updated_at_ms BIGINT NOT NULL
);
CREATE INDEX sent_messages_callback ON sent_messages (callback);
CREATE INDEX sent_messages_chat ON sent_messages (chat_id, created_at_ms);
ALTER TABLE effects ADD COLUMN batch TEXT NOT NULL DEFAULT '';
CREATE INDEX effects_batch ON effects (source, target, batch);`,
	},
	{
		version: 5,
		name:    "rate governors: shared buckets, messaging-tier recipients",
		sqlite: `
CREATE TABLE rate_buckets (
	key    TEXT   PRIMARY KEY,
	tat_us INTEGER NOT NULL
);
CREATE TABLE tier_recipients (
	portfolio  TEXT   NOT NULL,
	recipient  TEXT   NOT NULL,
	sent_at_ms INTEGER NOT NULL,
	PRIMARY KEY (portfolio, recipient)
);
CREATE INDEX tier_recipients_time ON tier_recipients (portfolio, sent_at_ms);`,
		postgres: `
CREATE TABLE rate_buckets (
	key    TEXT   PRIMARY KEY,
	tat_us BIGINT NOT NULL
);
CREATE TABLE tier_recipients (
	portfolio  TEXT   NOT NULL,
	recipient  TEXT   NOT NULL,
	sent_at_ms BIGINT NOT NULL,
	PRIMARY KEY (portfolio, recipient)
);
CREATE INDEX tier_recipients_time ON tier_recipients (portfolio, sent_at_ms);`,
	},
}

// SchemaVersion is the schema version this build expects.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS deskbridge_migrations (
	version       INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL,
	applied_at_ms BIGINT  NOT NULL
)`

// migrate applies every migration not yet applied, each in its own
// transaction. On Postgres an advisory lock serializes replicas that start
// together.
func (s *Store) migrate(ctx context.Context) error {
	for _, m := range migrations {
		err := s.WithTx(ctx, func(tx *Tx) error {
			if s.kind == Postgres {
				if _, err := tx.q.exec(ctx, "SELECT pg_advisory_xact_lock(7412093)"); err != nil {
					return err
				}
			}
			if _, err := tx.q.exec(ctx, createMigrationsTable); err != nil {
				return err
			}
			var one int
			err := tx.q.queryRow(ctx, "SELECT 1 FROM deskbridge_migrations WHERE version = ?", m.version).Scan(&one)
			if err == nil {
				return nil // applied already
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			body := m.sqlite
			if s.kind == Postgres {
				body = m.postgres
			}
			for _, stmt := range strings.Split(body, ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.q.exec(ctx, stmt); err != nil {
					return err
				}
			}
			_, err = tx.q.exec(ctx, "INSERT INTO deskbridge_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
				m.version, m.name, ms(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// AppliedVersion returns the highest applied schema version (0 when none).
func (s *Store) AppliedVersion(ctx context.Context) (int, error) {
	if ok, err := s.tableExists(ctx, "deskbridge_migrations"); err != nil || !ok {
		return 0, err
	}
	var v sql.NullInt64
	err := s.q.queryRow(ctx, "SELECT MAX(version) FROM deskbridge_migrations").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// CheckSchema returns an error unless every migration of this build has
// been applied.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.AppliedVersion(ctx)
	if err != nil {
		return err
	}
	if v < SchemaVersion() {
		return fmt.Errorf("store: schema version %d, want %d: run `deskbridge serve` once to migrate", v, SchemaVersion())
	}
	return nil
}

// WithMigrationLock runs fn while holding the lock that serializes schema
// migrations across replicas (a Postgres advisory lock; SQLite needs none).
func (s *Store) WithMigrationLock(ctx context.Context, fn func() error) error {
	if s.kind != Postgres {
		return fn()
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: migration lock: %w: %w", ErrUnreachable, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7412094)"); err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7412094)") }()
	return fn()
}
