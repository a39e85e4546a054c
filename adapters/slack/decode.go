package slack

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The decoders read only the fields the bridge acts on, from the raw JSON
// both transports deliver, so Socket Mode and the HTTP Events API share one
// path and one fuzz target.

// errUnsupported marks well-formed input of a kind the bridge does not
// handle; it is acknowledged and ignored rather than reported as bad.
var errUnsupported = errors.New("unsupported event type")

// event is a decoded Events API payload.
type event struct {
	Outer       string // url_verification or event_callback
	Challenge   string
	EventID     string
	Team        string
	Type        string // message or app_mention
	Subtype     string
	User        string
	BotID       string
	Text        string
	TS          string
	ThreadTS    string
	Channel     string
	ChannelType string
	Files       []fileRef
	MoreFiles   int // file objects past maxFileRefs, counted only
}

type wireInner struct {
	Type        string          `json:"type"`
	Subtype     string          `json:"subtype"`
	User        string          `json:"user"`
	BotID       string          `json:"bot_id"`
	Text        string          `json:"text"`
	TS          string          `json:"ts"`
	ThreadTS    string          `json:"thread_ts"`
	Channel     string          `json:"channel"`
	ChannelType string          `json:"channel_type"`
	Team        string          `json:"team"`
	Files       json.RawMessage `json:"files"`
}

type wireOuter struct {
	Type      string     `json:"type"`
	Challenge string     `json:"challenge"`
	EventID   string     `json:"event_id"`
	TeamID    string     `json:"team_id"`
	Event     *wireInner `json:"event"`
}

// decodeEvent parses an Events API body (HTTP) or Socket Mode events_api payload.
func decodeEvent(raw []byte) (event, error) {
	var w wireOuter
	if err := json.Unmarshal(raw, &w); err != nil {
		return event{}, fmt.Errorf("decoding event: %w", err)
	}
	switch w.Type {
	case "url_verification":
		if w.Challenge == "" {
			return event{}, errors.New("url_verification without challenge")
		}
		return event{Outer: w.Type, Challenge: w.Challenge}, nil
	case "event_callback":
	case "":
		return event{}, errors.New("event without type")
	default:
		return event{}, fmt.Errorf("%w: %q", errUnsupported, w.Type)
	}
	if w.Event == nil {
		return event{}, errors.New("event_callback without event")
	}
	in := w.Event
	ev := event{Outer: w.Type, EventID: w.EventID, Team: w.TeamID, Type: in.Type, Subtype: in.Subtype,
		User: in.User, BotID: in.BotID, Text: in.Text, TS: in.TS, ThreadTS: in.ThreadTS,
		Channel: in.Channel, ChannelType: in.ChannelType}
	if ev.Team == "" {
		ev.Team = in.Team
	}
	if in.Type != "message" && in.Type != "app_mention" {
		return event{}, fmt.Errorf("%w: event %q", errUnsupported, in.Type)
	}
	if ev.EventID == "" || ev.Team == "" || ev.Channel == "" || ev.TS == "" {
		return event{}, errors.New("message event missing event_id, team, channel or ts")
	}
	ev.Files, ev.MoreFiles = decodeFiles(in.Files)
	return ev, nil
}

// interaction is a decoded button click.
type interaction struct {
	Team      string
	User      string
	Channel   string
	MessageTS string
	ThreadTS  string
	ActionID  string
	Value     string
}

type wireInteraction struct {
	Type string `json:"type"`
	Team struct {
		ID string `json:"id"`
	} `json:"team"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Container struct {
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
	Message struct {
		TS       string `json:"ts"`
		ThreadTS string `json:"thread_ts"`
	} `json:"message"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

// decodeInteraction parses an interactivity payload (the JSON inside the
// HTTP form's payload field, or the Socket Mode interactive payload).
func decodeInteraction(raw []byte) (interaction, error) {
	var w wireInteraction
	if err := json.Unmarshal(raw, &w); err != nil {
		return interaction{}, fmt.Errorf("decoding interaction: %w", err)
	}
	if w.Type != "block_actions" {
		return interaction{}, fmt.Errorf("%w: interaction %q", errUnsupported, w.Type)
	}
	if len(w.Actions) == 0 {
		return interaction{}, errors.New("block_actions without actions")
	}
	it := interaction{Team: w.Team.ID, User: w.User.ID, Channel: w.Channel.ID,
		MessageTS: w.Message.TS, ThreadTS: w.Message.ThreadTS,
		ActionID: w.Actions[0].ActionID, Value: w.Actions[0].Value}
	if it.Channel == "" {
		it.Channel = w.Container.ChannelID
	}
	if it.MessageTS == "" {
		it.MessageTS = w.Container.MessageTS
	}
	if it.User == "" || it.Channel == "" || it.MessageTS == "" {
		return interaction{}, errors.New("block_actions missing user, channel or message ts")
	}
	return it, nil
}
