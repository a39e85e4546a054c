package slack

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
	"github.com/hotline-dev/hotline/core"
)

// mentionFiles posts a mention with files; Slack delivers app_mention and
// a file_share message for it, with the same ts and the same files.
func (h *harness) mentionFiles(text, thread string, files ...fakeslack.File) string {
	ts := fakeslack.UserTS()
	m := fakeslack.Msg{Channel: channel, User: user, Text: "<@" + fakeslack.BotUserID + "> " + text, TS: ts, ThreadTS: thread, Files: files}
	h.inject(fakeslack.MentionEvent(fakeslack.EventID(), m))
	h.inject(fakeslack.MessageEvent(fakeslack.EventID(), m))
	return ts
}

func pngBytes(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// downloadsOf counts the fake's download requests for file id.
func downloadsOf(fake *fakeslack.Server, id string) []fakeslack.Download {
	var out []fakeslack.Download
	for _, d := range fake.Downloads() {
		if strings.Contains(d.Path, "-"+id+"/") {
			out = append(out, d)
		}
	}
	return out
}

func onlySubmission(t *testing.T, eng *scriptEngine) core.Inbound {
	t.Helper()
	eng.wait()
	subs := eng.submitted()
	if len(subs) != 1 {
		t.Fatalf("%d submissions, want 1", len(subs))
	}
	return subs[0]
}

// An image and a text file on a mention reach the engine as attachments
// with their bytes and media types (the core decides what to forward);
// each file is downloaded once, with the bot token, although the mention
// arrives twice (app_mention and message) and is redelivered once.
func TestFilesAttachedOnce(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	img := h.fake.AddFile("shot.png", "image/png", pngBytes(t))
	txt := h.fake.AddFile("notes.txt", "text/plain", []byte("remember the milk\n"))
	ts := fakeslack.UserTS()
	m := fakeslack.Msg{Channel: channel, User: user, Text: "<@UBOT> what is this?", TS: ts, Files: []fakeslack.File{img, txt}}
	ev := fakeslack.MentionEvent(fakeslack.EventID(), m)
	h.inject(ev)
	h.inject(fakeslack.MessageEvent(fakeslack.EventID(), m))
	if _, err := h.fake.Inject(fakeslack.Envelope{Type: "events_api", Payload: ev, RetryAttempt: 1, RetryReason: "timeout"}); err != nil {
		t.Fatal(err)
	}
	h.waitThread(ts, "ECHO: what is this?")
	barrier := h.mention("barrier", "")
	h.waitThread(barrier, "ECHO: barrier")
	eng.wait()
	subs := eng.submitted()
	if len(subs) != 2 {
		t.Fatalf("%d submissions, want 2 (files + barrier)", len(subs))
	}
	atts := subs[0].Attachments
	if len(atts) != 2 || atts[0].Name != "shot.png" || atts[0].MediaType != "image/png" || !bytes.Equal(atts[0].Data, pngBytes(t)) ||
		atts[1].Name != "notes.txt" || atts[1].MediaType != "text/plain" || string(atts[1].Data) != "remember the milk\n" {
		t.Fatalf("attachments %+v", atts)
	}
	for _, f := range []fakeslack.File{img, txt} {
		d := downloadsOf(h.fake, f.ID)
		if len(d) != 1 || d[0].Path != strings.TrimPrefix(f.Download, strings.TrimSuffix(h.fake.APIURL(), "/api/")) ||
			d[0].Authorization != "Bearer xoxb-test" || d[0].Status != 200 {
			t.Fatalf("downloads of %s: %+v", f.Name, d)
		}
	}
	if got := h.threadTexts(ts); len(got) != 1 {
		t.Fatalf("thread %q: no note expected when every file was attached", got)
	}
}

// Files over the limit (by metadata, or by their bytes when the metadata
// understates them), a 404, a file with no download address and a file on
// a foreign host are not attached; one note names each with its reason,
// the text still gets its reply, and the bot token never leaves Slack.
func TestFileProblemsNotedTextStillAnswered(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		_, _ = w.Write([]byte("x"))
	}))
	defer foreign.Close()
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	big := h.fake.FileRef("FBIG", "big.png", "image/png", 6<<20)
	gone := h.fake.FileRef("FGONE", "gone.txt", "text/plain", 10)
	liar := h.fake.AddFile("liar.bin", "application/octet-stream", make([]byte, maxFileBytes+1))
	liar.Size = 100
	ext := fakeslack.File{ID: "FEXT", Name: "doc.gdoc", Mode: "external"}
	evil := fakeslack.File{ID: "FEVIL", Name: "x.png", Mimetype: "image/png", Size: 1, Mode: "hosted",
		URL: foreign.URL + "/x.png", Download: foreign.URL + "/x.png"}
	ok := h.fake.AddFile("ok.txt", "text/plain", []byte("fine"))
	ts := h.mentionFiles("still answer me", "", big, gone, liar, ext, evil, ok)
	note := "I couldn't attach big.png (over the 5 MB limit); gone.txt (download failed: HTTP 404); " +
		"liar.bin (over the 5 MB limit); doc.gdoc (it is stored outside Slack); x.png (its download address is not on Slack)." +
		" The rest of your message went to the agent."
	h.waitThread(ts, note+"ECHO: still answer me")
	in := onlySubmission(t, eng)
	if in.Text != "still answer me" || len(in.Attachments) != 1 || in.Attachments[0].Name != "ok.txt" {
		t.Fatalf("submitted %q with %+v", in.Text, in.Attachments)
	}
	if n := len(downloadsOf(h.fake, "FBIG")); n != 0 {
		t.Errorf("oversized file downloaded %d times; its metadata said it was too big", n)
	}
	if n := len(downloadsOf(h.fake, "FGONE")); n != 1 {
		t.Errorf("404 file requested %d times, want 1", n)
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the foreign host got %d requests", n)
	}
}

// At most ten files are attached; the rest are named in the note.
func TestAtMostTenFiles(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	var files []fakeslack.File
	for i := range maxFiles + 1 {
		files = append(files, h.fake.AddFile(fmt.Sprintf("f%d.txt", i), "text/plain", []byte{'a' + byte(i)}))
	}
	ts := h.mentionFiles("many", "", files...)
	h.waitThread(ts, "I couldn't attach f10.txt (only 10 files per message are attached). The rest of your message went to the agent.ECHO: many")
	if in := onlySubmission(t, eng); len(in.Attachments) != maxFiles || string(in.Attachments[9].Data) != "j" {
		t.Fatalf("%d attachments", len(in.Attachments))
	}
	if n := len(h.fake.Downloads()); n != maxFiles {
		t.Fatalf("%d downloads, want %d", n, maxFiles)
	}
}

// A mention with only an image (no words) is submitted with empty text;
// one whose only file fails gets the note and no turn.
func TestFileOnlyMentions(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	img := h.fake.AddFile("only.png", "", pngBytes(t)) // no metadata: sniffed
	h.mentionFiles("", "", img)
	gone := h.fake.FileRef("FGONE2", "lost.png", "image/png", 10)
	ts := h.mentionFiles("", "", gone)
	h.waitThread(ts, "I couldn't attach lost.png (download failed: HTTP 404).")
	barrier := h.mention("barrier", "")
	h.waitThread(barrier, "ECHO: barrier")
	eng.wait()
	subs := eng.submitted()
	if len(subs) != 2 || subs[0].Text != "" || len(subs[0].Attachments) != 1 || subs[0].Attachments[0].MediaType != "image/png" {
		t.Fatalf("submitted %+v", subs)
	}
}

// While one thread's file downloads, that thread's later messages wait
// behind it (order kept) and other threads are served at once.
func TestDownloadKeepsThreadOrderOnly(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	img := h.fake.AddFile("slow.png", "image/png", pngBytes(t))
	release := h.fake.HoldFile(img.ID)
	defer release()
	ts := h.mentionFiles("first", "", img)
	if !h.fake.WaitUntil(func() bool { return len(h.fake.Downloads()) == 1 }, wait) {
		t.Fatal("download never started")
	}
	h.say(user, "second", ts)
	other := h.mention("elsewhere", "")
	h.waitThread(other, "ECHO: elsewhere")
	if subs := eng.submitted(); len(subs) != 1 || subs[0].Text != "elsewhere" {
		t.Fatalf("submitted %+v while the download was held; want only the other thread", subs)
	}
	release()
	h.waitThread(ts, "ECHO: firstECHO: second")
	eng.wait()
	subs := eng.submitted()
	if len(subs) != 3 || subs[1].Text != "first" || len(subs[1].Attachments) != 1 || subs[2].Text != "second" {
		t.Fatalf("order %+v", subs)
	}
}

// Shutdown during a download stops it: Run returns, nothing is submitted,
// the thread is asked to resend, and no goroutine is left (goleak).
func TestShutdownDuringDownload(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	f := h.fake.AddFile("held.png", "image/png", pngBytes(t))
	release := h.fake.HoldFile(f.ID)
	defer release()
	ts := h.mentionFiles("never mind", "", f)
	if !h.fake.WaitUntil(func() bool { return len(h.fake.Downloads()) == 1 }, wait) {
		t.Fatal("download never started")
	}
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // h.stop runs at cleanup and checks it
	case <-time.After(wait):
		t.Fatal("Run did not return while a download was held")
	}
	if subs := eng.submitted(); len(subs) != 0 {
		t.Fatalf("submitted %+v during shutdown", subs)
	}
	if got := h.threadTexts(ts); len(got) != 1 || got[0] != core.ErrClosed.Error() {
		t.Fatalf("thread %q, want the resend notice", got)
	}
}
