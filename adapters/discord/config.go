package discord

import (
	"errors"
	"fmt"
	"github.com/hotline-dev/hotline/adapters/apimetrics"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// DefaultAPIURL is Discord's own base.
const DefaultAPIURL = "https://discord.com/"

// Config is the Discord adapter's settings; the names in comments are the
// environment variables cmd/bridge maps onto the fields.
type Config struct {
	Token   string // DISCORD_TOKEN (with or without the "Bot " prefix)
	AppID   string // DISCORD_APP_ID; empty: taken from READY
	GuildID string // DISCORD_GUILD_ID; scopes command registration, empty = global

	APIURL       string        // DISCORD_API_URL, base without the API path
	EditInterval time.Duration // DISCORD_EDIT_INTERVAL, default 1s

	AllowedUsers    []string            // DISCORD_ALLOWED_USERS; empty with AllowedRoles empty = everyone
	AllowedRoles    []string            // DISCORD_ALLOWED_ROLES
	AllowedChannels []string            // DISCORD_ALLOWED_CHANNELS; empty = every channel
	ListenChannels  []string            // a message here starts a conversation without a mention
	AllowBots       bool                // accept messages from other bots (never our own)
	APICalls        apimetrics.Observer // optional: told of every REST call (metrics)
}

func (c *Config) normalize() error {
	c.Token = strings.TrimSpace(c.Token)
	if c.Token == "" {
		return errors.New("DISCORD_TOKEN is required")
	}
	if !strings.HasPrefix(c.Token, "Bot ") {
		c.Token = "Bot " + c.Token
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("DISCORD_API_URL must be an http(s) URL, got %q", c.APIURL)
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		return errors.New("DISCORD_API_URL must end in /")
	}
	if strings.Contains(u.Path, "/api/") {
		return errors.New("DISCORD_API_URL must not contain the API path (api/v9/); give the base, e.g. https://discord.com/")
	}
	if c.EditInterval == 0 {
		c.EditInterval = time.Second
	}
	if c.EditInterval < 0 {
		return fmt.Errorf("DISCORD_EDIT_INTERVAL must be positive, got %s", c.EditInterval)
	}
	for name, list := range map[string][]string{
		"DISCORD_ALLOWED_USERS": c.AllowedUsers, "DISCORD_ALLOWED_ROLES": c.AllowedRoles,
		"DISCORD_ALLOWED_CHANNELS": c.AllowedChannels, "DISCORD_LISTEN_CHANNELS": c.ListenChannels,
	} {
		for _, id := range list {
			if !isSnowflake(id) {
				return fmt.Errorf("%s: %q is not a Discord id (digits only)", name, id)
			}
		}
	}
	if c.AppID != "" && !isSnowflake(c.AppID) {
		return fmt.Errorf("DISCORD_APP_ID: %q is not a Discord id (digits only)", c.AppID)
	}
	if c.GuildID != "" && !isSnowflake(c.GuildID) {
		return fmt.Errorf("DISCORD_GUILD_ID: %q is not a Discord id (digits only)", c.GuildID)
	}
	return nil
}

func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// endpointVars are discordgo's string endpoints derived from
// EndpointDiscord, each with its path below the base. discordgo computes them
// once at init, so changing EndpointDiscord alone would leave them pointing
// at discord.com. The function endpoints read these variables at call time.
// TestEndpointsCoverDiscordgo parses discordgo's endpoints.go to keep this
// list complete.
var endpointVars = []struct {
	name string
	ptr  *string
	path string // below the API base (api/v<N>/)
}{
	{"EndpointAPI", &discordgo.EndpointAPI, ""},
	{"EndpointGuilds", &discordgo.EndpointGuilds, "guilds/"},
	{"EndpointChannels", &discordgo.EndpointChannels, "channels/"},
	{"EndpointUsers", &discordgo.EndpointUsers, "users/"},
	{"EndpointGateway", &discordgo.EndpointGateway, "gateway"},
	{"EndpointGatewayBot", &discordgo.EndpointGatewayBot, "gateway/bot"},
	{"EndpointWebhooks", &discordgo.EndpointWebhooks, "webhooks/"},
	{"EndpointStickers", &discordgo.EndpointStickers, "stickers/"},
	{"EndpointStageInstances", &discordgo.EndpointStageInstances, "stage-instances"},
	{"EndpointSKUs", &discordgo.EndpointSKUs, "skus"},
	// discordgo writes these two with a doubled slash; keep its shape.
	{"EndpointVoice", &discordgo.EndpointVoice, "/voice/"},
	{"EndpointVoiceRegions", &discordgo.EndpointVoiceRegions, "/voice/regions"},
	{"EndpointNitroStickersPacks", &discordgo.EndpointNitroStickersPacks, "/sticker-packs"},
	{"EndpointGuildCreate", &discordgo.EndpointGuildCreate, "guilds"},
	{"EndpointApplications", &discordgo.EndpointApplications, "applications"},
	{"EndpointOAuth2", &discordgo.EndpointOAuth2, "oauth2/"},
	{"EndpointOAuth2Applications", &discordgo.EndpointOAuth2Applications, "oauth2/applications"},
	{"EndpointOauth2", &discordgo.EndpointOauth2, "oauth2/"},
	{"EndpointOauth2Applications", &discordgo.EndpointOauth2Applications, "oauth2/applications"},
}

// setAPIBase points every discordgo REST endpoint at base (ending in /).
// The endpoints are process-wide: all Discord adapters in one process share
// one base. Call it only while no session is running.
func setAPIBase(base string) {
	discordgo.EndpointDiscord = base
	api := base + "api/v" + discordgo.APIVersion + "/"
	for _, e := range endpointVars {
		*e.ptr = api + e.path
	}
}
