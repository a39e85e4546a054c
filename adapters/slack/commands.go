package slack

import (
	"context"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/core"
)

const threadNote = "(Slack doesn't tell slash commands which thread they were typed in, so this acts on the channel's most recent conversation.)"

var commands = map[string]core.Cmd{"new": core.CmdNew, "reset": core.CmdReset, "stop": core.CmdStop,
	"status": core.CmdStatus, "help": core.CmdHelp}

// onSlash handles /agent <prompt> and /agent new|reset|stop|status|help.
// It runs after the command was acknowledged; answers go out as ephemeral
// messages to the caller.
func (a *Adapter) onSlash(ctx context.Context, cmd slack.SlashCommand) {
	log := a.log.WithFields(logrus.Fields{"channel": cmd.ChannelID, "user": cmd.UserID})
	if cmd.Command != a.cfg.SlashCommand {
		log.WithField("command", cmd.Command).Warn("slack: unknown slash command")
		return
	}
	if !a.allowed(cmd.UserID, cmd.ChannelID) {
		a.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "", refusalText)
		return
	}
	text := strings.TrimSpace(cmd.Text)
	_, _, botTeam := a.identity()
	team := cmd.TeamID
	if team == "" {
		team = botTeam
	}
	if c, ok := commands[strings.ToLower(text)]; ok {
		a.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "", a.runCommand(ctx, team, cmd.ChannelID, c))
		return
	}
	if text == "" {
		a.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "", "Usage: "+a.cfg.SlashCommand+" <prompt>, or "+
			a.cfg.SlashCommand+" new|reset|stop|status|help")
		return
	}
	a.startFromSlash(ctx, team, cmd, text, log)
}

// runCommand applies a session command to the channel's most recent conversation.
func (a *Adapter) runCommand(ctx context.Context, team, channel string, c core.Cmd) string {
	key, ok := a.recent.Get(team + ":" + channel)
	if !ok {
		if c == core.CmdHelp {
			key = sessionKey(team, channel, "")
		} else {
			return "There is no conversation in this channel that I know of. " +
				"Mention me in a thread, or start one with " + a.cfg.SlashCommand + " <prompt>. " + threadNote
		}
	}
	out, err := a.eng.Command(ctx, key, c)
	if err != nil {
		out = err.Error()
	}
	if c == core.CmdHelp {
		return out
	}
	return out + "\n" + threadNote
}

// startFromSlash posts the prompt in the channel and starts a conversation
// in that message's thread.
func (a *Adapter) startFromSlash(ctx context.Context, team string, cmd slack.SlashCommand, text string, log logrus.FieldLogger) {
	pctx, cancel := a.apiCtx()
	_, ts, err := a.api.PostMessageContext(pctx, cmd.ChannelID,
		slack.MsgOptionText("<@"+cmd.UserID+"> asked: "+text, false), slack.MsgOptionDisableLinkUnfurl())
	cancel()
	if err != nil {
		log.WithError(err).Error("slack: could not post the slash command prompt")
		a.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "", "Sorry, I couldn't post in this channel: "+err.Error())
		return
	}
	key := sessionKey(team, cmd.ChannelID, ts)
	a.threads.Put(key, struct{}{})
	a.recent.Put(team+":"+cmd.ChannelID, key)
	r := a.newResponder(key, cmd.ChannelID, ts, ts)
	sctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	if err := a.eng.Submit(sctx, core.Inbound{Key: key, Text: text, Author: cmd.UserID, AuthorName: cmd.UserName, MessageID: ts, Reply: r}); err != nil {
		a.postText(ctx, cmd.ChannelID, ts, err.Error())
	}
}

// postText posts a plain message in a thread (notices, errors).
func (a *Adapter) postText(ctx context.Context, channel, thread, text string) {
	_, _, err := a.api.PostMessageContext(ctx, channel, msgOptions(text, thread)...)
	if err != nil {
		a.log.WithError(err).WithField("channel", channel).Warn("slack: could not post a notice")
	}
}

// ephemeral shows text to one user only.
func (a *Adapter) ephemeral(ctx context.Context, channel, user, thread, text string) {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if _, err := a.api.PostEphemeralContext(ctx, channel, user, opts...); err != nil {
		a.log.WithError(err).WithField("channel", channel).Warn("slack: could not post an ephemeral message")
	}
}

func (a *Adapter) react(ctx context.Context, channel, ts, name string) {
	if err := a.api.AddReactionContext(ctx, name, slack.NewRefToMessage(channel, ts)); err != nil && !isSlackErr(err, "already_reacted") {
		a.log.WithError(err).WithFields(logrus.Fields{"channel": channel, "reaction": name}).Warn("slack: reaction failed")
	}
}

func (a *Adapter) unreact(ctx context.Context, channel, ts, name string) {
	if err := a.api.RemoveReactionContext(ctx, name, slack.NewRefToMessage(channel, ts)); err != nil && !isSlackErr(err, "no_reaction") {
		a.log.WithError(err).WithFields(logrus.Fields{"channel": channel, "reaction": name}).Warn("slack: reaction removal failed")
	}
}

func isSlackErr(err error, name string) bool {
	se, ok := err.(slack.SlackErrorResponse)
	return ok && se.Err == name
}
