package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// spawnGroup starts `sh` as a group leader with a child in its group, as an
// agent with a running tool would be; the returned channel is closed once
// the test has reaped it.
func spawnGroup(t *testing.T, script string) (*exec.Cmd, chan struct{}) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = cmd.Wait(); close(reaped) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-reaped
	})
	return cmd, reaped
}

func startTime(t *testing.T, pid int) uint64 {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if st, err := readStat(pid); err == nil {
			return st.Start
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no stat for %d", pid)
	return 0
}

func TestReapOrphans(t *testing.T) {
	dir := t.TempDir()
	old := reapGrace
	reapGrace = 2 * time.Second
	t.Cleanup(func() { reapGrace = old })

	// A group left by a "crashed" run: leader ignores SIGTERM, so the
	// SIGKILL stage is needed; a child shares the group.
	orphan, orphanReaped := spawnGroup(t, "trap '' TERM; sleep 600 & wait")
	opid := orphan.Process.Pid
	if _, err := writePIDFile(dir, pidRecord{PID: opid, PGID: opid, Start: startTime(t, opid), Path: "/bin/sh"}); err != nil {
		t.Fatal(err)
	}
	// A live process whose pid was "reused": recorded start time differs.
	bystander, _ := spawnGroup(t, "sleep 600")
	bpid := bystander.Process.Pid
	if _, err := writePIDFile(dir, pidRecord{PID: bpid, PGID: bpid, Start: startTime(t, bpid) + 1, Path: "/bin/sh"}); err != nil {
		t.Fatal(err)
	}
	// A gone agent whose tool process lives on in its group.
	gone := exec.Command("/bin/sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!")
	gone.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	outb, err := gone.Output() // the leader exits at once and is reaped
	if err != nil {
		t.Fatal(err)
	}
	lpid, tool := gone.Process.Pid, strings.TrimSpace(string(outb))
	t.Cleanup(func() { _ = syscall.Kill(-lpid, syscall.SIGKILL) })
	if _, err := writePIDFile(dir, pidRecord{PID: lpid, PGID: lpid, Start: 12345, Path: "/bin/sh"}); err != nil {
		t.Fatal(err)
	}
	// A gone process and a corrupt file.
	if err := os.WriteFile(filepath.Join(dir, "999999999.pid"), []byte(`{"pid":999999999,"pgid":999999999,"start":5,"path":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.pid"), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Wait until the orphan's child exists, so the group has two members.
	for len(liveInGroup(opid)) < 2 {
		time.Sleep(5 * time.Millisecond)
	}

	l, _ := newLog()
	n, err := ReapOrphans(dir, l)
	if err != nil || n != 2 {
		t.Fatalf("ReapOrphans = %d, %v", n, err)
	}
	if live := liveInGroup(lpid); len(live) > 0 {
		t.Fatalf("leftover tool %s of a gone agent alive: %v", tool, live)
	}
	select {
	case <-orphanReaped:
	case <-time.After(guard):
		t.Fatal("orphan leader still running")
	}
	if live := liveInGroup(opid); len(live) > 0 {
		t.Fatalf("orphan group members alive: %v", live)
	}
	if !alive(bpid, startTime(t, bpid)) {
		t.Fatal("a process with a different start time was killed")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
	if n, err := ReapOrphans(filepath.Join(dir, "missing"), nil); n != 0 || err != nil {
		t.Fatalf("missing dir: %d %v", n, err)
	}
}

func TestPIDFileLifecycle(t *testing.T) {
	cfg := mockConfig(t)
	cfg.PIDDir = filepath.Join(t.TempDir(), "pids")
	p := startMock(t, cfg)
	data, err := os.ReadFile(pidFilePath(cfg.PIDDir, p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := parsePIDFile(data)
	if err != nil || rec.PID != p.PID() || rec.PGID != p.PID() || rec.Path != cfg.Path || !alive(rec.PID, rec.Start) {
		t.Fatalf("pid file %+v %v", rec, err)
	}
	if err := p.Stop(guardCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidFilePath(cfg.PIDDir, p.PID())); !os.IsNotExist(err) {
		t.Fatalf("pid file after Stop: %v", err)
	}
	if n, err := ReapOrphans(cfg.PIDDir, nil); n != 0 || err != nil {
		t.Fatalf("nothing to reap: %d %v", n, err)
	}
}
