// Package storetest opens throwaway stores for tests: a SQLite file in a
// temporary directory, and, when DESKBRIDGE_TEST_DATABASE_URL is set, a
// fresh schema in that PostgreSQL database, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/deskbridge/deskbridge/store"
)

// EnvDatabaseURL names the variable holding the Postgres URL for tests.
const EnvDatabaseURL = "DESKBRIDGE_TEST_DATABASE_URL"

// Backends lists the backends to test: SQLite always, Postgres when
// DESKBRIDGE_TEST_DATABASE_URL is set.
func Backends() []store.Kind {
	kinds := []store.Kind{store.SQLite}
	if os.Getenv(EnvDatabaseURL) != "" {
		kinds = append(kinds, store.Postgres)
	}
	return kinds
}

// ForEach runs fn as a subtest for every backend of Backends, and notes
// in the test log when Postgres is skipped.
func ForEach(t *testing.T, fn func(t *testing.T, kind store.Kind)) {
	t.Helper()
	if os.Getenv(EnvDatabaseURL) == "" {
		t.Logf("postgres: skipped (set %s to run against PostgreSQL)", EnvDatabaseURL)
	}
	for _, k := range Backends() {
		t.Run(string(k), func(t *testing.T) { fn(t, k) })
	}
}

// URL returns a database URL for a fresh, empty database of kind, cleaned
// up when t ends.
func URL(t testing.TB, kind store.Kind) string {
	t.Helper()
	if kind == store.SQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "deskbridge.db")
	}
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		t.Skipf("postgres: set %s to run this test", EnvDatabaseURL)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("postgres %s: %v", EnvDatabaseURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvDatabaseURL, err)
	}
	qv := u.Query()
	qv.Set("search_path", schema)
	u.RawQuery = qv.Encode()
	return u.String()
}

// Open opens a fresh store of kind, closed when t ends.
func Open(t testing.TB, kind store.Kind, opts store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), URL(t, kind), opts)
	if err != nil {
		t.Fatalf("open %s store: %v", kind, err)
	}
	t.Cleanup(st.Close)
	return st
}
