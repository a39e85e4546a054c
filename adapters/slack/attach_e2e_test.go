package slack

import (
	"fmt"
	"strings"
	"testing"
)

// End to end over the real router and mockcli: an image on a mention
// reaches the agent as an image block (mockcli's echo names it), a text
// file is named in the core's "not forwarded" notice, and a 404 gets the
// adapter's note while the text is still answered.
func TestE2EImageReachesAgent(t *testing.T) {
	eng := newRecEngine(t)
	h := newHarness(t, eng, nil)
	img := pngBytes(t)
	f := h.fake.AddFile("shot.png", "image/png", img)
	txt := h.fake.AddFile("notes.txt", "text/plain", []byte("words"))
	gone := h.fake.FileRef("FE2E404", "gone.png", "image/png", 10)
	ts := h.mentionFiles("describe", "", f, txt, gone)
	want := fmt.Sprintf("ECHO: [image image/png %d bytes]\ndescribe", len(img)) // proc sends images first
	note := "I couldn't attach gone.png (download failed: HTTP 404). The rest of your message went to the agent."
	notice := "Only images are passed to the agent; not forwarded: notes.txt"
	ok := h.fake.WaitUntil(func() bool {
		res, done := eng.result(ts)
		got := strings.Join(h.threadTexts(ts), "\n")
		return done && res == want && strings.Contains(got, note) && strings.Contains(got, notice) &&
			strings.Contains(got, "[image image/png")
	}, wait)
	if !ok {
		res, _ := eng.result(ts)
		t.Fatalf("result %q, thread %q", res, h.threadTexts(ts))
	}
	if texts := h.threadTexts(ts); texts[0] != note {
		t.Errorf("the note must come before the reply: %q", texts)
	}
	h.waitReactions(ts, "white_check_mark")
}
