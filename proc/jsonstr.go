package proc

import "unicode/utf8"

// textLinePrefix and textLineSuffix frame a text-only user message; it is
// the hot path's one stdin write, so it is built without reflection.
const (
	textLinePrefix = `{"type":"user","message":{"role":"user","content":`
	textLineSuffix = "}}\n"
)

func textLine(text string) []byte {
	b := make([]byte, 0, len(textLinePrefix)+len(text)+len(text)/8+8+len(textLineSuffix))
	b = append(b, textLinePrefix...)
	b = appendJSONString(b, text)
	return append(b, textLineSuffix...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it (HTML-safe, invalid UTF-8 as U+FFFD, U+2028/U+2029 escaped), so
// that the CLI reads the same bytes either way; FuzzAppendJSONString holds
// the two to that.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
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
