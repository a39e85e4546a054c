package fakeslack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

var userTS atomic.Int64

// UserTS returns a fresh message timestamp for a user's message.
func UserTS() string {
	n := 1800000000000000 + userTS.Add(1)
	return fmt.Sprintf("%d.%06d", n/1000000, n%1000000)
}

var eventSeq atomic.Int64

// EventID returns a fresh Events API event id.
func EventID() string { return fmt.Sprintf("Ev%08d", eventSeq.Add(1)) }

// Msg describes a user's message for the event builders.
type Msg struct {
	Channel     string
	ChannelType string // "channel" when empty
	User        string
	BotID       string
	Subtype     string
	Text        string
	TS          string
	ThreadTS    string
	Files       []File // attached files; a message event gets subtype file_share
}

func (m Msg) inner(typ string) map[string]any {
	ct := m.ChannelType
	if ct == "" {
		ct = "channel"
	}
	ev := map[string]any{"type": typ, "user": m.User, "text": m.Text, "ts": m.TS,
		"channel": m.Channel, "event_ts": m.TS, "team": TeamID}
	if typ == "message" {
		ev["channel_type"] = ct
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
	}
	if m.BotID != "" {
		ev["bot_id"] = m.BotID
	}
	if len(m.Files) > 0 {
		files := make([]any, len(m.Files))
		for i, f := range m.Files {
			files[i] = f.JSON()
		}
		ev["files"] = files
		if typ == "message" && m.Subtype == "" {
			ev["subtype"] = "file_share"
		}
	}
	if m.Subtype != "" {
		ev["subtype"] = m.Subtype
	}
	return ev
}

// Callback wraps an inner event in the Events API event_callback envelope.
func Callback(eventID string, inner map[string]any) map[string]any {
	return map[string]any{"token": "legacy", "team_id": TeamID, "api_app_id": AppID,
		"type": "event_callback", "event_id": eventID, "event_time": time.Now().Unix(),
		"event": inner, "authorizations": []any{map[string]any{"team_id": TeamID, "user_id": BotUserID, "is_bot": true}}}
}

// MessageEvent is the event_callback of a "message" event.
func MessageEvent(eventID string, m Msg) map[string]any { return Callback(eventID, m.inner("message")) }

// MentionEvent is the event_callback of an "app_mention" event.
func MentionEvent(eventID string, m Msg) map[string]any {
	return Callback(eventID, m.inner("app_mention"))
}

// SlashCommand is a slash command payload (Socket Mode shape; the HTTP
// form has the same fields).
func SlashCommand(command, text, channel, user string) map[string]string {
	return map[string]string{"token": "legacy", "team_id": TeamID, "team_domain": "fake",
		"channel_id": channel, "channel_name": "general", "user_id": user, "user_name": user,
		"command": command, "text": text, "api_app_id": AppID, "trigger_id": "trig",
		"response_url": "https://hooks.fake.slack.test/commands/1"}
}

// BlockAction is an interactive block_actions payload for a button click.
func BlockAction(actionID, value, channel, messageTS, threadTS, user string) map[string]any {
	msg := map[string]any{"type": "message", "ts": messageTS, "text": "approval", "bot_id": BotID}
	if threadTS != "" {
		msg["thread_ts"] = threadTS
	}
	return map[string]any{"type": "block_actions", "team": map[string]any{"id": TeamID, "domain": "fake"},
		"user":       map[string]any{"id": user, "username": user, "name": user, "team_id": TeamID},
		"api_app_id": AppID, "token": "legacy", "trigger_id": "trig",
		"container": map[string]any{"type": "message", "message_ts": messageTS, "channel_id": channel, "is_ephemeral": false},
		"channel":   map[string]any{"id": channel, "name": "general"},
		"message":   msg,
		"actions": []any{map[string]any{"type": "button", "action_id": actionID, "block_id": "hotline_approval",
			"value": value, "text": map[string]any{"type": "plain_text", "text": "Approve"}, "action_ts": UserTS()}}}
}

// Sign returns the headers Slack sends with an HTTP request: the v0
// signature of body at timestamp ts under secret.
func Sign(secret string, ts time.Time, body []byte) http.Header {
	sec := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = mac.Write([]byte("v0:" + sec + ":"))
	_, _ = mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", sec)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}
