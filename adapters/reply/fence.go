package reply

import "strings"

// fence is the code-fence state before some point of a text. Fence lines
// follow CommonMark closely enough for Slack and Discord: up to three spaces,
// a run of at least three backticks, and for an opening line an info string
// without backticks; a closing line has at least as many backticks and
// nothing else but blanks.
type fence struct {
	run  int    // backticks of the opening line; 0 means outside any fence
	line string // the opening line, without its newline
}

// fenceStart reports the backtick run a line starts with (after at most three
// spaces) and what follows it; run is 0 unless it is at least three.
func fenceStart(s string) (run int, rest string) {
	i := 0
	for i < len(s) && i < 3 && s[i] == ' ' {
		i++
	}
	j := i
	for j < len(s) && s[j] == '`' {
		j++
	}
	if j-i < 3 {
		return 0, ""
	}
	return j - i, s[j:]
}

// next is the state after one complete line (without its newline).
func (f fence) next(line string) fence {
	run, rest := fenceStart(line)
	if run == 0 {
		return f
	}
	if f.run == 0 {
		if strings.IndexByte(rest, '`') >= 0 {
			return f
		}
		return fence{run: run, line: line}
	}
	if run >= f.run && strings.Trim(rest, " \t\r") == "" {
		return fence{}
	}
	return f
}

// looksLikeFence reports whether a rendered line starting with s would be
// taken for a fence line; used to keep mid-line splits away from them.
func looksLikeFence(s string) bool {
	run, _ := fenceStart(s)
	return run > 0
}

// scanner tracks the fence state of a text fed to it in pieces. Only lines
// that may still turn out to be fence lines are buffered.
type scanner struct {
	f    fence
	cur  []byte // the incomplete current line, while it may be a fence line
	skip bool   // the current line can no longer be a fence line
}

func (sc *scanner) feed(s string) {
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		seg := s
		if i >= 0 {
			seg = s[:i]
		}
		if !sc.skip {
			sc.cur = append(sc.cur, seg...)
			if !mayBeFence(sc.cur) {
				sc.skip, sc.cur = true, sc.cur[:0]
			}
		}
		if i < 0 {
			return
		}
		if !sc.skip {
			sc.f = sc.f.next(string(sc.cur))
		}
		sc.cur, sc.skip = sc.cur[:0], false
		s = s[i+1:]
	}
}

// after returns the state the scanner would have after s, leaving it as is.
func (sc *scanner) after(s string) fence {
	c := scanner{f: sc.f, skip: sc.skip, cur: append([]byte(nil), sc.cur...)}
	c.feed(s)
	return c.f
}

// mayBeFence reports whether a line beginning with b can still be a fence line.
func mayBeFence(b []byte) bool {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
		if i > 3 {
			return false
		}
	}
	j := i
	for j < len(b) && b[j] == '`' {
		j++
	}
	return j-i >= 3 || j == len(b)
}

// closeSuffix recognises a closing fence line that Split appended to a part:
// "```" after content ending in a newline, or "\n```\n" after content split
// mid-line. It returns the length of the content before it and the run.
func closeSuffix(x string) (cut, run int, ok bool) {
	mid := strings.HasSuffix(x, "\n")
	y := x
	if mid {
		y = x[:len(x)-1]
	}
	r := 0
	for r < len(y) && y[len(y)-1-r] == '`' {
		r++
	}
	if r < 3 || len(y) == r || y[len(y)-r-1] != '\n' {
		return 0, 0, false
	}
	cut = len(y) - r
	if mid {
		cut--
		if cut == 0 || x[cut-1] == '\n' {
			return 0, 0, false
		}
	}
	return cut, r, true
}

func backticks(n int) string { return strings.Repeat("`", n) }
