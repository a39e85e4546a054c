package reply

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Split cuts text into parts of at most limit runes each, breaking at
// paragraph boundaries, else line boundaries, else spaces, else anywhere
// (never inside a UTF-8 sequence, and not between a rune and a following
// joiner, variation selector or combining mark when a few runes of slack
// avoid it). A part that ends inside a ``` fence gets a closing fence line and
// the next part starts with the fence's opening line again (language kept);
// Join removes exactly those lines again. Parts carry no counters.
//
// Split returns nil for empty text (callers post their own placeholder) and
// one part when limit <= 0. Fences whose opening line is too long to repeat
// (more than about limit/2 runes with the closing line) are split as plain
// text.
func Split(text string, limit int) []string {
	if text == "" {
		return nil
	}
	if limit <= 0 {
		return []string{text}
	}
	sp := splitter{text: text, limit: limit}
	var parts []string
	for {
		p, ok := sp.next()
		if !ok {
			return parts
		}
		parts = append(parts, p)
	}
}

// cursor is where a splitter stands between two parts; streams keep one to
// resume splitting after the parts they have frozen.
type cursor struct {
	pos       int    // byte offset of the next part's content
	lineStart int    // start of the line containing pos
	before    fence  // fence state before that line
	open      string // opening fence line (with newline) the next part repeats
}

type lineState struct {
	start int
	f     fence // state before the line
}

type splitter struct {
	text  string
	limit int
	c     cursor
	lines []lineState // lines of the current window (scratch)
}

// done reports whether every byte of text has been put into parts.
func (sp *splitter) done() bool { return sp.c.pos >= len(sp.text) }

// next returns the next part, or false when the text is used up.
func (sp *splitter) next() (string, bool) {
	t, c := sp.text, sp.c
	if c.pos >= len(t) {
		return "", false
	}
	if sp.limit <= 0 {
		sp.c.pos = len(t)
		return t[c.pos:], true
	}
	budget := sp.limit - utf8.RuneCountInString(c.open)
	e0, whole := advance(t, c.pos, budget)
	if whole {
		sp.c = cursor{pos: len(t)}
		return c.open + t[c.pos:], true
	}
	sp.scanWindow(e0)
	reserve := 0
	for _, l := range sp.lines {
		if sp.fenceable(l.f) {
			reserve = max(reserve, l.f.run+2)
		}
	}
	e := e0
	for k := 0; k < reserve; k++ {
		q := prevRune(t, e)
		if q <= c.pos {
			break
		}
		e = q
	}
	for _, p := range sp.candidates(e) {
		if sp.acceptable(p, true) {
			return sp.emit(p), true
		}
	}
	// Pathological input (fence-like lines everywhere): any decodable point.
	for p := e; p > c.pos; p = prevRune(t, p) {
		if sp.acceptable(p, false) {
			return sp.emit(p), true
		}
	}
	return sp.emit(nextRune(t, c.pos)), true // never reached: one rune always decodes
}

// scanWindow records the lines starting in [c.lineStart, end] with the fence
// state before each.
func (sp *splitter) scanWindow(end int) {
	t := sp.text
	sp.lines = sp.lines[:0]
	ls, f, from := sp.c.lineStart, sp.c.before, sp.c.pos
	for {
		sp.lines = append(sp.lines, lineState{start: ls, f: f})
		i := strings.IndexByte(t[from:end], '\n')
		if i < 0 {
			return
		}
		nl := from + i
		f = f.next(t[ls:nl])
		ls, from = nl+1, nl+1
		if ls > end {
			return
		}
	}
}

// lineAt returns the index in sp.lines of the line containing q.
func (sp *splitter) lineAt(q int) int {
	i := sort.Search(len(sp.lines), func(i int) bool { return sp.lines[i].start > q })
	return i - 1
}

// fenceable reports whether a split inside f can close and reopen it.
func (sp *splitter) fenceable(f fence) bool {
	return f.run > 0 && utf8.RuneCountInString(f.line)+1+f.run+2 <= sp.limit/2
}

// candidates lists split points in (pos, e] from best to worst.
func (sp *splitter) candidates(e int) []int {
	t, pos := sp.text, sp.c.pos
	w := t[pos:e]
	half := pos + len(w)/2
	var para, line, space int
	// A paragraph break is only preferred in the second half; elsewhere the
	// last line break, which is never earlier, wins anyway.
	if i := lastParagraph(w[len(w)/2:]); i >= 0 {
		para = pos + len(w)/2 + i + 2
	}
	if i := strings.LastIndexByte(w, '\n'); i >= 0 {
		line = pos + i + 1
	}
	if i := strings.LastIndexAny(w, " \t"); i >= 0 {
		space = pos + i + 1
	}
	out := make([]int, 0, 10)
	for _, p := range []int{para, line, space} {
		if p >= half {
			out = sp.appendCandidate(out, p)
		}
	}
	if best := max(para, line, space); best > pos {
		out = sp.appendCandidate(out, best)
	}
	out = append(out, graphemeSafe(t, pos, e))
	// Last resorts that still keep fence lines whole: any line start.
	for i := len(sp.lines) - 1; i >= 1; i-- {
		if s := sp.lines[i].start; s <= e {
			out = append(out, s)
		}
	}
	return out
}

// appendCandidate adds p, preceded by the start of the line before it when
// that line opens a fence: better to move the whole opening line on than to
// leave an empty code block behind.
func (sp *splitter) appendCandidate(out []int, p int) []int {
	if p > 0 && sp.text[p-1] == '\n' {
		li := sp.lineAt(p)
		if li >= 1 && sp.lines[li].f.run > 0 && sp.lines[li-1].f.run == 0 {
			if s := sp.lines[li-1].start; s > sp.c.pos {
				out = append(out, s)
			}
			return out // the part would end with an empty code block
		}
	}
	return append(out, p)
}

// acceptable reports whether the part ending at p decodes correctly with
// Join and, when nice is set, keeps fence lines whole.
func (sp *splitter) acceptable(p int, nice bool) bool {
	t, pos := sp.text, sp.c.pos
	if p <= pos || p >= len(t) {
		return false
	}
	li := sp.lineAt(p)
	ls := sp.lines[li].start
	midLine := t[p-1] != '\n'
	if nice && midLine && (looksLikeFence(t[ls:]) || looksLikeFence(t[max(ls, pos):]) || looksLikeFence(t[p:])) {
		return false
	}
	if sp.fenceable(sp.lines[li].f) {
		return true // Split adds the fence lines itself; Join finds them
	}
	// No fence lines will be added here: Join must not mistake the content's
	// own tail for one. Join needs the next part to start with the opening
	// line; that cannot happen unless its first byte matches.
	cut, run, ok := closeSuffix(t[pos:p])
	if !ok {
		return true
	}
	f := sp.lines[sp.lineAt(pos+cut)].f
	return f.run != run || t[p] != f.line[0]
}

// emit returns the part ending at p and moves the cursor there.
func (sp *splitter) emit(p int) string {
	t, c := sp.text, sp.c
	li := sp.lineAt(p)
	l := sp.lines[li]
	content := t[c.pos:p]
	next := cursor{pos: p, lineStart: l.start, before: l.f}
	closing := ""
	if sp.fenceable(l.f) {
		next.open = l.f.line + "\n"
		if strings.HasSuffix(content, "\n") {
			closing = backticks(l.f.run)
		} else {
			closing = "\n" + backticks(l.f.run) + "\n"
		}
	}
	sp.c = next
	return c.open + content + closing
}

// lastParagraph returns the index of the last "\n\n" in w, or -1.
func lastParagraph(w string) int {
	for i := len(w); ; {
		j := strings.LastIndexByte(w[:i], '\n')
		if j < 1 {
			return -1
		}
		if w[j-1] == '\n' {
			return j - 1
		}
		i = j
	}
}

// advance moves n runes forward from pos; whole reports that the text ended.
func advance(t string, pos, n int) (end int, whole bool) {
	p := pos
	for i := 0; i < n; i++ {
		if p >= len(t) {
			return len(t), true
		}
		if t[p] < utf8.RuneSelf {
			p++
			continue
		}
		_, sz := utf8.DecodeRuneInString(t[p:])
		p += sz
	}
	return p, p >= len(t)
}

func prevRune(t string, p int) int {
	_, sz := utf8.DecodeLastRuneInString(t[:p])
	return p - sz
}

func nextRune(t string, p int) int {
	_, sz := utf8.DecodeRuneInString(t[p:])
	return p + sz
}

// graphemeSafe moves a hard split point e back a few runes so that it does
// not separate a rune from what modifies it; if that would take more than a
// few runes it gives e back unchanged.
func graphemeSafe(t string, pos, e int) int {
	p := e
	if flagMiddle(t, pos, e) {
		return prevRune(t, e)
	}
	for k := 0; k < 8 && p > pos; k++ {
		r, _ := utf8.DecodeRuneInString(t[p:])
		rb, _ := utf8.DecodeLastRuneInString(t[:p])
		if !glued(rb, r) {
			return p
		}
		p = prevRune(t, p)
	}
	return e
}

// glued reports whether splitting between a and b would break a visible
// character (emoji sequences, flags, combining marks, CRLF).
func glued(a, b rune) bool {
	switch {
	case a == '\r' && b == '\n', a == 0x200D, b == 0x200D:
		return true
	}
	return isExtender(b)
}

// flagMiddle reports whether e falls between the two regional indicators of
// one flag: an odd number of them precede it in the current run.
func flagMiddle(t string, pos, e int) bool {
	if r, _ := utf8.DecodeRuneInString(t[e:]); !isRegional(r) {
		return false
	}
	n := 0
	for p := e; p > pos && n < 64; n++ {
		r, sz := utf8.DecodeLastRuneInString(t[:p])
		if !isRegional(r) {
			break
		}
		p -= sz
	}
	return n%2 == 1
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

func isExtender(r rune) bool {
	switch {
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // skin tones
		return true
	case r >= 0xE0020 && r <= 0xE007F: // emoji tag sequences
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me)
}
