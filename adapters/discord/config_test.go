package discord

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// derivedEndpoints parses discordgo's endpoints.go and returns the string
// variables whose value depends on EndpointDiscord, directly or through
// another such variable.
func derivedEndpoints(t *testing.T) []string {
	t.Helper()
	file, _ := runtime.FuncForPC(reflect.ValueOf(discordgo.New).Pointer()).FileLine(reflect.ValueOf(discordgo.New).Pointer())
	path := filepath.Join(filepath.Dir(file), "endpoints.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	derived := map[string]bool{"EndpointDiscord": true}
	var order []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if _, isFunc := vs.Values[i].(*ast.FuncLit); isFunc {
					continue
				}
				uses := false
				ast.Inspect(vs.Values[i], func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok && derived[id.Name] {
						uses = true
					}
					return true
				})
				if uses && isStringVar(name.Name) {
					derived[name.Name] = true
					order = append(order, name.Name)
				}
			}
		}
	}
	return order
}

// isStringVar excludes aliases of function endpoints (EndpointGuildEmbed =
// EndpointGuildWidget, EndpointOauth2Application = ...): they read the
// string variables at call time.
func isStringVar(name string) bool {
	for _, e := range endpointVars {
		if e.name == name {
			return true
		}
	}
	switch name {
	case "EndpointGuildEmbed", "EndpointOauth2Application", "EndpointOauth2ApplicationsBot", "EndpointOauth2ApplicationAssets":
		return false
	}
	return true // unknown: reported as missing below
}

func TestEndpointsCoverDiscordgo(t *testing.T) {
	known := map[string]bool{}
	for _, e := range endpointVars {
		known[e.name] = true
	}
	names := derivedEndpoints(t)
	if len(names) < 15 {
		t.Fatalf("found only %d derived endpoints in discordgo's source: %v", len(names), names)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("discordgo's %s derives from EndpointDiscord but setAPIBase does not reassign it", n)
		}
	}
}

func TestSetAPIBasePointsEveryEndpointAtTheBase(t *testing.T) {
	const base = "http://127.0.0.1:9/"
	defer setAPIBase(DefaultAPIURL)
	setAPIBase(base)
	api := base + "api/v9/"
	for _, e := range endpointVars {
		if !strings.HasPrefix(*e.ptr, api) {
			t.Errorf("%s = %q, want prefix %q", e.name, *e.ptr, api)
		}
	}
	for name, got := range map[string]string{
		"gateway":         discordgo.EndpointGateway,
		"message":         discordgo.EndpointChannelMessage("1", "2"),
		"messages":        discordgo.EndpointChannelMessages("1"),
		"thread":          discordgo.EndpointChannelMessageThread("1", "2"),
		"typing":          discordgo.EndpointChannelTyping("1"),
		"reaction":        discordgo.EndpointMessageReaction("1", "2", "e", "@me"),
		"channel":         discordgo.EndpointChannel("1"),
		"callback":        discordgo.EndpointInteractionResponse("1", "t"),
		"original":        discordgo.EndpointInteractionResponseActions("a", "t"),
		"followup":        discordgo.EndpointFollowupMessage("a", "t"),
		"guild commands":  discordgo.EndpointApplicationGuildCommands("a", "g"),
		"global commands": discordgo.EndpointApplicationGlobalCommands("a"),
		"oauth bot":       discordgo.EndpointOauth2ApplicationsBot("a"),
	} {
		if !strings.HasPrefix(got, api) {
			t.Errorf("%s endpoint %q does not start with %q", name, got, api)
		}
	}
	setAPIBase(DefaultAPIURL)
	if discordgo.EndpointChannels != "https://discord.com/api/v9/channels/" {
		t.Errorf("restoring the default gave %q", discordgo.EndpointChannels)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Token: "abc"}
	if err := ok.normalize(); err != nil {
		t.Fatal(err)
	}
	if ok.Token != "Bot abc" || ok.APIURL != DefaultAPIURL || ok.EditInterval != time.Second {
		t.Errorf("defaults %+v", ok)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "DISCORD_TOKEN"},
		{Config{Token: "x", APIURL: "http://h"}, "DISCORD_API_URL must end in /"},
		{Config{Token: "x", APIURL: "ftp://h/"}, "DISCORD_API_URL"},
		{Config{Token: "x", APIURL: "https://discord.com/api/v9/"}, "DISCORD_API_URL must not contain"},
		{Config{Token: "x", EditInterval: -time.Second}, "DISCORD_EDIT_INTERVAL"},
		{Config{Token: "x", AllowedUsers: []string{"alice"}}, "DISCORD_ALLOWED_USERS"},
		{Config{Token: "x", AllowedRoles: []string{""}}, "DISCORD_ALLOWED_ROLES"},
		{Config{Token: "x", AllowedChannels: []string{"#general"}}, "DISCORD_ALLOWED_CHANNELS"},
		{Config{Token: "x", GuildID: "g1"}, "DISCORD_GUILD_ID"},
		{Config{Token: "x", AppID: "app"}, "DISCORD_APP_ID"},
	} {
		err := tc.cfg.normalize()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want mention of %s", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Bot x") {
			t.Errorf("error leaks the token: %v", err)
		}
	}
	if _, err := New(Config{Token: "x"}, nil, nil); err == nil {
		t.Error("New without an engine succeeded")
	}
}

func TestAccessRules(t *testing.T) {
	open := newAccess(Config{})
	if !open.allowed("u", nil, "c", "") {
		t.Error("empty lists must allow everyone")
	}
	a := newAccess(Config{AllowedUsers: []string{"1"}, AllowedRoles: []string{"9"}, AllowedChannels: []string{"5"}})
	for _, tc := range []struct {
		user    string
		roles   []string
		ch, par string
		want    bool
	}{
		{"1", nil, "5", "", true},
		{"2", []string{"9"}, "5", "", true},
		{"2", []string{"8"}, "5", "", false},
		{"1", nil, "6", "", false},
		{"1", nil, "77", "5", true}, // a thread under an allowed channel
	} {
		if got := a.allowed(tc.user, tc.roles, tc.ch, tc.par); got != tc.want {
			t.Errorf("%+v: %v", tc, got)
		}
	}
}

func TestStripMentionAndThreadName(t *testing.T) {
	if got := stripMention("<@42> hi <@!42>  there ", "42"); got != "hi   there" {
		t.Errorf("strip %q", got)
	}
	if got := stripMention("<@43> keep other mentions", "42"); got != "<@43> keep other mentions" {
		t.Errorf("strip %q", got)
	}
	long := strings.Repeat("é", 200)
	if n := len([]rune(threadName(long, "a"))); n > 100 {
		t.Errorf("thread name %d runes", n)
	}
	if threadName("  ", "ann") != "conversation with ann" {
		t.Error("empty thread name")
	}
}
