// Package testenv builds a real core.Router over real mockcli processes for
// the adapters' end-to-end tests.
package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/testbin"
	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/waf"
)

// Router returns a running router whose agents are mockcli processes with a
// private HOME and working directory, and the default firewall. Options may
// change the core configuration (timeouts, Store, Firewall…). The router is
// closed when the test ends, and the test fails if Close leaves an agent.
func Router(tb testing.TB, opts ...func(*core.Config)) *core.Router {
	tb.Helper()
	cfg := Config(tb)
	for _, o := range opts {
		o(&cfg)
	}
	r, err := core.New(cfg)
	if err != nil {
		tb.Fatalf("testenv: core.New: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			tb.Errorf("testenv: router close: %v", err)
		}
	})
	return r
}

// Config is the configuration Router uses before options apply.
func Config(tb testing.TB) core.Config {
	tb.Helper()
	home, work := tb.TempDir(), tb.TempDir()
	fw, err := waf.New(waf.Options{})
	if err != nil {
		tb.Fatalf("testenv: waf.New: %v", err)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	base := proc.Config{
		Kind: proc.KindMock, Path: testbin.MockCLI(tb), Dir: work, Home: home,
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, Log: log, StopGrace: 2 * time.Second,
	}
	return core.Config{
		Spawn: core.ProcSpawner(base, false), Firewall: fw, Agent: "mock", Instance: "test",
		QueueDepth: 64, TurnTimeout: time.Minute, ApprovalTimeout: 30 * time.Second, StopGrace: 2 * time.Second,
		Log: log,
	}
}
