//go:build contract

package opencode

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openCodeVersion is the pinned CLI the contract test runs.
const openCodeVersion = "1.18.33"

// openCodeBinary returns the pinned opencode binary: $HOTLINE_OPENCODE if
// set, else the npm install in ${HOTLINE_CACHE:-$HOME/.cache/hotline}/
// opencode-<version>, installing it there first when missing.
func openCodeBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HOTLINE_OPENCODE"); p != "" {
		checkVersion(t, p)
		return p
	}
	cache := os.Getenv("HOTLINE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("no HOTLINE_CACHE and no home directory: %v", err)
		}
		cache = filepath.Join(home, ".cache", "hotline")
	}
	dir := filepath.Join(cache, "opencode-"+openCodeVersion)
	if p := findBinary(dir); p != "" {
		checkVersion(t, p)
		return p
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("the OpenCode contract test needs npm to install opencode-ai@%s into %s (or set HOTLINE_OPENCODE to an opencode %s binary): %v",
			openCodeVersion, dir, openCodeVersion, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "opencode-ai@"+openCodeVersion)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t.Logf("installing opencode-ai@%s into %s", openCodeVersion, dir)
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm install opencode-ai@%s failed: %v\n%s", openCodeVersion, err, out.String())
	}
	p := findBinary(dir)
	if p == "" {
		t.Fatalf("npm installed opencode-ai@%s into %s but no opencode binary for this platform is there:\n%s", openCodeVersion, dir, out.String())
	}
	checkVersion(t, p)
	return p
}

// findBinary looks for the native binary: the platform package ships it,
// and the wrapper's bin may be a copy of it or a script needing its
// postinstall step (which npm may not run).
func findBinary(dir string) string {
	matches, _ := filepath.Glob(filepath.Join(dir, "node_modules", "opencode-linux-*", "bin", "opencode"))
	for _, m := range matches {
		if !strings.Contains(m, "musl") && executable(m) {
			return m
		}
	}
	for _, m := range matches {
		if executable(m) {
			return m
		}
	}
	return ""
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func checkVersion(t *testing.T, p string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, "--version")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --version: %v", p, err)
	}
	if got := strings.TrimSpace(string(out)); got != openCodeVersion {
		t.Fatalf("%s is opencode %s, the contract test pins %s", p, got, openCodeVersion)
	}
}
