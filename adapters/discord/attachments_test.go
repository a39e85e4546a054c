package discord

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/fakediscord"
	"github.com/hotline-dev/hotline/core"
	"github.com/hotline-dev/hotline/internal/testenv"
	"github.com/sirupsen/logrus"
)

var (
	pngData = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 50)...)
	gifData = append([]byte("GIF89a"), bytes.Repeat([]byte{1}, 20)...)
)

func withFiles(m map[string]any, files ...fakediscord.File) map[string]any {
	list := make([]any, len(files))
	for i, f := range files {
		list[i] = f
	}
	m["attachments"] = list
	return m
}

// downloadsOf are the recorded requests for f's path.
func downloadsOf(srv *fakediscord.Server, f fakediscord.File) []fakediscord.Download {
	var out []fakediscord.Download
	for _, d := range srv.Downloads() {
		if strings.Contains(f.URL, d.Path+"?") {
			out = append(out, d)
		}
	}
	return out
}

func TestAttachmentsReachEngine(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	shot := h.srv.AddFile(channel, "shot.png", "image/png", pngData)
	notes := h.srv.AddFile(channel, "notes.txt", "", []byte("plain notes\n"))
	anim := h.srv.AddFile(channel, "anim", "application/octet-stream", gifData)
	m := withFiles(h.message(channel, alice, mention("look"), true), shot, notes, anim)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(thread, "ECHO: look")
	in := eng.Inbound()
	if len(in) != 1 || len(in[0].Attachments) != 3 {
		t.Fatalf("inbound %+v", in)
	}
	want := []core.Attachment{
		{Name: "shot.png", MediaType: "image/png", Data: pngData},
		{Name: "notes.txt", MediaType: "text/plain", Data: []byte("plain notes\n")},
		{Name: "anim", MediaType: "image/gif", Data: gifData}, // octet-stream: sniffed
	}
	for i, w := range want {
		got := in[0].Attachments[i]
		if got.Name != w.Name || got.MediaType != w.MediaType || !bytes.Equal(got.Data, w.Data) {
			t.Errorf("attachment %d: %s %s %d bytes, want %s %s %d bytes", i, got.Name, got.MediaType, len(got.Data), w.Name, w.MediaType, len(w.Data))
		}
	}
	downloads := h.srv.Downloads()
	if len(downloads) != 3 {
		t.Fatalf("downloads %+v", downloads)
	}
	for _, d := range downloads {
		// Discord's CDN needs no credentials; the token must not leave for it.
		if !d.Signed || d.Status != http.StatusOK || d.Authorization != "" {
			t.Errorf("download %+v", d)
		}
	}
}

// lockedBuffer collects log output written from the adapter's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAttachmentFailuresAreNotedAndTextStillAnswered(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	logs := &lockedBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	h := startLog(t, eng, nil, log)
	big := h.srv.AddFile(channel, "big.zip", "application/zip", []byte("PK"))
	big.Size = 6 << 20 // announced over the limit: not even downloaded
	liar := h.srv.AddFile(channel, "liar.png", "image/png", make([]byte, maxFileBytes+1))
	liar.Size = 1000 // announced small, served large
	gone := h.srv.AddFile(channel, "gone.txt", "text/plain", []byte("x"))
	h.srv.RemoveFile(gone)
	ok := h.srv.AddFile(channel, "ok.png", "image/png", pngData)
	m := withFiles(h.message(channel, alice, mention("still here"), true), big, liar, gone, ok)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(thread,
		"Not attached: big.zip (6.0 MB, over the 5 MB limit); liar.png (over the 5 MB limit); gone.txt (download failed: HTTP 404). Your message was passed on without them.",
		"ECHO: still here")
	in := eng.Inbound()
	if len(in) != 1 || len(in[0].Attachments) != 1 || in[0].Attachments[0].Name != "ok.png" || !bytes.Equal(in[0].Attachments[0].Data, pngData) {
		t.Fatalf("inbound %+v", in)
	}
	if d := downloadsOf(h.srv, big); len(d) != 0 {
		t.Errorf("the announced-too-big file was downloaded: %+v", d)
	}
	if d := downloadsOf(h.srv, gone); len(d) != 1 || d[0].Status != 404 {
		t.Errorf("gone downloads %+v", d)
	}
	out := logs.String()
	if !strings.Contains(out, "gone.txt") {
		t.Fatalf("no log line for the failed download; the secrecy check proves nothing:\n%s", out)
	}
	for _, secret := range []string{"hm=", "?ex=", fakediscord.Token} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

func TestAttachmentOnlyFailedFileNoTextSubmitsNothing(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	gone := h.srv.AddFile(channel, "gone.png", "image/png", pngData)
	h.srv.RemoveFile(gone)
	m := withFiles(h.message(channel, alice, mention(""), true), gone)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(thread, "Not attached: gone.png (download failed: HTTP 404).")
	// The thread's next message is handled after the first: if the first
	// had been submitted, it would be in Inbound by now.
	h.dispatch("MESSAGE_CREATE", h.message(thread, alice, "next", false))
	h.waitContents(thread, "Not attached: gone.png (download failed: HTTP 404).", "ECHO: next")
	if in := eng.Inbound(); len(in) != 1 || in[0].Text != "next" {
		t.Errorf("inbound %+v", in)
	}
}

func TestAttachmentImageWithoutTextIsSubmitted(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	shot := h.srv.AddFile(channel, "shot.png", "", pngData)
	m := withFiles(h.message(channel, alice, mention(""), true), shot)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.until("done", func([]fakediscord.Call) bool { return h.finished(thread) })
	in := eng.Inbound()
	if len(in) != 1 || in[0].Text != "" || len(in[0].Attachments) != 1 || in[0].Attachments[0].MediaType != "image/png" {
		t.Fatalf("inbound %+v", in)
	}
}

func TestAttachmentDuplicateEventDownloadsOnce(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	shot := h.srv.AddFile(channel, "shot.png", "image/png", pngData)
	m := withFiles(h.message(channel, alice, mention("once"), true), shot)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(thread, "ECHO: once")
	h.dispatch("MESSAGE_CREATE", m)
	h.dispatch("MESSAGE_CREATE", h.message(thread, alice, "after", false))
	h.waitContents(thread, "ECHO: once", "ECHO: after")
	if d := h.srv.Downloads(); len(d) != 1 {
		t.Errorf("downloads %+v", d)
	}
	if n := len(eng.Inbound()); n != 2 {
		t.Errorf("inbound %d", n)
	}
}

func TestAttachmentDownloadKeepsThreadOrder(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	first := h.message(channel, alice, mention("first"), true)
	thread := first["id"].(string)
	h.dispatch("MESSAGE_CREATE", first)
	h.waitContents(thread, "ECHO: first")
	release := h.srv.HoldDownloads()
	defer release()
	slow := h.srv.AddFile(thread, "slow.png", "image/png", pngData)
	h.dispatch("MESSAGE_CREATE", withFiles(h.message(thread, alice, "with file", false), slow))
	h.eventually("download in flight", func() bool { return h.srv.HeldDownloads() == 1 })
	h.dispatch("MESSAGE_CREATE", h.message(thread, alice, "plain after", false))
	release()
	h.waitContents(thread, "ECHO: first", "ECHO: with file", "ECHO: plain after")
	in := eng.Inbound()
	if len(in) != 3 || in[1].Text != "with file" || len(in[1].Attachments) != 1 || in[2].Text != "plain after" {
		t.Errorf("inbound order %+v", in)
	}
}

func TestAttachmentOverTenFiles(t *testing.T) {
	eng := newFakeEngine()
	defer eng.Close()
	h := start(t, eng, nil)
	var files []fakediscord.File
	for i := 0; i < maxFiles+1; i++ {
		files = append(files, h.srv.AddFile(channel, "f"+string(rune('a'+i))+".png", "image/png", pngData))
	}
	m := withFiles(h.message(channel, alice, mention("many"), true), files...)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	h.waitContents(thread, "Not attached: fk.png (more than 10 files in one message). Your message was passed on without it.", "ECHO: many")
	if in := eng.Inbound(); len(in) != 1 || len(in[0].Attachments) != maxFiles {
		t.Errorf("inbound %+v", in)
	}
	if d := h.srv.Downloads(); len(d) != maxFiles {
		t.Errorf("downloads %d", len(d))
	}
}

func TestFileClientTimeoutAndOrigins(t *testing.T) {
	srv := fakediscord.New()
	defer srv.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	fc := newFileClient(tr, srv.URL())
	for _, u := range []string{"https://cdn.discordapp.com/attachments/1/2/a.png?hm=x", "https://MEDIA.discordapp.net/x", srv.URL() + "attachments/x"} {
		if !fc.origins[origin(u)] {
			t.Errorf("%s not allowed", u)
		}
	}
	f := srv.AddFile("1", "a.png", "image/png", pngData)
	for _, u := range []string{"https://evil.example/a.png", "http://cdn.discordapp.com/a.png", ""} {
		_, fl := fc.get(context.Background(), attachmentRef{Name: "a.png", URL: u})
		if fl == nil || fl.reason != "not on Discord's file server" {
			t.Errorf("%q: %v", u, fl)
		}
	}
	// URL elsewhere, proxy URL on the CDN: the proxy is used.
	data, fl := fc.get(context.Background(), attachmentRef{Name: "a.png", URL: "https://evil.example/a.png", ProxyURL: f.ProxyURL})
	if fl != nil || !bytes.Equal(data, pngData) {
		t.Errorf("proxy fallback: %v", fl)
	}
	// A server announcing an oversized body is refused before reading it.
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(maxFileBytes+1))
		w.WriteHeader(200)
	}))
	defer big.Close()
	_, fl = newFileClient(tr, big.URL+"/").get(context.Background(), attachmentRef{Name: "b", URL: big.URL + "/b"})
	if fl == nil || fl.reason != "5.1 MB, over the 5 MB limit" {
		t.Errorf("announced oversize: %v", fl)
	}
	release := srv.HoldDownloads()
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, fl = fc.get(ctx, attachmentRef{Name: "a.png", URL: f.URL})
	if fl == nil || fl.reason != "download timed out" {
		t.Fatalf("held download: %v", fl)
	}
	if fl.cause == nil || strings.Contains(fl.cause.Error(), "hm=") || strings.Contains(fl.cause.Error(), "/attachments/") {
		t.Errorf("cause %v carries the URL", fl.cause)
	}
}

func TestMediaType(t *testing.T) {
	for _, c := range []struct {
		meta string
		data []byte
		want string
	}{
		{"image/PNG; charset=x", gifData, "image/png"}, // the platform's word wins
		{"text/plain; charset=utf-8", []byte("hi"), "text/plain"},
		{"", pngData, "image/png"},
		{"application/octet-stream", gifData, "image/gif"},
		{"not a type", []byte("hello"), "text/plain"},
		{"", nil, "text/plain"}, // DetectContentType's answer for nothing
		{"", []byte{0, 1, 2, 3}, "application/octet-stream"},
	} {
		if got := mediaType(c.meta, c.data); got != c.want {
			t.Errorf("mediaType(%q, %q) = %q, want %q", c.meta, c.data, got, c.want)
		}
	}
}

func TestSafeName(t *testing.T) {
	long := strings.Repeat("é", 150)
	for in, want := range map[string]string{
		"../../etc/passwd": "passwd",
		`C:\x\report.pdf`:  "report.pdf",
		"a\x00b`c\nd":      "abcd",
		"   ":              "attachment 3",
		"dir/":             "attachment 3",
		long:               strings.Repeat("é", maxNameRunes-1) + "…",
	} {
		if got := safeName(in, 2); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// End-to-end: the image travels fake CDN → adapter → core.Router → mockcli,
// which names it in its echo; a text file is held back by the core, which
// says so in the thread.
func TestE2EAttachmentReachesAgent(t *testing.T) {
	h := start(t, testenv.Router(t), nil)
	shot := h.srv.AddFile(channel, "shot.png", "image/png", pngData)
	m := withFiles(h.message(channel, alice, mention("what is this"), true), shot)
	thread := m["id"].(string)
	h.dispatch("MESSAGE_CREATE", m)
	first := "ECHO: [image image/png " + strconv.Itoa(len(pngData)) + " bytes]\nwhat is this"
	h.waitContents(thread, first)
	notes := h.srv.AddFile(thread, "notes.txt", "text/plain; charset=utf-8", []byte("some notes"))
	gone := h.srv.AddFile(thread, "gone.png", "image/png", pngData)
	h.srv.RemoveFile(gone)
	h.dispatch("MESSAGE_CREATE", withFiles(h.message(thread, alice, "and these", false), notes, gone))
	// The adapter's note precedes the submit; the core's notice and the
	// reply stream are posted independently, so their order is open.
	note := "Not attached: gone.png (download failed: HTTP 404). Your message was passed on without it."
	notice := "Only images are passed to the agent; not forwarded: notes.txt"
	h.until("note, notice and reply", func([]fakediscord.Call) bool {
		got := h.contents(thread)
		return len(got) == 4 && got[0] == first && got[1] == note &&
			((got[2] == notice && got[3] == "ECHO: and these") || (got[3] == notice && got[2] == "ECHO: and these"))
	})
	if d := downloadsOf(h.srv, notes); len(d) != 1 || d[0].Status != 200 {
		t.Errorf("notes downloads %+v", d)
	}
}
