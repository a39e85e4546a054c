package proc

import "github.com/hotline-dev/hotline/internal/jsonstr"

// textLinePrefix and textLineSuffix frame a text-only user message; it is
// the hot path's one stdin write, so it is built without reflection.
const (
	textLinePrefix = `{"type":"user","message":{"role":"user","content":`
	textLineSuffix = "}}\n"
)

func textLine(text string) []byte {
	b := make([]byte, 0, len(textLinePrefix)+len(text)+len(text)/8+8+len(textLineSuffix))
	b = append(b, textLinePrefix...)
	b = jsonstr.AppendGo(b, text)
	return append(b, textLineSuffix...)
}
