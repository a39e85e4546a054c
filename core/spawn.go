package core

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotline-dev/hotline/proc"
)

// ProcSpawner starts agents with proc.Start from a base configuration.
// With perChannel, each channel gets its own sub-directory of base.Dir.
func ProcSpawner(base proc.Config, perChannel bool) SpawnFunc {
	return func(ctx context.Context, s Spawn) (Agent, error) {
		cfg := base
		cfg.SessionID, cfg.Resume, cfg.Control = s.SessionID, s.Resume, s.Control
		cfg.Hooks = Hooks
		cfg.PermissionPrompt = true
		if perChannel && cfg.Dir != "" {
			dir, err := ChannelDir(cfg.Dir, s.Key)
			if err != nil {
				return nil, err
			}
			cfg.Dir = dir
		}
		if cfg.Log != nil {
			cfg.Log = cfg.Log.WithField("session_key", s.Key)
		}
		p, err := proc.Start(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// ChannelDir is a key's per-channel working directory under base.
func ChannelDir(base, key string) (string, error) {
	dir := filepath.Join(base, channelDir(key))
	return dir, os.MkdirAll(dir, 0o750)
}

// channelDir names a channel's directory: platform-workspace-channel, with
// anything but letters, digits, '-' and '_' replaced.
func channelDir(key string) string {
	parts := strings.SplitN(key, ":", 4)
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, strings.Join(parts, "-"))
}
