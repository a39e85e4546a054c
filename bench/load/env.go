// Package load drives the real bridge code (the Slack adapter, core.Router
// and mockcli agents) through the in-repo fake Slack over its real wire
// protocol (Socket Mode websocket in, Web API out), all in one process so
// the bridge's heap, goroutines and agents can be measured.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/waf"
)

// Router builds a core.Router over mockcli agents with a private HOME and
// working directory under dir (which the caller owns and removes).
func Router(mockcli, dir string, maxSessions int, mut func(*core.Config)) (*core.Router, error) {
	if mockcli == "" {
		return nil, errors.New("load: no mockcli binary (set HOTLINE_MOCKCLI or -mockcli)")
	}
	if _, err := os.Stat(mockcli); err != nil {
		return nil, fmt.Errorf("load: mockcli: %w", err)
	}
	home, work := dir+"/home", dir+"/work"
	for _, d := range []string{home, work} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	fw, err := waf.New(waf.Options{})
	if err != nil {
		return nil, err
	}
	log := quietLog()
	base := proc.Config{
		Kind: proc.KindMock, Path: mockcli, Dir: work, Home: home,
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, Log: log, StopGrace: 2 * time.Second,
	}
	cfg := core.Config{
		Spawn: core.ProcSpawner(base, false), Firewall: fw, Agent: "mock", Instance: "loadgen",
		QueueDepth: 64, MaxSessions: maxSessions, TurnTimeout: time.Minute,
		ApprovalTimeout: 30 * time.Second, StopGrace: 2 * time.Second, Log: log,
	}
	if mut != nil {
		mut(&cfg)
	}
	return core.New(cfg)
}

// quietLog keeps logging out of the measured path: warnings and worse go
// to stderr, nothing else is formatted.
func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.WarnLevel)
	return l
}

// Discard is a logger for adapters under load. HOTLINE_LOAD_LOG=warn (or
// another logrus level) sends their logs to stderr instead, for diagnosis.
func Discard() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	if lv, err := logrus.ParseLevel(os.Getenv("HOTLINE_LOAD_LOG")); err == nil {
		l.SetOutput(os.Stderr)
		l.SetLevel(lv)
	}
	return l
}

// closeRouter gives running turns a bounded time to end.
func closeRouter(r *core.Router) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return r.Close(ctx)
}
