package main

import (
	"io"

	"github.com/hotline-dev/hotline/adapters/discord"
	"github.com/hotline-dev/hotline/adapters/slack"
	"github.com/hotline-dev/hotline/adapters/terminal"
)

// addAdapters connects the platforms that have credentials; with none, the
// terminal adapter lets a newcomer chat with the agent at once.
func (b *bridge) addAdapters(stdin io.Reader, stdout io.Writer) error {
	c := b.cfg
	if c.SlackBotToken != "" {
		a, err := slack.New(slack.Config{
			BotToken: c.SlackBotToken, AppToken: c.SlackAppToken, SigningSecret: c.SlackSigningSecret,
			APIURL: c.SlackAPIURL, EditInterval: c.SlackEditInterval,
			AllowedUsers: c.SlackAllowedUsers, AllowedChannels: c.SlackAllowedChannels,
			ListenChannels: c.SlackListenChannels, SlashCommand: c.SlackSlashCommand,
			APICalls: func(m string, s int) { b.metrics.APICall("slack", m, s) },
		}, b.router, b.log.WithField("platform", "slack"))
		if err != nil {
			return err
		}
		b.adapters = append(b.adapters, a)
		if c.SlackSigningSecret != "" {
			b.handlers["/slack/events"] = a.HTTPHandler()
		}
	}
	if c.DiscordToken != "" {
		a, err := discord.New(discord.Config{
			Token: c.DiscordToken, AppID: c.DiscordAppID, GuildID: c.DiscordGuildID,
			APIURL: c.DiscordAPIURL, EditInterval: c.DiscordEditInterval,
			AllowedUsers: c.DiscordAllowedUsers, AllowedRoles: c.DiscordAllowedRoles,
			AllowedChannels: c.DiscordAllowedChannels, ListenChannels: c.DiscordListenChannels,
			APICalls: func(m string, s int) { b.metrics.APICall("discord", m, s) },
		}, b.router, b.log.WithField("platform", "discord"))
		if err != nil {
			return err
		}
		b.adapters = append(b.adapters, a)
	}
	if len(b.adapters) == 0 {
		b.log.Info("no SLACK_BOT_TOKEN or DISCORD_TOKEN: starting the terminal adapter")
		a, err := terminal.New(stdin, stdout, b.router)
		if err != nil {
			return err
		}
		b.adapters = append(b.adapters, a)
	}
	return nil
}
