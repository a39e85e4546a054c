package waf

import "bytes"

// wordState carries what lexWord learns about the word being built.
type wordState struct {
	start     int   // offset in buf
	flags     uint8 // f* flags
	nameOK    bool  // every byte so far could start an assignment name
	bracket   bool  // unquoted '[' seen
	braceOpen int   // offset of the first unquoted '{', -1 none
	comma     bool  // unquoted ',' after it
}

// lexWord lexes one shell word (several if an unquoted $IFS splits it).
func (l *lexer) lexWord(kind uint8) {
	st := l.st
	ws := wordState{start: len(st.wb), nameOK: true, braceOpen: -1}
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		st.steps++
		switch c {
		case ' ', '\t', '\r', '\v', '\f', '\n', ';', '&', '|', '(', ')', '<', '>':
			l.emit(&ws, kind)
			return
		case '\\':
			l.pos++
			if l.pos < len(l.src) {
				if l.src[l.pos] != '\n' {
					st.wb = append(st.wb, l.src[l.pos])
					ws.flags |= fQuoted
				}
				l.pos++
			}
			ws.nameOK = false
		case '\'':
			l.pos++
			for l.pos < len(l.src) && l.src[l.pos] != '\'' {
				st.wb = append(st.wb, l.src[l.pos])
				l.pos++
				st.steps++
			}
			if l.pos < len(l.src) {
				l.pos++ // the closing quote
			}
			ws.flags |= fQuoted
			ws.nameOK = false
		case '"':
			l.pos++
			l.lexDquote('"')
			ws.flags |= fQuoted
			ws.nameOK = false
		case '$':
			if l.lexDollar(false) {
				l.emit(&ws, kind)
				ws = wordState{start: len(st.wb), nameOK: true, braceOpen: -1}
			} else {
				ws.nameOK = false
			}
		case '`':
			l.backtick()
			ws.nameOK = false
		default:
			l.pos++
			l.plain(&ws, c)
		}
	}
	l.emit(&ws, kind)
}

// plain records an unquoted literal byte.
func (l *lexer) plain(ws *wordState, c byte) {
	st := l.st
	switch {
	case c == '=' && ws.nameOK && len(st.wb) > ws.start:
		ws.flags |= fAssign
		ws.nameOK = false
	case ws.nameOK && !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		(c >= '0' && c <= '9' && len(st.wb) > ws.start)):
		ws.nameOK = false
	}
	switch c {
	case '*', '?':
		ws.flags |= fGlob
	case '[':
		ws.bracket = true
	case ']':
		if ws.bracket {
			ws.flags |= fGlob
		}
	case '{':
		if ws.braceOpen < 0 {
			ws.braceOpen = len(st.wb)
		}
	case ',':
		if ws.braceOpen >= 0 {
			ws.comma = true
		}
	case '}':
		if ws.braceOpen >= 0 && ws.comma {
			ws.flags |= fBrace
		}
	}
	st.wb = append(st.wb, c)
}

// emit finishes the word: placeholders glued between word bytes are
// dropped (an unset variable cannot hide r${x}m from us), then the word is
// recorded followed by a NUL separator.
func (l *lexer) emit(ws *wordState, kind uint8) {
	st := l.st
	b := st.wb[ws.start:]
	st.wb = st.wb[:ws.start] // pop; b stays readable until the next push
	if len(b) == 0 && ws.flags&fQuoted == 0 {
		return
	}
	s := int32(len(st.buf))
	if bytes.IndexByte(b, placeholder) >= 0 {
		ws.flags |= fPlace
		for i, c := range b {
			if c == placeholder && i > 0 && i+1 < len(b) && isWordByte(b[i-1]) && isWordByte(b[i+1]) {
				continue
			}
			st.buf = append(st.buf, c)
		}
	} else {
		st.buf = append(st.buf, b...)
	}
	st.words = append(st.words, word{s: s, e: int32(len(st.buf)), owner: l.cur, kind: kind, flags: ws.flags})
	st.buf = append(st.buf, 0)
	if ws.flags&fBrace != 0 && kind == kArg {
		l.expandBraces(len(st.words) - 1)
	}
}

func isWordByte(c byte) bool { return byteClass[c] < numClasses || c == '.' || c == '-' }

// lexDquote lexes a double-quoted body up to term ('"'), or to the end of
// src when term is 0 (an unquoted heredoc body).
func (l *lexer) lexDquote(term byte) {
	st := l.st
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		st.steps++
		switch {
		case c == term && term != 0:
			l.pos++
			return
		case c == '\\' && l.pos+1 < len(l.src):
			n := l.src[l.pos+1]
			switch n {
			case '$', '`', '"', '\\':
				st.wb = append(st.wb, n)
			case '\n':
			default:
				st.wb = append(st.wb, c, n)
			}
			l.pos += 2
		case c == '$':
			l.lexDollar(true)
		case c == '`':
			l.backtick()
		default:
			st.wb = append(st.wb, c)
			l.pos++
		}
	}
}

// lexDollar handles an expansion at pos; true means an unquoted $IFS that
// splits the word.
func (l *lexer) lexDollar(quoted bool) bool {
	st := l.st
	src := l.src
	p := l.pos + 1
	if p >= len(src) {
		st.wb = append(st.wb, '$')
		l.pos = p
		return false
	}
	switch c := src[p]; {
	case c == '(':
		l.pos = p + 1
		l.nested(')')
		l.place()
	case c == '{':
		q := p + 1
		for q < len(src) && isNameByte(src[q]) {
			q++
		}
		name := src[p+1 : q]
		l.pos = p + 1
		mark := len(st.wb)
		l.lexDquote('}') // defaults may hold substitutions: parse them
		st.wb = st.wb[:mark]
		// ${HOME}, ${HOME:?}, ${HOME:-x}: HOME is always set for the agent
		return l.knownVar(name, quoted, q < len(src) && (src[q] == '}' || src[q] == ':'))
	case c == '\'' && !quoted:
		l.pos = p + 1
		l.ansiC()
	case c == '"' && !quoted:
		l.pos = p + 1
		l.lexDquote('"')
	case isNameByte(c) && !isDigit(c):
		q := p
		for q < len(src) && isNameByte(src[q]) {
			q++
		}
		l.pos = q
		return l.knownVar(src[p:q], quoted, true)
	case isDigit(c) || c == '@' || c == '*' || c == '#' || c == '?' || c == '$' || c == '!' || c == '-':
		l.pos = p + 1
		l.place()
	default:
		st.wb = append(st.wb, '$')
		l.pos = p
	}
	return false
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// knownVar expands the variables whose value matters for matching.
func (l *lexer) knownVar(name []byte, quoted, plain bool) bool {
	st := l.st
	switch {
	case string(name) == "IFS":
		if quoted {
			st.wb = append(st.wb, ' ')
			return false
		}
		return true
	case string(name) == "HOME" && plain:
		st.wb = append(st.wb, '~')
	default:
		if i := st.findVar(name); i >= 0 && plain && st.grow(int(st.vars[i].ve-st.vars[i].vs)) {
			v := st.vars[i]
			st.wb = append(st.wb, st.buf[v.vs:v.ve]...)
			break
		}
		l.place()
	}
	return false
}

func (l *lexer) place() {
	l.st.wb = append(l.st.wb, placeholder)
}

// backtick parses `...`: the body is unescaped into aux and parsed as a
// nested script.
func (l *lexer) backtick() {
	st := l.st
	start := len(st.aux)
	p := l.pos + 1
	for p < len(l.src) && l.src[p] != '`' {
		c := l.src[p]
		if c == '\\' && p+1 < len(l.src) && (l.src[p+1] == '`' || l.src[p+1] == '\\' || l.src[p+1] == '$') {
			p++
			c = l.src[p]
		}
		st.aux = append(st.aux, c)
		p++
		st.steps++
	}
	l.pos = min(p+1, len(l.src))
	body := st.aux[start:]
	if l.depth+1 > maxNest {
		st.tooDeep = true
	} else {
		sub := newLexer(st, body, l.depth+1)
		sub.feed = l.cur
		sub.parseList(0)
	}
	l.place()
}

// ansiC decodes a $'...' body.
func (l *lexer) ansiC() {
	st := l.st
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		st.steps++
		if c == '\'' {
			l.pos++
			return
		}
		if c != '\\' || l.pos+1 >= len(l.src) {
			st.wb = append(st.wb, c)
			l.pos++
			continue
		}
		var n int
		st.wb, n = appendEscape(st.wb, l.src[l.pos+1:])
		l.pos += 1 + n
	}
}

// appendEscape decodes the escape after a backslash (echo -e, printf and
// $'...' share these) and reports how many bytes it used.
func appendEscape(dst, s []byte) ([]byte, int) {
	switch s[0] {
	case 'n':
		return append(dst, '\n'), 1
	case 't':
		return append(dst, '\t'), 1
	case 'r':
		return append(dst, '\r'), 1
	case 'a', 'b', 'e', 'E', 'f', 'v':
		return append(dst, ' '), 1
	case 'x':
		v, n := 0, 1
		for n < 3 && n < len(s) && hexVal(s[n]) >= 0 {
			v = v*16 + hexVal(s[n])
			n++
		}
		if n == 1 {
			return append(dst, '\\', 'x'), 1
		}
		return append(dst, byte(v)), n
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v, n := 0, 0
		if s[0] == '0' {
			n = 1 // \0NNN in echo and printf
		}
		start := n
		for n < start+3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		if n == 0 {
			n = 1
		}
		return append(dst, byte(v)), n
	}
	return append(dst, s[0]), 1
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// maxBraceAlts bounds one brace expansion; more alternatives are dropped.
const maxBraceAlts = 16

// expandBraces replaces word wi, of the form pre{a,b,...}post, by its
// alternatives, as bash does before running {rm,-rf,/}.
func (l *lexer) expandBraces(wi int) {
	st := l.st
	w := st.words[wi]
	t := st.buf[w.s:w.e]
	open := bytes.IndexByte(t, '{')
	if open < 0 {
		return
	}
	depth, closeAt := 0, -1
	var commas [maxBraceAlts + 1]int
	n := 0
	for i := open; i < len(t) && closeAt < 0; i++ {
		switch t[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				closeAt = i
			}
		case ',':
			if depth == 1 && n < maxBraceAlts {
				commas[n] = i
				n++
			}
		}
	}
	if closeAt < 0 || n == 0 || !st.grow((n+1)*len(t)) {
		return
	}
	commas[n] = closeAt
	st.words = st.words[:wi]
	prev := open
	for k := 0; k <= n; k++ {
		s := len(st.buf)
		st.buf = append(st.buf, t[:open]...)
		st.buf = append(st.buf, t[prev+1:commas[k]]...)
		st.buf = append(st.buf, t[closeAt+1:]...)
		st.words = append(st.words, word{s: int32(s), e: int32(len(st.buf)), owner: w.owner, kind: w.kind, flags: w.flags &^ fBrace})
		st.buf = append(st.buf, 0)
		prev = commas[k]
	}
}
