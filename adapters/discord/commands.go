package discord

import (
	"context"
	"errors"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/hotline-dev/hotline/core"
	"github.com/sirupsen/logrus"
)

const commandName = "agent"

// subcommands maps /agent's subcommands to core commands ("ask" submits).
var subcommands = map[string]core.Cmd{
	"ask": "", "new": core.CmdNew, "reset": core.CmdReset,
	"stop": core.CmdStop, "status": core.CmdStatus, "help": core.CmdHelp,
}

// commands is /agent with subcommands only: Discord forbids mixing
// subcommands with plain options.
func commands() []*discordgo.ApplicationCommand {
	sub := func(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
	}
	return []*discordgo.ApplicationCommand{{
		Name:        commandName,
		Description: "Talk to the agent",
		Options: []*discordgo.ApplicationCommandOption{
			sub("ask", "Ask the agent (in a channel: starts a new thread)", &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionString, Name: "prompt", Description: "What to ask", Required: true,
			}),
			sub("new", "Start a fresh conversation in this thread"),
			sub("reset", "Same as new"),
			sub("stop", "Interrupt the running reply"),
			sub("status", "Describe this thread's session"),
			sub("help", "How to use the bridge"),
		},
	}}
}

// registerCommands bulk-overwrites the commands (guild-scoped when a guild
// is configured), retrying a few times on failure.
func (a *Adapter) registerCommands(ctx context.Context) {
	app := a.appID.Load().(string)
	log := a.log.WithField("guild", a.cfg.GuildID)
	if app == "" {
		log.Error("discord: no application id (DISCORD_APP_ID unset and none in READY); slash commands not registered")
		return
	}
	wait := time.Second
	for attempt := 1; ; attempt++ {
		err := retryRateLimited(ctx, func() error {
			_, err := a.sess.ApplicationCommandBulkOverwrite(app, a.cfg.GuildID, commands(), discordgo.WithContext(ctx))
			return mapErr(err)
		})
		if err == nil {
			log.Info("discord: slash commands registered")
			return
		}
		log.WithError(err).WithField("attempt", attempt).Error("discord: registering slash commands failed")
		if attempt == 5 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// onInteraction runs on discordgo's reader: decode, drop duplicates, queue.
func (a *Adapter) onInteraction(i *discordgo.Interaction) {
	ev, err := decodeInteraction(i)
	if err != nil {
		a.log.WithError(err).Warn("discord: rejected INTERACTION_CREATE payload")
		return
	}
	if a.dedupe.Seen("interaction:" + ev.ID) {
		return
	}
	a.enqueue(a.interactionQueue(), func(ctx context.Context) {
		if ev.Kind == kindButton {
			a.handleButton(ctx, ev)
			return
		}
		a.handleCommand(ctx, ev)
	})
}

// conversation finds the session key for a channel an interaction came
// from: a DM or a thread. ok is false in a plain channel.
func (a *Adapter) conversation(ctx context.Context, ev interactionEvent) (key, parent string, ok bool) {
	if ev.GuildID == "" {
		return dmKey(ev.ChannelID), "", true
	}
	ci := a.channel(ctx, ev.ChannelID)
	if !ci.thread {
		return "", "", false
	}
	return threadKey(ev.GuildID, ci.parent, ev.ChannelID), ci.parent, true
}

// handleCommand runs on the interaction worker: check access and defer
// at once (Discord allows 3 s), then leave the work to the channel's
// message worker so the next interaction is not held up.
func (a *Adapter) handleCommand(ctx context.Context, ev interactionEvent) {
	if !a.access.allowed(ev.UserID, ev.Roles, ev.ChannelID, a.parentForAccess(ctx, ev.ChannelID)) {
		a.ephemeral(ctx, ev, "You are not allowed to use this bot here.")
		return
	}
	deferErr := a.sess.InteractionRespond(ev.raw, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
	}, discordgo.WithContext(ctx))
	if deferErr != nil {
		a.log.WithError(deferErr).WithField("channel", ev.ChannelID).Warn("discord: deferring the interaction failed; answering in the channel")
	}
	a.enqueue(a.messageQueue(ev.ChannelID), func(ctx context.Context) { a.runCommand(ctx, ev, deferErr == nil) })
}

// parentForAccess is the channel's parent when a channel allow-list needs
// it; without a list no lookup is made.
func (a *Adapter) parentForAccess(ctx context.Context, channel string) string {
	if len(a.access.channels) == 0 || a.access.channels[channel] {
		return ""
	}
	return a.channel(ctx, channel).parent
}

func (a *Adapter) runCommand(ctx context.Context, ev interactionEvent, deferred bool) {
	key, _, inThread := a.conversation(ctx, ev)
	log := a.log.WithFields(logrus.Fields{"session_key": key, "channel": ev.ChannelID, "command": ev.Sub})
	answer := func(text string) (*discordgo.Message, error) {
		text = clip(text)
		if deferred {
			var m *discordgo.Message
			err := retryRateLimited(ctx, func() error {
				var err error
				m, err = a.sess.InteractionResponseEdit(ev.raw, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions()}, discordgo.WithContext(ctx))
				return mapErr(err)
			})
			return m, err
		}
		return a.send(ctx, ev.ChannelID, &discordgo.MessageSend{Content: text})
	}
	if ev.Sub == "ask" {
		a.ask(ctx, ev, key, inThread, answer, log)
		return
	}
	var text string
	if !inThread && ev.Sub != "help" {
		text = "Use this in a conversation thread (or a DM), or start one with `/agent ask`."
	} else {
		var err error
		if text, err = a.eng.Command(ctx, key, subcommands[ev.Sub]); err != nil {
			text = userText(err)
		}
	}
	if _, err := answer(text); err != nil {
		log.WithError(err).Warn("discord: answering the interaction failed")
	}
}

// ask submits a prompt: in a thread or DM to that conversation; in a
// channel it opens a thread on the answer message and starts a new one.
func (a *Adapter) ask(ctx context.Context, ev interactionEvent, key string, inThread bool,
	answer func(string) (*discordgo.Message, error), log logrus.FieldLogger) {
	anchor, err := answer("**" + ev.UserName + "** asked: " + ev.Prompt)
	if err != nil {
		log.WithError(err).Warn("discord: answering the interaction failed")
	}
	reply := ev.ChannelID
	if !inThread {
		if anchor == nil || anchor.ID == "" {
			err = errors.Join(err, errors.New("no message to start a thread on"))
		} else if reply, err = a.startThread(ctx, ev.ChannelID, anchor.ID, threadName(ev.Prompt, ev.UserName)); err == nil {
			key = threadKey(ev.GuildID, ev.ChannelID, reply)
		}
		if err != nil {
			log.WithError(err).Warn("discord: could not open a thread for /agent ask; answering in the channel")
			reply, key = ev.ChannelID, threadKey(ev.GuildID, ev.ChannelID, ev.ID)
		}
	}
	m := msgEvent{ID: ev.ID, ChannelID: ev.ChannelID, GuildID: ev.GuildID, AuthorID: ev.UserID, AuthorName: ev.UserName}
	a.submitTo(ctx, key, reply, m, ev.Prompt, "")
}
