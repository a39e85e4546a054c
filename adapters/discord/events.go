package discord

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/hotline-dev/hotline/core"
	"github.com/sirupsen/logrus"
)

// onMessage runs on discordgo's reader goroutine: cheap checks only, then
// the work goes to the channel's worker.
func (a *Adapter) onMessage(m *discordgo.Message) {
	ev, err := decodeMessage(m)
	if err != nil {
		a.log.WithError(err).Warn("discord: rejected MESSAGE_CREATE payload")
		return
	}
	if ev.AuthorID == a.bot() || (ev.Bot && !a.cfg.AllowBots) {
		return
	}
	// Gateway replays after RESUME and duplicated dispatches carry the same
	// message id; one id, one turn.
	if a.dedupe.Seen("message:" + ev.ID) {
		a.log.WithField("message_id", ev.ID).Debug("discord: duplicate MESSAGE_CREATE dropped")
		return
	}
	a.enqueue(a.messageQueue(ev.ChannelID), func(ctx context.Context) { a.handleMessage(ctx, ev) })
}

func (a *Adapter) onThread(ch *discordgo.Channel) {
	if ch == nil || ch.ID == "" || !isThreadType(ch.Type) {
		return
	}
	a.chans.put(ch.ID, infoOf(ch, a.bot()))
}

func (a *Adapter) handleMessage(ctx context.Context, ev msgEvent) {
	bot := a.bot()
	text := stripMention(ev.Content, bot)
	if ev.GuildID == "" {
		if !a.access.allowed(ev.AuthorID, nil, ev.ChannelID, "") {
			a.denied(ev)
			return
		}
		a.submit(ctx, dmKey(ev.ChannelID), ev.ChannelID, ev, text)
		return
	}
	mentioned := ev.mentions(bot)
	info := a.channel(ctx, ev.ChannelID)
	if info.thread {
		if !mentioned && !info.active {
			return
		}
		if !a.access.allowed(ev.AuthorID, ev.Roles, ev.ChannelID, info.parent) {
			a.denied(ev)
			return
		}
		info.active = true
		a.chans.put(ev.ChannelID, info)
		a.submit(ctx, threadKey(ev.GuildID, info.parent, ev.ChannelID), ev.ChannelID, ev, text)
		return
	}
	if !mentioned && !a.listen[ev.ChannelID] {
		return
	}
	if !a.access.allowed(ev.AuthorID, ev.Roles, ev.ChannelID, "") {
		a.denied(ev)
		return
	}
	thread, err := a.startThread(ctx, ev.ChannelID, ev.ID, threadName(text, ev.AuthorName))
	if err != nil {
		// Answer in the channel rather than lose the message.
		a.log.WithError(err).WithField("channel", ev.ChannelID).Warn("discord: thread creation failed; answering in the channel")
		a.submit(ctx, threadKey(ev.GuildID, ev.ChannelID, ev.ID), ev.ChannelID, ev, text)
		return
	}
	a.submit(ctx, threadKey(ev.GuildID, ev.ChannelID, thread), thread, ev, text)
}

func (a *Adapter) denied(ev msgEvent) {
	a.log.WithFields(logrus.Fields{"channel": ev.ChannelID, "user": ev.AuthorID}).Info("discord: message from a user or channel not allowed; ignored")
}

func dmKey(channel string) string { return "discord:dm:" + channel + ":" + channel }

func threadKey(guild, parent, thread string) string {
	return "discord:" + guild + ":" + parent + ":" + thread
}

// channel tells threads from channels: from the cache, else by looking it
// up (a thread created before a restart). Lookup failures are not cached.
func (a *Adapter) channel(ctx context.Context, id string) chanInfo {
	if ci, ok := a.chans.get(id); ok {
		return ci
	}
	ch, err := a.sess.Channel(id, discordgo.WithContext(ctx))
	if err != nil || ch == nil {
		a.log.WithError(err).WithField("channel", id).Warn("discord: channel lookup failed; treating it as a plain channel")
		return chanInfo{}
	}
	ci := infoOf(ch, a.bot())
	a.chans.put(id, ci)
	return ci
}

// startThread opens a thread on a message and records it as the bot's.
func (a *Adapter) startThread(ctx context.Context, channel, message, name string) (string, error) {
	var th *discordgo.Channel
	err := retryRateLimited(ctx, func() error {
		var err error
		th, err = a.sess.MessageThreadStartComplex(channel, message, &discordgo.ThreadStart{
			Name: name, AutoArchiveDuration: 1440,
		}, discordgo.WithContext(ctx))
		return mapErr(err)
	})
	if err != nil {
		return "", err
	}
	if th == nil || th.ID == "" {
		return "", errors.New("thread creation returned no channel")
	}
	a.chans.put(th.ID, chanInfo{guild: th.GuildID, parent: channel, thread: true, active: true})
	return th.ID, nil
}

// threadName is the thread title: the start of the prompt, 1-100 chars.
func threadName(text, author string) string {
	name := strings.Join(strings.Fields(text), " ")
	if name == "" {
		name = "conversation with " + author
	}
	if utf8.RuneCountInString(name) > 90 {
		r := []rune(name)
		name = string(r[:90]) + "…"
	}
	if strings.TrimSpace(name) == "" {
		name = "conversation"
	}
	return name
}

// submit hands one accepted message to the engine; a refusal (full queue,
// shutdown) is shown in the reply channel.
func (a *Adapter) submit(ctx context.Context, key, replyChannel string, ev msgEvent, text string) {
	a.submitTo(ctx, key, replyChannel, ev, text, ev.ID)
}

// submitTo is submit with the message that gets the done/error reaction
// ("" for none, e.g. slash commands).
func (a *Adapter) submitTo(ctx context.Context, key, replyChannel string, ev msgEvent, text, reactTo string) {
	log := a.log.WithFields(logrus.Fields{"session_key": key, "channel": replyChannel})
	if text == "" && len(ev.Attachments) == 0 {
		a.say(ctx, replyChannel, "Mention me with a question or instruction, for example: @"+botName+" what does this repository do?")
		return
	}
	// Downloading here, on the channel's worker, keeps the channel's
	// messages in order: the next one waits until this one is submitted.
	files, problems := a.fetchAttachments(ctx, ev.Attachments, log)
	sending := text != "" || len(files) > 0
	if len(problems) > 0 {
		a.say(ctx, replyChannel, attachNote(problems, sending))
	}
	if !sending {
		return
	}
	r := a.newResponder(key, replyChannel, ev.ChannelID, reactTo, log)
	in := core.Inbound{
		Key: key, Text: text, Attachments: files, Author: ev.AuthorID, AuthorName: ev.AuthorName,
		MessageID: ev.ID, Reply: r,
	}
	if err := a.eng.Submit(ctx, in); err != nil {
		log.WithError(err).Warn("discord: submit refused")
		a.say(ctx, replyChannel, userText(err))
	}
}

const botName = "hotline"

// userText is an error in words fit for the thread.
func userText(err error) string {
	if errors.Is(err, core.ErrQueueFull) || errors.Is(err, core.ErrClosed) || errors.Is(err, core.ErrUnknownCmd) {
		return err.Error()
	}
	return "Sorry, that failed: " + err.Error()
}

// say posts a short bridge message, retrying rate limits within ctx.
func (a *Adapter) say(ctx context.Context, channel, text string) {
	_, err := a.send(ctx, channel, &discordgo.MessageSend{Content: clip(text)})
	if err != nil {
		a.log.WithError(err).WithField("channel", channel).Warn("discord: posting a notice failed")
	}
}

// clip shortens a bridge message to Discord's limit.
func clip(text string) string {
	if utf8.RuneCountInString(text) <= messageLimit {
		return text
	}
	return string([]rune(text)[:messageLimit-1]) + "…"
}
