package jsonstr

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

var seeds = []string{"", "hello", "say \"hi\"\n\ttab\\", "<a href='x'>&amp;</a>", "\x00\x01\x1f\x7f",
	"\b\f\r", "héllo wörld ✓ 🚀", "bad \xff\xfe utf8 \xc3", "line\u2028sep\u2029para", "\xed\xa0\x80 surrogate"}

func FuzzAppendGo(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendGo(nil, s); string(got) != string(want) {
			t.Fatalf("AppendGo(%q) = %s, encoding/json gives %s", s, got, want)
		}
	})
}

func FuzzAppendJS(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendJS(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", b, s, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	})
}

// JSON.stringify leaves what encoding/json escapes for HTML as it is.
func TestAppendJSLikeStringify(t *testing.T) {
	for in, want := range map[string]string{
		"<a>&":        `"<a>&"`,
		"x\u2028y":    "\"x\u2028y\"",
		"bad\xff":     "\"bad\ufffd\"",
		"q\"\\\n\x01": `"q\"\\\n\u0001"`,
	} {
		if got := string(AppendJS(nil, in)); got != want {
			t.Errorf("AppendJS(%q) = %s, want %s", in, got, want)
		}
	}
}
