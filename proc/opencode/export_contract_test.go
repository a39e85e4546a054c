//go:build contract

package opencode

import (
	"path/filepath"
	"testing"

	"github.com/hotline-dev/hotline/contract/fakeanthropic"
)

// ContractConfig gives the external (core-level) contract test a
// supervisor configuration for the pinned opencode binary against a fresh
// fake Anthropic API, with a private HOME and work directory. Calling it
// again with the same home reuses that HOME (a bridge restart).
func ContractConfig(t *testing.T) (Config, *fakeanthropic.Server) {
	r := newRig(t)
	return Config{
		Path: r.bin, Dir: r.work, Home: r.home, ConfigFile: filepath.Join(r.home, "opencode.json"),
		Env: contractEnv(), Log: r.log,
	}, r.fake
}
