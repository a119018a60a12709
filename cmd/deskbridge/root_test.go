package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRunVersion(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(t, "version")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "deskbridge dev ") {
		t.Errorf("stdout = %q, want it to start with %q", stdout, "deskbridge dev ")
	}
	if !strings.Contains(stdout, runtime.Version()) {
		t.Errorf("stdout = %q, want the Go version %s", stdout, runtime.Version())
	}
	if lines := nonEmptyLines(stdout); len(lines) != 1 {
		t.Errorf("stdout has %d lines, want 1: %q", len(lines), stdout)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
}

func TestRunBadCommandLine(t *testing.T) {
	t.Parallel()
	example := examplePath
	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"unknown command", []string{"frobnicate"}, []string{"deskbridge", `unknown command "frobnicate"`}},
		{"unknown flag", []string{"version", "--frobnicate"}, []string{"deskbridge", "unknown flag: --frobnicate"}},
		{"unknown subcommand flag", []string{"status", "--config", example, "--yaml"}, []string{"unknown flag: --yaml"}},
		{"extra argument", []string{"version", "extra"}, []string{"deskbridge", `unknown command "extra"`}},
		{"extra argument to validate", []string{"config", "validate", "--config", example, "extra"}, []string{"deskbridge", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr = %q, want it to contain %q", stderr, w)
				}
			}
		})
	}
}

// TestRunMistypedCommand checks the suggestion cobra adds to a mistyped
// command: the first line is still the error, and there is no stack trace.
func TestRunMistypedCommand(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(t, "serv")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkNoPanic(t, stdout+stderr)
	if stdout != "" {
		t.Errorf("stdout = %q, want empty", stdout)
	}
	lines := nonEmptyLines(stderr)
	if want := `deskbridge: unknown command "serv" for "deskbridge"`; len(lines) == 0 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("stderr = %q, want its first line to start with %q", stderr, want)
	}
	if !strings.Contains(stderr, "serve") {
		t.Errorf("stderr = %q, want the suggestion serve", stderr)
	}
}

// TestRunNoConfig cannot be parallel: it clears DESKBRIDGE_CONFIG.
func TestRunNoConfig(t *testing.T) {
	t.Setenv("DESKBRIDGE_CONFIG", "")
	for _, args := range [][]string{
		{"config", "validate"},
		{"config", "print"},
		{"status"},
		{"status", "--json"},
		{"serve"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, args...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			for _, w := range []string{"--config", "DESKBRIDGE_CONFIG"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr = %q, want it to name %s", stderr, w)
				}
			}
		})
	}
}

func TestRunMissingConfigFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, args := range [][]string{
		{"config", "validate"},
		{"config", "print"},
		{"status"},
		{"serve"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, append(args, "--config", missing)...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			if !strings.Contains(stderr, missing) {
				t.Errorf("stderr = %q, want it to name %s", stderr, missing)
			}
			if !strings.HasPrefix(stderr, "deskbridge: ") {
				t.Errorf("stderr = %q, want the prefix %q", stderr, "deskbridge: ")
			}
		})
	}
}

func TestRunConfigNotYAML(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "broken.yaml", "store: [unclosed\n")
	code, stdout, stderr := runCmd(t, "config", "validate", "--config", p)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	if !strings.Contains(stderr, p) {
		t.Errorf("stderr = %q, want it to name %s", stderr, p)
	}
}

// TestRunConfigFromEnv cannot be parallel: it sets DESKBRIDGE_CONFIG.
func TestRunConfigFromEnv(t *testing.T) {
	t.Run("used when --config is absent", func(t *testing.T) {
		t.Setenv("DESKBRIDGE_CONFIG", examplePath)
		code, stdout, stderr := runCmd(t, "config", "validate")
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
		}
		if want := examplePath + ": valid\n"; stdout != want {
			t.Errorf("stdout = %q, want %q", stdout, want)
		}
	})
	t.Run("names the file from the environment", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "from-env.yaml")
		t.Setenv("DESKBRIDGE_CONFIG", missing)
		code, stdout, stderr := runCmd(t, "config", "validate")
		if code != 1 {
			t.Errorf("exit code = %d, want 1", code)
		}
		checkOneLineError(t, stdout, stderr)
		if !strings.Contains(stderr, missing) {
			t.Errorf("stderr = %q, want it to name %s", stderr, missing)
		}
	})
	t.Run("--config wins over the environment", func(t *testing.T) {
		t.Setenv("DESKBRIDGE_CONFIG", filepath.Join(t.TempDir(), "ignored.yaml"))
		code, stdout, stderr := runCmd(t, "config", "validate", "--config", examplePath)
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
		}
		if want := examplePath + ": valid\n"; stdout != want {
			t.Errorf("stdout = %q, want %q", stdout, want)
		}
	})
}
