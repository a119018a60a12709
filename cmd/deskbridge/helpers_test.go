package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// examplePath is the example configuration shipped with the repository.
const examplePath = "../../examples/minimal.yaml"

// exampleStoreURL is the store URL written in examplePath.
const exampleStoreURL = "sqlite://deskbridge.db"

// syncBuffer is a bytes.Buffer safe for the concurrent writes and reads of
// a command running in a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCmd runs the command line args with a bounded context and returns the
// exit code and what was written to stdout and stderr.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes content to name in a fresh temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// exampleConfig returns the text of examples/minimal.yaml with the store URL
// replaced by storeURL and then each old→new pair of replace applied once.
func exampleConfig(t *testing.T, storeURL string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, exampleStoreURL) {
		t.Fatalf("%s no longer contains %q; update the test helper", examplePath, exampleStoreURL)
	}
	s = strings.Replace(s, exampleStoreURL, storeURL, 1)
	if len(replace)%2 != 0 {
		t.Fatal("exampleConfig: odd number of replace arguments")
	}
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("%s does not contain %q; update the test", examplePath, replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	return s
}

// sqliteURL returns a sqlite:// URL for a file that does not exist yet in a
// temporary directory, and that file's path.
func sqliteURL(t *testing.T) (url, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "deskbridge.db")
	return "sqlite://" + path, path
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// nonEmptyLines splits s into lines, dropping empty ones.
func nonEmptyLines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// checkOneLineError checks that stderr is a single line, with no Go panic or
// stack trace, and that stdout is empty.
func checkOneLineError(t *testing.T, stdout, stderr string) {
	t.Helper()
	checkNoPanic(t, stdout+stderr)
	if lines := nonEmptyLines(stderr); len(lines) != 1 {
		t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), stderr)
	}
	if !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr does not end in a newline: %q", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want empty", stdout)
	}
}

// stackFrameRE matches a stack trace's file:line, such as "root.go:42".
var stackFrameRE = regexp.MustCompile(`\.go:[0-9]+`)

// checkNoPanic fails if out looks like a Go panic or stack trace.
func checkNoPanic(t *testing.T, out string) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic", "runtime error"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q, looks like a crash:\n%s", bad, out)
		}
	}
	if m := stackFrameRE.FindString(out); m != "" {
		t.Errorf("output contains %q, looks like a stack trace:\n%s", m, out)
	}
}
