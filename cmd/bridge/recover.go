package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/core"
)

// notifiers routes core.Notifier calls to the adapter of the key's platform.
type notifiers map[string]core.Notifier

func (n notifiers) Notify(ctx context.Context, key, messageID, text string) error {
	platform, _, _ := strings.Cut(key, ":")
	to, ok := n[platform]
	if !ok {
		return fmt.Errorf("no %s adapter configured for %s", platform, key)
	}
	return to.Notify(ctx, key, messageID, text)
}

// recoverInterrupted waits for the platforms to connect, then tells the
// threads whose turns a crashed predecessor left running to resend.
func (b *bridge) recoverInterrupted(ctx context.Context) {
	n := notifiers{}
	for _, a := range b.adapters {
		if nt, ok := a.(core.Notifier); ok {
			n[a.Name()] = nt // adapter names are the platforms of their keys
		}
	}
	deadline := time.Now().Add(time.Minute)
	for !b.adaptersReady() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	told, err := b.router.RecoverInterrupted(ctx, b.store, n)
	if err != nil {
		b.log.WithError(err).Warn("looking for turns interrupted by an earlier crash")
	}
	if told > 0 {
		b.log.WithField("threads", told).Warn("told threads that a crash interrupted their messages")
	}
}

func (b *bridge) adaptersReady() bool {
	for _, a := range b.adapters {
		if a.Ready() != nil {
			return false
		}
	}
	return true
}
