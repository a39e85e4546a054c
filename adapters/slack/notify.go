package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// Notify posts text in the thread of a session key outside any turn (after
// a restart, for a message a crash interrupted) and marks messageID with the
// error reaction. It implements core.Notifier.
func (a *Adapter) Notify(ctx context.Context, key, messageID, text string) error {
	parts := strings.SplitN(key, ":", 4)
	if len(parts) != 4 || parts[0] != "slack" {
		return fmt.Errorf("slack: %q is not a Slack session key", key)
	}
	channel, thread := parts[2], parts[3]
	if _, _, err := a.api.PostMessageContext(ctx, channel, msgOptions(text, thread)...); err != nil {
		return rateLimit(err)
	}
	if messageID != "" {
		if err := a.api.AddReactionContext(ctx, reactError, slack.NewRefToMessage(channel, messageID)); err != nil && !isSlackErr(err, "already_reacted") {
			a.log.WithError(err).WithField("channel", channel).Warn("slack: reaction failed")
		}
	}
	return nil
}
