package opencode

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeBinary writes a stand-in for `opencode serve` that prints the
// listening line for the fake API and then waits like the server does.
func fakeBinary(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "opencode")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func procGone(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return errors.Is(err, os.ErrNotExist)
}

// dead reports whether pid has exited (gone or a zombie).
func dead(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || strings.HasPrefix(s[i+1:], " Z") || strings.HasPrefix(s[i+1:], " X")
}

// awaitDead waits for a killed process to be gone; the limit only guards
// against a hang.
func awaitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !dead(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func childPID(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestSupervisorLifecycle(t *testing.T) {
	f := newFakeOC(t)
	f.pass = ""
	t.Cleanup(f.hs.Close)
	childFile := filepath.Join(t.TempDir(), "child")
	// The stand-in starts a "tool" in its group first, as a running bash
	// tool would be.
	bin := fakeBinary(t, `sleep 600 & echo $! > "$CHILD_FILE"; echo "opencode server listening on $FAKE_OC_URL"; exec sleep 600`)
	sup, err := NewSupervisor(Config{
		Path: bin, Home: t.TempDir(), ConfigFile: "/etc/oc.json", Log: testLogger(t), PassEnv: []string{"FAKE_OC_URL", "CHILD_FILE"},
		Env: []string{"PATH=" + os.Getenv("PATH"), "FAKE_OC_URL=" + f.hs.URL, "CHILD_FILE=" + childFile,
			"SLACK_BOT_TOKEN=xoxb-secret", "HOTLINE_X=1", "OPENCODE_FOO=bar"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Runs before f.hs.Close, whose event stream would otherwise wait for a
	// server that a failed check left running. Close is idempotent.
	t.Cleanup(func() { _ = sup.Close(context.Background()) })
	a, err := sup.Spawn(context.Background(), "k1", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := a.PID()
	if pid <= 0 || sup.PID() != pid {
		t.Fatalf("pid %d, supervisor says %d", pid, sup.PID())
	}
	vars := strings.Split(string(environOf(t, pid)), "\x00")
	joined := strings.Join(vars, "\n")
	for _, bad := range []string{"SLACK_BOT_TOKEN", "HOTLINE_X"} {
		if strings.Contains(joined, bad) {
			t.Fatalf("%s reached the server", bad)
		}
	}
	for _, want := range []string{"OPENCODE_FOO=bar", "OPENCODE_CONFIG=/etc/oc.json", "OPENCODE_DISABLE_AUTOUPDATE=1", "OPENCODE_SERVER_USERNAME=opencode"} {
		if !strings.Contains("\n"+joined+"\n", "\n"+want+"\n") {
			t.Fatalf("server env lacks %s: %q", want, vars)
		}
	}
	if !strings.Contains(joined, "OPENCODE_SERVER_PASSWORD=") {
		t.Fatal("no server password")
	}

	// The server dies: its agents end, its tools are killed, and the next
	// spawn starts another.
	tool := childPID(t, childFile)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wait(t, a.Done(), "agent end after the server died")
	awaitDead(t, tool)
	b, err := sup.Spawn(context.Background(), "k2", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.PID() == pid || b.PID() <= 0 {
		t.Fatalf("no new server: pid %d (old %d)", b.PID(), pid)
	}
	if !procGone(pid) {
		t.Fatalf("dead server %d not reaped", pid)
	}
	tool = childPID(t, childFile)
	if err := sup.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, b.Done(), "agent end after Close")
	if !procGone(b.PID()) {
		t.Fatalf("server %d survives Close", b.PID())
	}
	awaitDead(t, tool)
	if _, err := sup.Spawn(context.Background(), "k3", "", false, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Spawn after Close: %v", err)
	}
}

func TestSupervisorStartFailure(t *testing.T) {
	bin := fakeBinary(t, `echo "Error: no provider configured" >&2; exit 3`)
	spawn, closer, err := Spawner(Config{Path: bin, Log: testLogger(t), Env: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil {
		t.Fatal(err)
	}
	defer closer(context.Background())
	_, err = spawn(context.Background(), "k", "", false, nil)
	if err == nil || !strings.Contains(err.Error(), "no provider configured") || !strings.Contains(err.Error(), "exited before listening") {
		t.Fatalf("start failure: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Path: "x", Model: "nomodel"},
		{Path: "x", Model: "/m"},
		{Path: "x", Permission: []PermissionRule{{Permission: "bash", Pattern: "*", Action: "maybe"}}},
	} {
		if _, err := NewSupervisor(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	s, err := NewSupervisor(Config{Path: "x", Model: "anthropic/claude-x"})
	if err != nil {
		t.Fatal(err)
	}
	if m := s.cfg.model(); m["providerID"] != "anthropic" || m["modelID"] != "claude-x" {
		t.Fatalf("model %v", m)
	}
}

// TestCloseWithOutputHeldOpen: a process that left the server's group (and
// so survives its kill) still holds the server's stdout; Close must not
// wait for it.
func TestCloseWithOutputHeldOpen(t *testing.T) {
	f := newFakeOC(t)
	f.pass = ""
	t.Cleanup(f.hs.Close)
	childFile := filepath.Join(t.TempDir(), "child")
	bin := fakeBinary(t, `setsid sleep 600 & echo $! > "$CHILD_FILE"; echo "opencode server listening on $FAKE_OC_URL"; exec sleep 600`)
	sup, err := NewSupervisor(Config{Path: bin, Log: testLogger(t), StopGrace: 100 * time.Millisecond,
		PassEnv: []string{"FAKE_OC_URL", "CHILD_FILE"},
		Env:     []string{"PATH=" + os.Getenv("PATH"), "FAKE_OC_URL=" + f.hs.URL, "CHILD_FILE=" + childFile}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := sup.Spawn(context.Background(), "k", "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	escaped := childPID(t, childFile)
	t.Cleanup(func() { _ = syscall.Kill(escaped, syscall.SIGKILL) })
	closed := make(chan error, 1)
	go func() { closed <- sup.Close(context.Background()) }()
	if err := wait(t, closed, "Close"); err != nil {
		t.Fatal(err)
	}
	wait(t, a.Done(), "agent end")
	if !procGone(a.PID()) {
		t.Fatalf("server %d survives Close", a.PID())
	}
}

// environOf reads a process's environment. The stand-in server execs
// sleep right after it says it listens, and /proc/<pid>/environ reads empty
// while an exec replaces the image, so an empty read is retried.
func environOf(t *testing.T, pid int) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		if len(env) > 0 || time.Now().After(deadline) {
			return env
		}
		time.Sleep(5 * time.Millisecond)
	}
}
