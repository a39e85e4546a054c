// Package jsonstr quotes strings as JSON without reflection, in the two
// dialects hotline has to match byte for byte: Go's encoding/json (what the
// bridge writes to the agent) and JavaScript's JSON.stringify (what the
// real Claude Code CLI, and so mockcli, writes).
package jsonstr

import "unicode/utf8"

const hex = "0123456789abcdef"

// AppendGo appends s quoted exactly as encoding/json.Marshal quotes it:
// HTML-safe (<, >, & as \u003c…), U+2028 and U+2029 escaped, invalid UTF-8
// as the escape \ufffd.
func AppendGo(b []byte, s string) []byte { return appendQuoted(b, s, true) }

// AppendJS appends s quoted as JSON.stringify does: only quotes,
// backslashes and control characters are escaped, non-ASCII stays UTF-8.
// Invalid UTF-8 becomes U+FFFD so the output is always valid JSON.
func AppendJS(b []byte, s string) []byte { return appendQuoted(b, s, false) }

func appendQuoted(b []byte, s string, goStyle bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!goStyle || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1 && goStyle:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
		case goStyle && (r == '\u2028' || r == '\u2029'):
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscape writes the escape for one ASCII byte that needs one.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}
