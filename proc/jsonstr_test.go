package proc

import "testing"

var jsonStringSeeds = []string{"", "hello", "say \"hi\"\n\ttab\\", "<a href='x'>&amp;</a>", "\x00\x01\x1f\x7f",
	"\b\f\r", "héllo wörld ✓ 🚀", "bad \xff\xfe utf8 \xc3", "line\u2028sep\u2029para", "\xed\xa0\x80 surrogate"}

func TestTextLineMatchesEncoder(t *testing.T) {
	for _, s := range jsonStringSeeds {
		var l userLineJSON
		l.Type, l.Message.Role, l.Message.Content = "user", "user", s
		want, err := marshalLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := textLine(s); string(got) != string(want) {
			t.Errorf("textLine(%q) = %s, want %s", s, got, want)
		}
	}
}
