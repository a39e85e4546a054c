package discord

import (
	"sync"

	"github.com/bwmarrin/discordgo"
)

// chanInfo is what the adapter knows about a channel.
type chanInfo struct {
	guild  string
	parent string // for threads: the channel the thread lives in
	thread bool
	// active: the bot converses here, so messages continue without a
	// mention (threads the bot created or was mentioned in).
	active bool
}

// channelCache is a bounded map of channel facts, filled by THREAD_CREATE,
// by the bot's own thread creation and by channel lookups. The oldest
// entry goes when it is full.
type channelCache struct {
	mu    sync.Mutex
	m     map[string]chanInfo
	order []string // insertion order, for eviction
	max   int
}

func newChannelCache(max int) *channelCache {
	return &channelCache{m: make(map[string]chanInfo), max: max}
}

func (c *channelCache) get(id string) (chanInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci, ok := c.m[id]
	return ci, ok
}

func (c *channelCache) put(id string, ci chanInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[id]; ok {
		ci.active = ci.active || old.active
		c.m[id] = ci
		return
	}
	for len(c.order) >= c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[id] = ci
	c.order = append(c.order, id)
}

func isThreadType(t discordgo.ChannelType) bool {
	return t == discordgo.ChannelTypeGuildPublicThread || t == discordgo.ChannelTypeGuildPrivateThread ||
		t == discordgo.ChannelTypeGuildNewsThread
}

func infoOf(ch *discordgo.Channel, botID string) chanInfo {
	ci := chanInfo{guild: ch.GuildID}
	if isThreadType(ch.Type) {
		ci.thread, ci.parent = true, ch.ParentID
		ci.active = botID != "" && ch.OwnerID == botID
	}
	return ci
}

// access is the allow-list check.
type access struct {
	users, roles, channels map[string]bool
}

func newAccess(cfg Config) access {
	return access{users: set(cfg.AllowedUsers), roles: set(cfg.AllowedRoles), channels: set(cfg.AllowedChannels)}
}

// allowed: a channel list, if set, must name the channel or (for threads)
// its parent; a user or role list, if either is set, must name the user or
// one of their roles. DMs have no roles and pass a channel list only if
// the DM channel is on it.
func (a access) allowed(user string, roles []string, channel, parent string) bool {
	if len(a.channels) > 0 && !a.channels[channel] && (parent == "" || !a.channels[parent]) {
		return false
	}
	if len(a.users) == 0 && len(a.roles) == 0 {
		return true
	}
	if a.users[user] {
		return true
	}
	for _, r := range roles {
		if a.roles[r] {
			return true
		}
	}
	return false
}
