package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMrkdwn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"**bold** and *it* and _it2_", "*bold* and _it_ and _it2_"},
		{"__bold__ ~~gone~~", "*bold* ~gone~"},
		{"# Title\n## Sub ##", "*Title*\n*Sub*"},
		{"- one\n* two\n  + three", "• one\n• two\n  • three"},
		{"see [the docs](https://example.com/a_b?x=1&y=2)", "see <https://example.com/a_b?x=1&amp;y=2|the docs>"},
		{"a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"> quoted **text**", "&gt; quoted *text*"},
		{"use `**not bold** <x>` here", "use `**not bold** &lt;x&gt;` here"},
		{"```go\nif a < b { **x** }\n```\nafter **b**", "```\nif a &lt; b { **x** }\n```\nafter *b*"},
		{"```inline```", "```inline```"},
		{"---", "──────────"},
		{"2 * 3 * 4", "2 * 3 * 4"},
		{"snake_case stays", "snake_case stays"},
		{"", ""},
		{"unclosed ```\ncode **x**", "unclosed ```\ncode *x*"},
	} {
		if got := Mrkdwn(tc.in); got != tc.want {
			t.Errorf("Mrkdwn(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func FuzzMrkdwn(f *testing.F) {
	for _, s := range []string{"**b** *i* [l](https://x.y)", "```py\nx<1\n```", "# h\n- a\n> q", "`a` & <b>", "\x00 0\x00 [a](https://b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		out := Mrkdwn(md)
		if utf8.ValidString(md) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input %q", md)
		}
		// Slack control characters never pass through raw.
		if strings.ContainsAny(strings.NewReplacer("<http", "", "<mailto", "", "|", "").Replace(out), "<") && !strings.Contains(md, "](") {
			t.Fatalf("unescaped < in %q from %q", out, md)
		}
	})
}
