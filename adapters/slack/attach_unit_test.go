package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMediaType(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n0000")
	gif := []byte("GIF89a000000")
	for _, c := range []struct {
		meta string
		data []byte
		want string
	}{
		{"image/png", png, "image/png"},
		{"", png, "image/png"},                         // no metadata: sniffed
		{"application/octet-stream", gif, "image/gif"}, // generic metadata: sniffed
		{"image/jpeg", png, "image/png"},               // a mislabelled image: the bytes win
		{"IMAGE/PNG; x=1", png, "image/png"},
		{"text/plain", []byte("hi"), "text/plain"},
		{"application/pdf", []byte("%PDF-1.4"), "application/pdf"},
		{"", []byte("plain words"), "text/plain"},
		{"image/png", []byte("not a png"), "image/png"}, // metadata kept when the bytes are no known image
		{"", nil, "text/plain"},
	} {
		if got := mediaType(c.meta, c.data); got != c.want {
			t.Errorf("mediaType(%q, %q) = %q, want %q", c.meta, c.data, got, c.want)
		}
	}
}

func TestSlackHosted(t *testing.T) {
	a, err := New(Config{BotToken: "xoxb-t", SigningSecret: "s"}, newScriptEngine(), testLog())
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]bool{
		"https://files.slack.com/files-pri/T1-F1/a.png": true,
		"https://slack.com/files-pri/T1-F1/a.png":       true,
		"http://files.slack.com/files-pri/T1-F1/a.png":  false, // the token never goes in clear text
		"https://files.slack.com.evil.test/a.png":       false,
		"https://evilslack.com/a.png":                   false,
		"https://user@files.slack.com/a.png":            false,
		"https://cdn.discordapp.com/a.png":              false,
		"not a url\x7f":                                 false,
		"":                                              false,
	} {
		if got := a.slackHosted(raw); got != want {
			t.Errorf("slackHosted(%q) = %v, want %v", raw, got, want)
		}
	}
}

// A sign-in page (Slack's answer to a token without files:read) is not
// attached as the file, whatever its status.
func TestFetchRejectsLoginPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html>sign in</html>"))
	}))
	defer srv.Close()
	a, err := New(Config{BotToken: "xoxb-t", SigningSecret: "s", APIURL: srv.URL + "/api/"}, newScriptEngine(), testLog())
	if err != nil {
		t.Fatal(err)
	}
	defer a.transport.CloseIdleConnections()
	_, err = a.fetch(context.Background(), fileRef{ID: "F1", Name: "a.png", Mimetype: "image/png", Size: 10, URL: srv.URL + "/files-pri/T-F1/a.png"})
	if !errors.Is(err, errLoginPage) {
		t.Fatalf("fetch: %v, want the sign-in page error", err)
	}
	if strings.Contains(reason(err), srv.URL) {
		t.Fatalf("reason %q shows the file address", reason(err))
	}
}

// Malformed file metadata marks that file bad but keeps the message.
func TestDecodeFilesLenient(t *testing.T) {
	base := `{"type":"event_callback","event_id":"E1","team_id":"T1","event":{"type":"message","channel":"C1","ts":"1.1","text":"hi","files":%s}}`
	for files, want := range map[string][]string{
		`1`:   {"its metadata was unreadable"},
		`[1]`: {"its metadata was unreadable"},
		`[{"id":"F1","name":"a.png","size":"big","url_private":"https://files.slack.com/a"}]`: {"its metadata was unreadable"},
		`[{"id":"F1","name":"a.png","mode":"tombstone"}]`:                                     {"it was deleted"},
		`[{"id":"F1","name":"a.png","file_access":"check_file_info"}]`:                        {"Slack did not share its contents with the bot"},
		`[{"id":"F1","name":"a.png","size":3,"url_private":"https://files.slack.com/a"}]`:     {""},
		`null`: nil,
	} {
		ev, err := decodeEvent([]byte(strings.Replace(base, "%s", files, 1)))
		if err != nil {
			t.Errorf("%s: %v (the text must survive bad file metadata)", files, err)
			continue
		}
		var got []string
		for _, f := range ev.Files {
			got = append(got, f.Bad)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || ev.Text != "hi" {
			t.Errorf("%s: reasons %q, text %q", files, got, ev.Text)
		}
	}
	many := make([]any, maxFileRefs+7)
	for i := range many {
		many[i] = map[string]any{"id": "F", "name": "n"}
	}
	raw, _ := json.Marshal(many)
	if refs, more := decodeFiles(raw); len(refs) != maxFileRefs || more != 7 {
		t.Fatalf("decodeFiles kept %d, counted %d more", len(refs), more)
	}
	long := fileName(wireFile{Name: strings.Repeat("x", 500) + "\n\t y"})
	if len([]rune(long)) != 81 || strings.ContainsAny(long, "\n\t") {
		t.Fatalf("fileName %q not trimmed", long)
	}
}

func FuzzDecodeFiles(f *testing.F) {
	for _, s := range []string{
		`[{"id":"F1","name":"a.png","mimetype":"image/png","size":3,"mode":"hosted","url_private":"https://files.slack.com/a","url_private_download":"https://files.slack.com/d"}]`,
		`[{"id":"F2","mode":"tombstone"},{"name":"  \n "},{"size":-5,"url_private":"u"}]`,
		`[{"id":"F3","file_access":"check_file_info"}]`, `{"id":"F"}`, `[1,"x",null]`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		refs, more := decodeFiles(raw)
		if len(refs) > maxFileRefs || more < 0 {
			t.Fatalf("%d refs, %d more", len(refs), more)
		}
		for _, r := range refs {
			if r.Name == "" || (r.Bad == "" && (r.URL == "" || r.Size < 0)) {
				t.Fatalf("unusable ref accepted: %+v", r)
			}
		}
	})
}

func FuzzMediaType(f *testing.F) {
	f.Add("image/png", []byte("\x89PNG\r\n\x1a\n"))
	f.Add("", []byte("GIF89a"))
	f.Add("text/plain; charset=utf-8", []byte("hi"))
	f.Add("bad;;type", []byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, meta string, data []byte) {
		mt := mediaType(meta, data)
		if mt == "" || strings.ContainsAny(mt, "; ") {
			t.Fatalf("mediaType(%q, …) = %q: want a bare media type", meta, mt)
		}
	})
}
