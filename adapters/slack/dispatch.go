package slack

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/core"
)

const (
	submitTimeout = 10 * time.Second
	// knownTimeout bounds the session-store lookup for unknown threads; it
	// runs on the ordered dispatcher, so a slow store must not stall it long.
	knownTimeout = 2 * time.Second
	// repliesTimeout bounds the conversations.replies fallback when the
	// store cannot answer (same reason).
	repliesTimeout = 5 * time.Second
)

// sessionKey names a conversation: slack:<team>:<channel>:<thread ts>.
func sessionKey(team, channel, thread string) string {
	return "slack:" + team + ":" + channel + ":" + thread
}

// Message subtypes that are people talking; edits, joins and the like are not.
var talkSubtypes = map[string]bool{"": true, "thread_broadcast": true, "file_share": true, "me_message": true}

// onMessage runs on the ordered dispatcher: it decides whether a message
// is a turn, and submits it.
func (a *Adapter) onMessage(ctx context.Context, ev event) {
	if a.dedupe.Seen("event:" + ev.EventID) {
		return
	}
	botUser, botID, _ := a.identity()
	if ev.User == botUser || (botID != "" && ev.BotID == botID) {
		return // our own message
	}
	if (ev.BotID != "" || ev.Subtype == "bot_message") && !a.cfg.AllowBots {
		return
	}
	if !talkSubtypes[ev.Subtype] && !(a.cfg.AllowBots && ev.Subtype == "bot_message") {
		return
	}
	thread := ev.ThreadTS
	if thread == "" {
		thread = ev.TS
	}
	key := sessionKey(ev.Team, ev.Channel, thread)
	log := a.log.WithFields(logrus.Fields{"session_key": key, "channel": ev.Channel})
	if !a.isTurn(ctx, ev, key, botUser) {
		return
	}
	// app_mention and message arrive for one mention with the same ts.
	if a.dedupe.Seen("ts:" + ev.Channel + ":" + ev.TS) {
		return
	}
	if !a.allowed(ev.User, ev.Channel) {
		a.refuse(ev.User, ev.Channel, thread)
		return
	}
	text := stripMention(ev.Text, botUser)
	a.threads.Put(key, struct{}{})
	a.recent.Put(ev.Team+":"+ev.Channel, key)
	if text == "" && len(ev.Files) == 0 {
		a.goSide(func(ctx context.Context) {
			a.postText(ctx, ev.Channel, thread, "Mention me with a question or task and I'll pass it to the agent.")
		})
		return
	}
	in := core.Inbound{Key: key, Text: text, Author: ev.User, MessageID: ev.TS}
	slow := len(ev.Files) > 0
	a.order.do(ctx, key, slow, func(ctx context.Context) {
		if slow {
			var ok bool
			if in.Attachments, ok = a.attach(ctx, ev, in.Text, thread, log); !ok {
				return
			}
		}
		a.submit(ctx, in, ev.Channel, thread, log)
	})
}

// submit hands one message to the engine; a refusal is told in the thread.
func (a *Adapter) submit(ctx context.Context, in core.Inbound, channel, thread string, log logrus.FieldLogger) {
	in.Reply = a.newResponder(in.Key, channel, thread, in.MessageID)
	sctx, cancel := context.WithTimeout(ctx, submitTimeout)
	err := a.eng.Submit(sctx, in)
	cancel()
	if err != nil {
		log.WithError(err).Warn("slack: submit refused")
		msg := err.Error()
		if !errors.Is(err, core.ErrQueueFull) && !errors.Is(err, core.ErrClosed) {
			msg = "Sorry, I couldn't start on that: " + msg
		}
		a.goSide(func(ctx context.Context) { a.postText(ctx, channel, thread, msg) })
		return
	}
	log.WithFields(logrus.Fields{"user": in.Author, "attachments": len(in.Attachments)}).Debug("slack: submitted")
}

// isTurn decides whether a message starts or continues a conversation.
func (a *Adapter) isTurn(ctx context.Context, ev event, key, botUser string) bool {
	if ev.Type == "app_mention" || (botUser != "" && strings.Contains(ev.Text, "<@"+botUser)) {
		return true
	}
	if ev.ChannelType == "im" {
		return true
	}
	topLevel := ev.ThreadTS == "" || ev.ThreadTS == ev.TS
	if topLevel {
		return contains(a.cfg.ListenChannels, ev.Channel)
	}
	if _, ok := a.threads.Get(key); ok {
		return true
	}
	k, ok := a.eng.(knower)
	if !ok {
		return false
	}
	kctx, cancel := context.WithTimeout(ctx, knownTimeout)
	defer cancel()
	known, err := k.Known(kctx, key)
	if err != nil {
		// The store is down or slow: ask Slack whether we spoke in this
		// thread rather than ignore a conversation's next message.
		known = a.botInThread(ctx, ev.Channel, ev.ThreadTS, key, err)
	}
	if known {
		a.threads.Put(key, struct{}{})
	}
	return known
}

// botInThread reports whether the bot has a message in the thread, from
// conversations.replies; it stands in for the session store when that
// cannot answer.
func (a *Adapter) botInThread(ctx context.Context, channel, thread, key string, storeErr error) bool {
	a.mu.Lock()
	botUser, botID := a.botUser, a.botID
	a.mu.Unlock()
	log := a.log.WithFields(logrus.Fields{"session_key": key, "store_error": storeErr.Error()})
	ctx, cancel := context.WithTimeout(ctx, repliesTimeout)
	defer cancel()
	params := &slack.GetConversationRepliesParameters{ChannelID: channel, Timestamp: thread, Limit: 200}
	for pages := 0; pages < 10; pages++ {
		msgs, more, cursor, err := a.api.GetConversationRepliesContext(ctx, params)
		if err != nil {
			log.WithError(err).Error("slack: cannot tell whether a thread is a conversation (session store and conversations.replies both failed); message not answered")
			return false
		}
		for _, m := range msgs {
			if (botUser != "" && m.User == botUser) || (botID != "" && m.BotID == botID) {
				log.Warn("slack: session store unavailable; thread recognised from its messages")
				return true
			}
		}
		if !more || cursor == "" {
			return false
		}
		params.Cursor = cursor
	}
	return false
}

// stripMention removes the bot's own mention (<@U…> or <@U…|name>) and the
// whitespace around the remaining text; the rest reaches the agent verbatim.
func stripMention(text, botUser string) string {
	if botUser == "" {
		return strings.TrimSpace(text)
	}
	open := "<@" + botUser
	var b strings.Builder
	for {
		i := strings.Index(text, open)
		if i < 0 {
			b.WriteString(text)
			break
		}
		rest := text[i+len(open):]
		end := -1
		if strings.HasPrefix(rest, ">") {
			end = 1
		} else if strings.HasPrefix(rest, "|") {
			if j := strings.IndexByte(rest, '>'); j >= 0 {
				end = j + 1
			}
		}
		if end < 0 { // another user whose id starts with ours, or no closing '>'
			b.WriteString(text[:i+len(open)])
			text = rest
			continue
		}
		b.WriteString(text[:i])
		text = rest[end:]
	}
	return strings.TrimSpace(b.String())
}

// allowed applies SLACK_ALLOWED_USERS and SLACK_ALLOWED_CHANNELS.
func (a *Adapter) allowed(user, channel string) bool {
	if len(a.cfg.AllowedUsers) > 0 && !contains(a.cfg.AllowedUsers, user) {
		return false
	}
	if len(a.cfg.AllowedChannels) > 0 && !contains(a.cfg.AllowedChannels, channel) {
		return false
	}
	return true
}

const refusalText = "Sorry, you're not allowed to use this bot here. Ask an admin to add you to SLACK_ALLOWED_USERS / SLACK_ALLOWED_CHANNELS."

// refuse tells a user once per channel that they may not use the bot.
func (a *Adapter) refuse(user, channel, thread string) {
	k := user + ":" + channel
	if _, ok := a.refused.Get(k); ok {
		return
	}
	a.refused.Put(k, struct{}{})
	a.log.WithFields(logrus.Fields{"channel": channel, "user": user}).Info("slack: refused a user")
	a.goSide(func(ctx context.Context) { a.ephemeral(ctx, channel, user, thread, refusalText) })
}
