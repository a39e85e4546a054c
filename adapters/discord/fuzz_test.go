package discord

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzDecodeMessageCreate(f *testing.F) {
	for _, s := range []string{
		`{"id":"11","channel_id":"22","guild_id":"33","content":"<@900000000000000001> hi","author":{"id":"44","username":"a"},"mentions":[{"id":"900000000000000001"}],"member":{"roles":["55"],"nick":"A"}}`,
		`{"id":"11","channel_id":"22","content":"dm","author":{"id":"44","bot":true}}`,
		`{"id":"11","channel_id":"22"}`,
		`{"id":"","channel_id":"22","author":{"id":"44"}}`,
		`{"id":"1 1","channel_id":"22","author":{"id":"44"}}`,
		`{"mentions":[null],"id":"1","channel_id":"2","author":{"id":"3"}}`,
		`{"id":"1","channel_id":"2","author":{"id":"3"},"content":"<@<@900000000000000001>900000000000000001>"}`,
		`{"id":"1","channel_id":"2","author":{"id":"3"},"attachments":[{"id":"4","filename":"a.png","content_type":"image/png","size":10,"url":"https://cdn.discordapp.com/attachments/2/4/a.png?ex=1&is=2&hm=3","proxy_url":"https://media.discordapp.net/attachments/2/4/a.png?ex=1"}]}`,
		`{"id":"1","channel_id":"2","author":{"id":"3"},"attachments":[null,{"id":"x","filename":"../../\u0000` + "`" + `.txt","size":-1,"url":"javascript:alert(1)"},{}]}`,
		`{"id":"1","channel_id":"2","author":{"id":"3"},"attachments":[{"filename":"` + strings.Repeat("é", 120) + `","url":"http://[::1"}]}`,
		`{"id":"1","channel_id":"2","author":{"id":"3"},"attachments":{"id":"4"}}`,
		`null`, `"x"`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decodeMessageCreate(raw)
		if err != nil {
			return
		}
		if !isSnowflake(ev.ID) || !isSnowflake(ev.ChannelID) || ev.AuthorID == "" {
			t.Fatalf("accepted a message without valid ids: %+v", ev)
		}
		const bot = "900000000000000001"
		if s := stripMention(ev.Content, bot); strings.Contains(s, "<@"+bot+">") || strings.Contains(s, "<@!"+bot+">") {
			t.Fatalf("mention survived stripping: %q", s)
		}
		_ = ev.mentions(bot)
		for _, at := range ev.Attachments {
			checkRef(t, at)
		}
	})
}

func checkRef(t *testing.T, at attachmentRef) {
	t.Helper()
	if at.Name == "" || utf8.RuneCountInString(at.Name) > maxNameRunes || strings.ContainsAny(at.Name, "/\\`\n\r\x00") {
		t.Fatalf("unsafe name %q", at.Name)
	}
	if at.ID != "" && !isSnowflake(at.ID) {
		t.Fatalf("bad id kept: %q", at.ID)
	}
	for _, u := range []string{at.URL, at.ProxyURL} {
		if u == "" {
			continue
		}
		if o := origin(u); !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			t.Fatalf("non-http URL kept: %q", u)
		}
	}
}

// FuzzMediaType: whatever the metadata and bytes, the answer is one bare
// lowercase type/subtype, so the core's image check sees a clean value.
func FuzzMediaType(f *testing.F) {
	f.Add("image/png", []byte("\x89PNG\r\n\x1a\n"))
	f.Add("", []byte("GIF89a"))
	f.Add("TEXT/Plain; charset=UTF-8", []byte("hi"))
	f.Add("application/octet-stream", []byte{0xff, 0xd8, 0xff})
	f.Add("image/", []byte{})
	f.Add("a/b; c", []byte("RIFF\x00\x00\x00\x00WEBPVP"))
	f.Fuzz(func(t *testing.T, meta string, data []byte) {
		mt := mediaType(meta, data)
		if !strings.Contains(mt, "/") || strings.ContainsAny(mt, "; \t") || mt != strings.ToLower(mt) {
			t.Fatalf("mediaType(%q, …) = %q", meta, mt)
		}
	})
}

func FuzzDecodeInteractionCreate(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","token":"t","channel_id":"2","type":2,"guild_id":"3","member":{"user":{"id":"4","username":"u"},"roles":["5"]},"data":{"name":"agent","options":[{"type":1,"name":"ask","options":[{"type":3,"name":"prompt","value":"hi"}]}]}}`,
		`{"id":"1","token":"t","channel_id":"2","type":2,"user":{"id":"4"},"data":{"name":"agent","options":[{"type":1,"name":"status"}]}}`,
		`{"id":"1","token":"t","channel_id":"2","type":2,"user":{"id":"4"},"data":{"name":"agent","options":[{"type":1,"name":"ask","options":[{"type":3,"name":"prompt","value":5}]}]}}`,
		`{"id":"1","token":"t","channel_id":"2","type":3,"user":{"id":"4"},"data":{"custom_id":"hotline_approve:req-1"}}`,
		`{"id":"1","token":"t","channel_id":"2","type":3,"user":{"id":"4"},"data":{"custom_id":"hotline_deny:"}}`,
		`{"id":"1","token":"t","channel_id":"2","type":3,"user":{"id":"4"},"data":{"custom_id":"other"}}`,
		`{"id":"1","token":"t","channel_id":"2","type":2}`,
		`{"id":"1","token":"t","channel_id":"2","type":4,"user":{"id":"4"},"data":{}}`,
		`{"id":"1","type":2,"data":[1]}`,
		`{"id":"1","token":"t","channel_id":"2","type":2,"user":{"id":"4"},"data":{"name":"agent","options":[null]}}`,
		`null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decodeInteractionCreate(raw)
		if err != nil {
			return
		}
		if ev.ID == "" || ev.Token == "" || ev.ChannelID == "" || ev.UserID == "" || ev.raw == nil {
			t.Fatalf("accepted an interaction without ids: %+v", ev)
		}
		switch ev.Kind {
		case kindCommand:
			if _, ok := subcommands[ev.Sub]; !ok {
				t.Fatalf("unknown subcommand accepted: %q", ev.Sub)
			}
			if ev.Sub == "ask" && strings.TrimSpace(ev.Prompt) == "" {
				t.Fatal("ask without prompt accepted")
			}
		case kindButton:
			if ev.RequestID == "" || len(ev.RequestID) > maxRequestID {
				t.Fatalf("bad request id accepted: %q", ev.RequestID)
			}
		default:
			t.Fatalf("accepted kind %d", ev.Kind)
		}
	})
}
