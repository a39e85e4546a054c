package discord

import (
	"context"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Notify posts text in the thread (or DM) of a session key outside any turn
// (after a restart, for a message a crash interrupted). It implements
// core.Notifier.
func (a *Adapter) Notify(ctx context.Context, key, messageID, text string) error {
	parts := strings.SplitN(key, ":", 4)
	if len(parts) != 4 || parts[0] != "discord" {
		return fmt.Errorf("discord: %q is not a Discord session key", key)
	}
	m := &discordgo.MessageSend{Content: text}
	if messageID != "" {
		m.Reference = &discordgo.MessageReference{MessageID: messageID, ChannelID: parts[3], FailIfNotExists: new(false)}
	}
	_, err := a.send(ctx, parts[3], m)
	return err
}
