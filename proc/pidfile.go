package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// pidRecord is one <PIDDir>/<pid>.pid file. Start is the process start
// time from /proc/<pid>/stat (clock ticks since boot): a pid can be reused
// after a crash, the pair (pid, start) cannot.
type pidRecord struct {
	PID   int    `json:"pid"`
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"`
	Path  string `json:"path"`
}

// reapGrace is how long ReapOrphans waits after SIGTERM before SIGKILL.
var reapGrace = 3 * time.Second

func pidFilePath(dir string, pid int) string {
	return filepath.Join(dir, strconv.Itoa(pid)+".pid")
}

func writePIDFile(dir string, rec pidRecord) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("proc: pid dir: %w", err)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	path := pidFilePath(dir, rec.PID)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("proc: pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("proc: pid file: %w", err)
	}
	return path, nil
}

// parsePIDFile parses the contents of a pid file.
func parsePIDFile(data []byte) (pidRecord, error) {
	var rec pidRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, fmt.Errorf("proc: pid file: %w", err)
	}
	if rec.PID <= 1 || rec.PGID <= 1 || rec.Start == 0 {
		return rec, fmt.Errorf("proc: pid file: implausible pid %d pgid %d start %d", rec.PID, rec.PGID, rec.Start)
	}
	return rec, nil
}

// procStat is what we read from /proc/<pid>/stat.
type procStat struct {
	State byte
	PGRP  int
	Start uint64
}

// parseStat parses /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(data []byte) (procStat, error) {
	var st procStat
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return st, errors.New("proc: stat: no command field")
	}
	// After ")": state(3) ppid(4) pgrp(5) ... starttime(22).
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 20 || len(fields[0]) != 1 {
		return st, errors.New("proc: stat: too few fields")
	}
	st.State = fields[0][0]
	pgrp, err := strconv.Atoi(fields[2])
	if err != nil {
		return st, fmt.Errorf("proc: stat pgrp: %w", err)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return st, fmt.Errorf("proc: stat starttime: %w", err)
	}
	st.PGRP, st.Start = pgrp, start
	return st, nil
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(data)
}

// alive reports whether pid is still the process that started at start
// and has not exited (a zombie has exited).
func alive(pid int, start uint64) bool {
	st, err := readStat(pid)
	return err == nil && st.Start == start && st.State != 'Z' && st.State != 'X'
}

// ReapOrphans stops the process groups recorded in pidDir by an earlier run
// whose leaders still exist and are the same processes (same start time):
// SIGTERM to the group, then SIGKILL after a grace period. Files for gone or
// reused pids and unreadable files are removed. It returns how many groups
// it stopped. A missing pidDir is not an error.
func ReapOrphans(pidDir string, log logrus.FieldLogger) (int, error) {
	if log == nil {
		log = discardLogger()
	}
	entries, err := os.ReadDir(pidDir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("proc: reap orphans: %w", err)
	}
	stopped := 0
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".pid") {
			continue
		}
		path := filepath.Join(pidDir, name)
		ok, err := reapOne(path, log)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			stopped++
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return stopped, errors.Join(errs...)
}

// reapOne handles one pid file; it returns true if it stopped a group. An
// error means the file was kept because the group may still be running.
func reapOne(path string, log logrus.FieldLogger) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("proc: reap %s: %w", path, err)
	}
	rec, err := parsePIDFile(data)
	if err != nil {
		log.WithField("file", path).WithError(err).Warn("removing unreadable agent pid file")
		return false, nil
	}
	l := log.WithFields(logrus.Fields{"pid": rec.PID, "pgid": rec.PGID, "path": rec.Path})
	if !alive(rec.PID, rec.Start) {
		return reapLeftovers(rec, l)
	}
	l.Warn("stopping agent left by an earlier run")
	_ = syscall.Kill(-rec.PGID, syscall.SIGTERM)
	waitGone(func() bool { return alive(rec.PID, rec.Start) })
	// SIGKILL the group even if the leader left on SIGTERM: its children
	// may still run.
	if err := syscall.Kill(-rec.PGID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("proc: reap pgid %d: %w", rec.PGID, err)
	}
	return true, nil
}

// reapLeftovers handles a recorded agent that is gone. Pdeathsig killed the
// agent with its bridge, but not the agent's own children (tools it ran),
// which stay in its group. A group id is not reused while the group has
// members, so members of a group whose leader id is free (or a zombie of
// the same start time) are the agent's leftovers.
func reapLeftovers(rec pidRecord, l logrus.FieldLogger) (bool, error) {
	if st, err := readStat(rec.PGID); err == nil && st.Start != rec.Start {
		l.Debug("agent from an earlier run is gone; its pid is reused")
		return false, nil
	}
	if len(groupMembers(rec.PGID)) == 0 {
		l.Debug("agent from an earlier run is gone")
		return false, nil
	}
	l.Warn("stopping processes left by an agent of an earlier run")
	_ = syscall.Kill(-rec.PGID, syscall.SIGTERM)
	waitGone(func() bool { return len(groupMembers(rec.PGID)) > 0 })
	if err := syscall.Kill(-rec.PGID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("proc: reap pgid %d: %w", rec.PGID, err)
	}
	return true, nil
}

// waitGone polls until running reports false or reapGrace passes. These
// processes are not our children, so there is nothing to wait on but /proc.
func waitGone(running func() bool) {
	deadline := time.Now().Add(reapGrace)
	for running() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// groupMembers lists the processes of group pgid that have not exited.
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.PGRP == pgid && st.State != 'Z' && st.State != 'X' {
			out = append(out, pid)
		}
	}
	return out
}
