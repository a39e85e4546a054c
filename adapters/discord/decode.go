package discord

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// discordgo decodes gateway payloads itself and, when a payload is
// malformed, logs the error and still hands the half-filled struct to the
// handlers. Everything below treats those structs as outside input: every
// field the adapter relies on is checked here, once.

// msgEvent is a checked MESSAGE_CREATE.
type msgEvent struct {
	ID, ChannelID, GuildID string
	AuthorID, AuthorName   string
	Bot                    bool
	Content                string
	Roles                  []string
	Mentions               []string // user ids mentioned
	Attachments            []attachmentRef
}

// mentions reports whether the message mentions the bot.
func (m msgEvent) mentions(botID string) bool {
	if botID == "" {
		return false
	}
	for _, id := range m.Mentions {
		if id == botID {
			return true
		}
	}
	return strings.Contains(m.Content, "<@"+botID+">") || strings.Contains(m.Content, "<@!"+botID+">")
}

// stripMention removes the bot's own mention in both forms; the rest is
// the user's text, trimmed of the space the mention leaves.
func stripMention(text, botID string) string {
	// Repeat: removing one mention can join the halves of another
	// ("<@<@1>1>"); each pass shortens the text, so this ends.
	for botID != "" {
		s := strings.ReplaceAll(text, "<@"+botID+">", "")
		s = strings.ReplaceAll(s, "<@!"+botID+">", "")
		if s == text {
			break
		}
		text = s
	}
	return strings.TrimSpace(text)
}

var errNoMessage = errors.New("message payload without id, channel or author")

func decodeMessage(m *discordgo.Message) (msgEvent, error) {
	if m == nil || m.ID == "" || m.ChannelID == "" || m.Author == nil || m.Author.ID == "" {
		return msgEvent{}, errNoMessage
	}
	if !isSnowflake(m.ID) || !isSnowflake(m.ChannelID) || (m.GuildID != "" && !isSnowflake(m.GuildID)) {
		return msgEvent{}, fmt.Errorf("message payload with malformed ids (id %q, channel %q)", m.ID, m.ChannelID)
	}
	ev := msgEvent{
		ID: m.ID, ChannelID: m.ChannelID, GuildID: m.GuildID,
		AuthorID: m.Author.ID, AuthorName: m.Author.Username, Bot: m.Author.Bot,
		Content: m.Content, Attachments: decodeAttachments(m.Attachments),
	}
	if m.Member != nil {
		ev.Roles = m.Member.Roles
		if m.Member.Nick != "" {
			ev.AuthorName = m.Member.Nick
		}
	}
	for _, u := range m.Mentions {
		if u != nil {
			ev.Mentions = append(ev.Mentions, u.ID)
		}
	}
	return ev, nil
}

// decodeMessageCreate parses a raw MESSAGE_CREATE payload the way the
// gateway path does (discordgo's types, then the adapter's checks).
func decodeMessageCreate(raw []byte) (msgEvent, error) {
	var mc discordgo.MessageCreate
	if err := json.Unmarshal(raw, &mc); err != nil {
		return msgEvent{}, fmt.Errorf("decode MESSAGE_CREATE: %w", err)
	}
	return decodeMessage(mc.Message)
}

type interactionKind int

const (
	kindCommand interactionKind = iota + 1
	kindButton
)

// interactionEvent is a checked INTERACTION_CREATE the adapter handles.
type interactionEvent struct {
	Kind               interactionKind
	ID, Token, AppID   string
	ChannelID, GuildID string
	UserID, UserName   string
	Roles              []string
	Sub, Prompt        string // commands
	Allow              bool   // buttons: approve or deny
	RequestID          string // buttons
	MessageID          string // buttons: the message clicked
	raw                *discordgo.Interaction
}

const (
	approvePrefix = "hotline_approve:"
	denyPrefix    = "hotline_deny:"
	maxRequestID  = 80 // custom_id is at most 100 characters
)

func decodeInteraction(i *discordgo.Interaction) (interactionEvent, error) {
	if i == nil || i.ID == "" || i.Token == "" || i.ChannelID == "" {
		return interactionEvent{}, errors.New("interaction payload without id, token or channel")
	}
	ev := interactionEvent{ID: i.ID, Token: i.Token, AppID: i.AppID, ChannelID: i.ChannelID, GuildID: i.GuildID, raw: i}
	switch {
	case i.Member != nil && i.Member.User != nil:
		ev.UserID, ev.UserName, ev.Roles = i.Member.User.ID, i.Member.User.Username, i.Member.Roles
		if i.Member.Nick != "" {
			ev.UserName = i.Member.Nick
		}
	case i.User != nil:
		ev.UserID, ev.UserName = i.User.ID, i.User.Username
	}
	if ev.UserID == "" {
		return interactionEvent{}, errors.New("interaction payload without a user")
	}
	switch d := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		if i.Type != discordgo.InteractionApplicationCommand {
			return interactionEvent{}, fmt.Errorf("interaction type %d not handled", i.Type)
		}
		return decodeCommand(ev, d)
	case discordgo.MessageComponentInteractionData:
		return decodeButton(ev, d)
	}
	return interactionEvent{}, fmt.Errorf("interaction type %d not handled", i.Type)
}

func decodeCommand(ev interactionEvent, d discordgo.ApplicationCommandInteractionData) (interactionEvent, error) {
	if d.Name != commandName {
		return ev, fmt.Errorf("unknown command %q", d.Name)
	}
	if len(d.Options) != 1 || d.Options[0] == nil || d.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		return ev, errors.New("command without exactly one subcommand")
	}
	sub := d.Options[0]
	if _, ok := subcommands[sub.Name]; !ok {
		return ev, fmt.Errorf("unknown subcommand %q", sub.Name)
	}
	ev.Kind, ev.Sub = kindCommand, sub.Name
	if sub.Name == "ask" {
		for _, o := range sub.Options {
			if o != nil && o.Name == "prompt" && o.Type == discordgo.ApplicationCommandOptionString {
				ev.Prompt, _ = o.Value.(string)
			}
		}
		if strings.TrimSpace(ev.Prompt) == "" {
			return ev, errors.New("ask without a prompt")
		}
	}
	return ev, nil
}

func decodeButton(ev interactionEvent, d discordgo.MessageComponentInteractionData) (interactionEvent, error) {
	id := d.CustomID
	switch {
	case strings.HasPrefix(id, approvePrefix):
		ev.Allow, ev.RequestID = true, id[len(approvePrefix):]
	case strings.HasPrefix(id, denyPrefix):
		ev.RequestID = id[len(denyPrefix):]
	default:
		return ev, fmt.Errorf("unknown component %q", id)
	}
	if ev.RequestID == "" || len(ev.RequestID) > maxRequestID {
		return ev, fmt.Errorf("component %q without a valid request id", id)
	}
	ev.Kind = kindButton
	if ev.raw.Message != nil {
		ev.MessageID = ev.raw.Message.ID
	}
	return ev, nil
}

// decodeInteractionCreate parses a raw INTERACTION_CREATE payload the way
// the gateway path does.
func decodeInteractionCreate(raw []byte) (interactionEvent, error) {
	var ic discordgo.InteractionCreate
	if err := json.Unmarshal(raw, &ic); err != nil {
		return interactionEvent{}, fmt.Errorf("decode INTERACTION_CREATE: %w", err)
	}
	return decodeInteraction(ic.Interaction)
}
