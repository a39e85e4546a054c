package reply

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkSplit asserts the properties every Split result must have.
func checkSplit(t *testing.T, text string, limit int) []string {
	t.Helper()
	parts := Split(text, limit)
	if text == "" {
		if parts != nil {
			t.Fatalf("Split(\"\") = %q, want nil", parts)
		}
		return parts
	}
	if got := Join(parts); got != text {
		t.Fatalf("Join(Split(%q, %d)) = %q\nparts: %q", text, limit, got, parts)
	}
	for i, p := range parts {
		if p == "" {
			t.Fatalf("part %d is empty; parts %q", i, parts)
		}
		if limit > 0 && utf8.RuneCountInString(p) > limit {
			t.Fatalf("part %d has %d runes > limit %d: %q", i, utf8.RuneCountInString(p), limit, p)
		}
	}
	if balanceExpected(text, limit) {
		for i, p := range parts {
			if !balanced(p) {
				t.Fatalf("part %d of %d leaves a fence open (limit %d): %q\nall: %q", i, len(parts), limit, p, parts)
			}
		}
	}
	return parts
}

// balanced reports whether a message, read on its own, closes every fence it
// opens (its end counts as the end of its last line).
func balanced(s string) bool {
	var f fence
	for _, line := range strings.Split(s, "\n") {
		f = f.next(line)
	}
	return f.run == 0
}

// balanceExpected is when Split promises balanced fences in every part: the
// text itself balanced, and every line with a backtick short enough to be
// neither split nor too long to repeat.
func balanceExpected(text string, limit int) bool {
	if limit < 24 || !balanced(text) {
		return false
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.IndexByte(line, '`') >= 0 && utf8.RuneCountInString(line) > limit/4 {
			return false
		}
	}
	return true
}

func TestSplitEmptyAndSmall(t *testing.T) {
	if got := Split("", 10); got != nil {
		t.Fatalf("Split empty = %q", got)
	}
	if got := Split("hello", 10); len(got) != 1 || got[0] != "hello" {
		t.Fatalf("Split short = %q", got)
	}
	if got := Split(strings.Repeat("x", 50), 0); len(got) != 1 {
		t.Fatalf("limit 0 should not split: %q", got)
	}
}

func TestSplitPrefersParagraphsThenLinesThenSpaces(t *testing.T) {
	para := strings.Repeat("a", 30) + "\n\n" + strings.Repeat("b", 30)
	got := checkSplit(t, para, 40)
	if len(got) != 2 || got[0] != strings.Repeat("a", 30)+"\n\n" {
		t.Fatalf("paragraph split: %q", got)
	}
	lines := strings.Repeat("a", 30) + "\n" + strings.Repeat("b", 30)
	got = checkSplit(t, lines, 40)
	if got[0] != strings.Repeat("a", 30)+"\n" {
		t.Fatalf("line split: %q", got)
	}
	words := strings.Repeat("word ", 20)
	got = checkSplit(t, words, 23)
	for _, p := range got[:len(got)-1] {
		if !strings.HasSuffix(p, " ") {
			t.Fatalf("space split left a broken word: %q", got)
		}
	}
	hard := strings.Repeat("x", 25)
	got = checkSplit(t, hard, 10)
	if len(got) != 3 || got[0] != strings.Repeat("x", 10) {
		t.Fatalf("hard split: %q", got)
	}
}

func TestSplitReopensFenceWithLanguage(t *testing.T) {
	var b strings.Builder
	b.WriteString("Here:\n\n```go\n")
	for i := 0; i < 40; i++ {
		b.WriteString("fmt.Println(i)\n")
	}
	b.WriteString("```\nDone.")
	text := b.String()
	parts := checkSplit(t, text, 200)
	if len(parts) < 3 {
		t.Fatalf("want several parts, got %d", len(parts))
	}
	for i, p := range parts {
		if i > 0 && !strings.HasPrefix(p, "```go\n") {
			t.Fatalf("part %d does not reopen the fence with its language: %q", i, p)
		}
		if i < len(parts)-1 && !strings.HasSuffix(p, "\n```") {
			t.Fatalf("part %d does not close the fence: %q", i, p)
		}
	}
}

func TestSplitLongCodeLineInFence(t *testing.T) {
	text := "```json\n" + strings.Repeat("{\"k\":1},", 60) + "\n```\n"
	parts := checkSplit(t, text, 100)
	if len(parts) < 4 || !strings.HasSuffix(parts[0], "\n```\n") || !strings.HasPrefix(parts[1], "```json\n") {
		t.Fatalf("mid-line fence split: %q", parts)
	}
}

func TestSplitKeepsEmojiSequences(t *testing.T) {
	for _, unit := range []string{"❤️", "👍🏽", "🇩🇪", "👨‍👩‍👧", "é"} {
		text := strings.Repeat(unit, 40)
		for limit := 7; limit < 20; limit++ {
			for _, p := range checkSplit(t, text, limit) {
				if strings.Repeat(unit, strings.Count(p, unit)) != p {
					t.Fatalf("limit %d cut %q: part %q", limit, unit, p)
				}
			}
		}
	}
}

func TestSplitInvalidUTF8AndTinyLimits(t *testing.T) {
	text := "a\xffb\xe2\x82c```\n\n```x\xc0"
	for limit := 1; limit < 12; limit++ {
		checkSplit(t, text, limit)
	}
}

func TestSplitIdenticalFencesBackToBack(t *testing.T) {
	block := "```go\nx := 1\n```\n"
	text := strings.Repeat(block, 30)
	for limit := 20; limit < 90; limit++ {
		checkSplit(t, text, limit)
	}
}

// randomText builds texts that stress the splitter: fences with and without
// languages, long lines, blank lines, unicode, stray backticks.
func randomText(r *rand.Rand) string {
	pieces := []string{
		"```", "```go", "```python", "````", "``", "`", "\n", "\n\n", " ", "\t",
		"word", "longerword", "é", "❤️", "👍🏽", "🇩🇪", "日本語", "\r\n", "  ```", "    ```",
	}
	var b strings.Builder
	n := r.Intn(200)
	for i := 0; i < n; i++ {
		switch r.Intn(10) {
		case 0:
			b.WriteString(strings.Repeat("x", r.Intn(300)))
		case 1:
			b.WriteString("\n```" + []string{"", "go", "js"}[r.Intn(3)] + "\n")
		default:
			b.WriteString(pieces[r.Intn(len(pieces))])
		}
	}
	return b.String()
}

func TestSplitProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		text := randomText(r)
		limit := 1 + r.Intn(400)
		checkSplit(t, text, limit)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("hello world", 5)
	f.Add("```go\nfunc main() {}\n```\n\nand more text here", 20)
	f.Add("para one\n\npara two\nline\n```\ncode\n```", 12)
	f.Add("```go\na\n```\n```go\nb\n```\n", 14)
	f.Add("❤️👍🏽🇩🇪 x", 2)
	f.Add("\xff\xfe``` ```\n", 3)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 0 {
			limit = -limit
		}
		limit = limit%300 + 1
		checkSplit(t, text, limit)
	})
}

func FuzzJoin(f *testing.F) {
	f.Add("```go\nx\n```", "```go\ny")
	f.Add("a\n```\n", "b")
	f.Add("plain", "text")
	f.Fuzz(func(t *testing.T, a, b string) {
		// Join takes parts from anywhere (other adapters' tests, recorded
		// messages): it must not panic, never invent bytes, and leave text
		// without fences alone.
		got := Join([]string{a, b})
		if len(got) > len(a)+len(b) {
			t.Fatalf("Join(%q, %q) = %q grew", a, b, got)
		}
		if !strings.Contains(a+b, "```") && got != a+b {
			t.Fatalf("Join(%q, %q) = %q, want plain concatenation", a, b, got)
		}
		if one := Join([]string{a}); one != a {
			t.Fatalf("Join of one part changed it: %q", one)
		}
	})
}
