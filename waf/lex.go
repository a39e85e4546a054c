package waf

import "bytes"

// A small shell tokenizer: enough of POSIX sh and bash to find every simple
// command a script would run, with its words as the shell would pass them
// (quotes removed, $IFS split, $HOME as ~), its redirections, heredoc bodies,
// pipelines, and the scripts nested in $(...), backticks and <(...). It never
// fails: malformed input is tokenised as far as it goes.

// maxNest bounds nesting of substitutions, subshells and nested scripts
// (bash -c 'bash -c ...'); deeper input is denied as an evasion.
const maxNest = 10

const maxHeredocs = 8

type heredoc struct {
	word   int32 // the kHeredoc word whose text becomes the body
	ds, de int32 // delimiter in buf
	strip  bool  // <<- strips leading tabs
	quoted bool  // quoted delimiter: no expansion in the body
}

type lexer struct {
	st      *state
	src     []byte
	pos     int
	depth   int
	docs    [maxHeredocs]heredoc
	ndocs   int
	cur     int32 // command being parsed, -1 none
	feed    int32 // command that substitutions parsed here feed
	fn      int32 // function whose body is being parsed
	fnBrace int
	brace   int
}

func newLexer(st *state, src []byte, depth int) lexer {
	return lexer{st: st, src: src, depth: depth, cur: -1, feed: -1, fn: -1}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

func (l *lexer) skipBlank() {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isBlank(c) {
			l.pos++
		} else if c == '\\' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '\n' {
			l.pos += 2
		} else {
			break
		}
		l.st.steps++
	}
}

// parseList parses commands until EOF or an unmatched stop byte (consumed).
func (l *lexer) parseList(stop byte) {
	for {
		l.skipBlank()
		if l.pos >= len(l.src) {
			return
		}
		l.st.steps++
		c := l.src[l.pos]
		switch {
		case c == stop && stop != 0:
			l.pos++
			return
		case c == '\n':
			l.pos++
			l.readHeredocs()
		case c == ';' || c == '&' || c == '|' || c == ')':
			l.pos++ // stray separator
		case c == '#':
			l.skipComment()
		default:
			before := l.pos
			l.parsePipeline(stop)
			if l.pos == before { // no progress: never loop forever
				l.pos++
			}
		}
	}
}

func (l *lexer) skipComment() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' {
		l.pos++
		l.st.steps++
	}
}

func (l *lexer) parsePipeline(stop byte) {
	st := l.st
	pipe := st.pipes
	st.pipes++
	st.last = append(st.last, -1)
	for stage := int16(0); ; stage++ {
		if !l.parseSimple(pipe, stage, stop) {
			return
		}
	}
}

// parseSimple parses one simple command; true when it ended in a pipe.
func (l *lexer) parseSimple(pipe int32, stage int16, stop byte) bool {
	st := l.st
	ci := int32(len(st.cmds))
	prev := st.last[pipe]
	st.last[pipe] = ci
	if prev >= 0 {
		st.cmds[prev].next = ci
	}
	st.cmds = append(st.cmds, command{
		w0: int32(len(st.words)), own: ci, pipe: pipe, stage: stage, depth: int8(l.depth),
		prev: prev, next: -1, feed: l.feed, fn: l.fn, name: -1, outS: -1,
	})
	saved := l.cur
	l.cur = ci
	piped, fnDef := l.simpleBody(ci, stop)
	st.cmds[ci].w1 = int32(len(st.words))
	l.recordVars(ci)
	if fnDef {
		st.cmds[ci].w1 = st.cmds[ci].w0 // a definition runs nothing
	}
	l.cur = saved
	return piped
}

func (l *lexer) simpleBody(ci int32, stop byte) (piped, fnDef bool) {
	st := l.st
	nwords := 0
	for {
		l.skipBlank()
		if l.pos >= len(l.src) {
			return false, false
		}
		st.steps++
		c := l.src[l.pos]
		var n byte
		if l.pos+1 < len(l.src) {
			n = l.src[l.pos+1]
		}
		switch {
		case c == '\n' || (c == stop && stop != 0):
			return false, false
		case c == ';':
			l.pos++
			if n == ';' || n == '&' {
				l.pos++
			}
			return false, false
		case c == '&' && n == '&':
			l.pos += 2
			return false, false
		case c == '&' && n == '>':
			l.pos++
			l.redirect()
		case c == '&':
			l.pos++
			st.cmds[ci].bg = true
			return false, false
		case c == '|' && n == '|':
			l.pos += 2
			return false, false
		case c == '|':
			l.pos++
			if n == '&' {
				l.pos++
			}
			return true, false
		case c == '(':
			l.pos++
			if (nwords == 1 || (nwords == 2 && l.isWord(st.cmds[ci].w0, "function"))) && l.closeParenFollows() {
				l.fn = st.cmds[ci].w0 + int32(nwords-1)
				l.fnBrace = l.brace
				return false, true
			}
			l.nested(')')
		case c == ')':
			l.pos++ // unmatched at this level
			return false, false
		case (c == '<' || c == '>') && n == '(':
			l.pos += 2
			l.substWord(')', kArg)
			nwords++
		case c == '<' || c == '>':
			l.redirect()
		case c == '#': // at a word start: a comment to the end of the line
			l.skipComment()
		case c >= '0' && c <= '9' && l.fdRedirect():
			l.redirect()
		default:
			before := len(st.words)
			l.lexWord(kArg)
			nwords += len(st.words) - before
			if len(st.words) > before {
				l.trackBraces(&st.words[len(st.words)-1])
			}
			if nwords == 2 && l.isWord(st.cmds[ci].w0, "function") && !l.parenFollows() {
				l.fn = st.cmds[ci].w0 + 1 // "function name {": the body follows
				l.fnBrace = l.brace
				return false, true
			}
		}
	}
}

func (l *lexer) isWord(k int32, s string) bool {
	w := &l.st.words[k]
	return w.flags&fQuoted == 0 && string(l.st.text(w)) == s
}

// parenFollows: "(" comes next on the line ("function f () {").
func (l *lexer) parenFollows() bool {
	p := l.pos
	for p < len(l.src) && isBlank(l.src[p]) {
		p++
	}
	return p < len(l.src) && l.src[p] == '('
}

// closeParenFollows consumes "   )" after "name(" of a function definition.
func (l *lexer) closeParenFollows() bool {
	p := l.pos
	for p < len(l.src) && isBlank(l.src[p]) {
		p++
	}
	if p < len(l.src) && l.src[p] == ')' {
		l.pos = p + 1
		return true
	}
	return false
}

func (l *lexer) trackBraces(w *word) {
	if w.flags&fQuoted != 0 || w.e-w.s != 1 {
		return
	}
	switch l.st.buf[w.s] {
	case '{':
		l.brace++
	case '}':
		l.brace--
		if l.fn >= 0 && l.brace <= l.fnBrace {
			l.fn = -1
		}
	}
}

// fdRedirect reports whether digits at pos are a file descriptor before a
// redirection operator (2>/dev/null), and skips them if so.
func (l *lexer) fdRedirect() bool {
	p := l.pos
	for p < len(l.src) && l.src[p] >= '0' && l.src[p] <= '9' {
		p++
	}
	if p < len(l.src) && (l.src[p] == '<' || l.src[p] == '>') {
		l.pos = p
		return true
	}
	return false
}

// nested parses a subshell or substitution body up to stop, one level deeper.
func (l *lexer) nested(stop byte) {
	if l.depth+1 > maxNest {
		l.st.tooDeep = true
		l.skipTo(stop)
		return
	}
	saved := l.feed
	if l.cur >= 0 {
		l.feed = l.cur
	}
	l.depth++
	l.parseList(stop)
	l.depth--
	l.feed = saved
}

// skipTo abandons parsing up to a balanced stop byte once nesting is too deep.
func (l *lexer) skipTo(stop byte) {
	depth := 1
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		l.st.steps++
		switch c {
		case '(':
			depth++
		case stop:
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

// substWord parses <(...) or a word that is only a substitution and stands
// in a placeholder word for its output.
func (l *lexer) substWord(stop byte, kind uint8) {
	st := l.st
	l.nested(stop)
	s := int32(len(st.buf))
	st.buf = append(st.buf, placeholder, 0)
	st.words = append(st.words, word{s: s, e: s + 1, owner: l.cur, kind: kind, flags: fPlace})
}

func (l *lexer) redirect() {
	st := l.st
	src := l.src
	kind := kRedirIn
	p := l.pos
	switch {
	case hasAt(src, p, "<<<"):
		kind, p = kHereStr, p+3
	case hasAt(src, p, "<<-"):
		kind, p = kHeredoc, p+3
	case hasAt(src, p, "<<"):
		kind, p = kHeredoc, p+2
	case hasAt(src, p, "<&"), hasAt(src, p, ">&") && p+2 < len(src) && (isDigit(src[p+2]) || src[p+2] == '-'):
		kind, p = kDup, p+2
	case hasAt(src, p, "<>"):
		kind, p = kRedirOut, p+2
	case src[p] == '<':
		p++
	default: // > >> >| &> &>> >&
		kind = kRedirOut
		for p < len(src) && (src[p] == '>' || src[p] == '&' || src[p] == '|') && p-l.pos < 3 {
			p++
		}
	}
	l.pos = p
	l.skipBlank()
	before := len(st.words)
	if (kind == kRedirOut || kind == kRedirIn) && hasAt(src, l.pos, "$(") {
		// a redirection target computed by a command: parse it
		l.pos += 2
		l.substWord(')', kind)
		return
	}
	l.lexWord(kind)
	if kind != kHeredoc || len(st.words) == before {
		return
	}
	w := &st.words[len(st.words)-1]
	if l.ndocs < maxHeredocs {
		l.docs[l.ndocs] = heredoc{word: int32(len(st.words) - 1), ds: w.s, de: w.e,
			strip: src[p-1] == '-', quoted: w.flags&fQuoted != 0}
		l.ndocs++
	}
	w.e = w.s // the body replaces the delimiter once read
}

func hasAt(b []byte, p int, s string) bool {
	return p+len(s) <= len(b) && string(b[p:p+len(s)]) == s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readHeredocs reads the bodies of heredocs opened on the line just ended.
func (l *lexer) readHeredocs() {
	st := l.st
	for i := 0; i < l.ndocs; i++ {
		d := l.docs[i]
		delim := st.buf[d.ds:d.de]
		start := l.pos
		end := len(l.src)
		for l.pos < len(l.src) {
			ls := l.pos
			le := ls
			for le < len(l.src) && l.src[le] != '\n' {
				le++
			}
			st.steps += le - ls + 1
			line := l.src[ls:le]
			if d.strip {
				for len(line) > 0 && line[0] == '\t' {
					line = line[1:]
				}
			}
			l.pos = le
			if l.pos < len(l.src) {
				l.pos++
			}
			if string(line) == string(delim) {
				end = ls
				break
			}
		}
		body := l.src[start:end]
		s := int32(len(st.buf))
		if d.quoted {
			st.buf = append(st.buf, body...)
		} else {
			sub := newLexer(st, body, l.depth)
			sub.cur = st.words[d.word].owner
			mark := len(st.wb)
			sub.lexDquote(0)
			s = int32(len(st.buf)) // the body's substitutions added words
			st.buf = append(st.buf, st.wb[mark:]...)
			st.wb = st.wb[:mark]
		}
		st.words[d.word].s, st.words[d.word].e = s, int32(len(st.buf))
		st.buf = append(st.buf, 0)
	}
	l.ndocs = 0
}

// maxVars bounds the assignments remembered per check.
const maxVars = 32

type shellVar struct{ ns, ne, vs, ve int32 }

// recordVars remembers NAME=value from a command made only of assignments
// (or export NAME=value), so that c=rm; $c -rf / is seen as rm.
func (l *lexer) recordVars(ci int32) {
	st := l.st
	c := &st.cmds[ci]
	k := st.argAt(c, c.w0)
	if k < c.w1 && l.isWord(k, "export") {
		k = st.argAt(c, k+1)
	}
	for ; k < c.w1; k = st.argAt(c, k+1) {
		w := &st.words[k]
		if w.flags&fAssign == 0 {
			return
		}
		t := st.text(w)
		eq := int32(bytes.IndexByte(t, '='))
		if eq <= 0 {
			return
		}
		v := shellVar{ns: w.s, ne: w.s + eq, vs: w.s + eq + 1, ve: w.e}
		if i := st.findVar(t[:eq]); i >= 0 {
			st.vars[i] = v
		} else if len(st.vars) < maxVars {
			st.vars = append(st.vars, v)
		}
	}
}

func (st *state) findVar(name []byte) int {
	for i := len(st.vars) - 1; i >= 0; i-- {
		v := &st.vars[i]
		if string(st.buf[v.ns:v.ne]) == string(name) {
			return i
		}
	}
	return -1
}
