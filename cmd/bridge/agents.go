package main

import (
	"context"
	"time"

	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/proc"
	"github.com/hotline-dev/hotline/proc/opencode"
)

// spawner starts the configured agent kind: one process per thread for
// Claude Code and the mock, one shared `opencode serve` for OpenCode.
func (b *bridge) spawner(pidDir string) (core.SpawnFunc, error) {
	cfg, log := b.cfg, b.log.WithField("component", "agent")
	if b.kind != proc.KindOpenCode {
		base := proc.Config{
			Kind: b.kind, Path: b.path, Dir: cfg.WorkDir, Home: cfg.AgentHome, Model: cfg.Model,
			PassEnv: cfg.AgentEnv, PIDDir: pidDir, Log: log,
		}
		return core.ProcSpawner(base, cfg.WorkDirPerChannel), nil
	}
	oc := opencode.Config{Path: b.path, Dir: cfg.WorkDir, Home: cfg.AgentHome, PassEnv: cfg.AgentEnv, Model: cfg.Model, Log: log}
	if cfg.WorkDirPerChannel {
		oc.DirFor = func(key string) (string, error) { return core.ChannelDir(cfg.WorkDir, key) }
	}
	spawn, closer, err := opencode.Spawner(oc)
	if err != nil {
		return nil, err
	}
	b.closeAgents = closer
	return func(ctx context.Context, s core.Spawn) (core.Agent, error) {
		a, err := spawn(ctx, s.Key, s.SessionID, s.Resume, s.Control)
		if err != nil {
			return nil, err // never a typed nil inside the interface
		}
		return a, nil
	}, nil
}

// stopAgents stops the shared OpenCode server after the router has stopped
// its sessions.
func (b *bridge) stopAgents() {
	if b.closeAgents == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.closeAgents(ctx); err != nil {
		b.log.WithError(err).Warn("stopping the OpenCode server")
	}
}
