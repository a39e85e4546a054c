package proc

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAgentEnv(t *testing.T) {
	environ := []string{
		"PATH=/bin", "HOME=/home/u", "LANG=C.UTF-8", "LC_ALL=C", "LC_CTYPE=C", "TZ=UTC", "TMPDIR=/tmp",
		"HTTP_PROXY=h", "HTTPS_PROXY=hs", "NO_PROXY=n", "http_proxy=h2", "https_proxy=hs2", "no_proxy=n2",
		"ANTHROPIC_API_KEY=k", "CLAUDE_CODE_MAX_RETRIES=1", "DISABLE_TELEMETRY=1", "OPENCODE_X=1",
		"SLACK_BOT_TOKEN=xoxb-secret", "SLACK_APP_TOKEN=xapp", "DISCORD_TOKEN=d", "REDIS_URL=redis://x",
		"HOTLINE_DATA_DIR=/d", "CLAUDECODE=1", "USER=u", "SHELL=/bin/sh", "MY_EXTRA=e", "noequals", "=bad",
		"PATH=/usr/bin:/bin",
	}
	pass := []string{"MY_EXTRA", "SLACK_APP_TOKEN", "HOTLINE_AGENT", "CLAUDECODE", " "}
	got := AgentEnv(KindClaude, environ, pass)
	want := []string{
		"PATH=/usr/bin:/bin", "HOME=/home/u", "LANG=C.UTF-8", "LC_ALL=C", "LC_CTYPE=C", "TZ=UTC", "TMPDIR=/tmp",
		"HTTP_PROXY=h", "HTTPS_PROXY=hs", "NO_PROXY=n", "http_proxy=h2", "https_proxy=hs2", "no_proxy=n2",
		"ANTHROPIC_API_KEY=k", "CLAUDE_CODE_MAX_RETRIES=1", "DISABLE_TELEMETRY=1", "MY_EXTRA=e",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("claude env:\n got  %q\n want %q", got, want)
	}
	if mock := AgentEnv(KindMock, environ, pass); !slices.Equal(mock, want) {
		t.Fatalf("mock env differs from claude: %q", mock)
	}
	oc := AgentEnv(KindOpenCode, environ, nil)
	if !slices.Contains(oc, "OPENCODE_X=1") || slices.Contains(oc, "ANTHROPIC_API_KEY=k") {
		t.Fatalf("opencode env %q", oc)
	}
	if h := withHome(want, "/other"); slices.Contains(h, "HOME=/home/u") || !slices.Contains(h, "HOME=/other") {
		t.Fatalf("withHome %q", h)
	}
}

func TestArgv(t *testing.T) {
	base := []string{"-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose", "--include-partial-messages"}
	cases := []struct {
		cfg  Config
		tail []string
	}{
		{Config{Kind: KindClaude}, nil},
		{Config{Kind: KindMock, SessionID: "s1", Model: "m", ExtraArgs: []string{"--x"}}, []string{"--session-id", "s1", "--model", "m", "--x"}},
		{Config{Kind: KindClaude, SessionID: "s1", Resume: true, PermissionPrompt: true}, []string{"--permission-prompt-tool", "stdio", "--resume", "s1"}},
	}
	for _, c := range cases {
		if got := Argv(c.cfg); !slices.Equal(got, append(slices.Clone(base), c.tail...)) {
			t.Errorf("Argv(%+v) = %q", c.cfg, got)
		}
	}
}

func TestStartRejects(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, Config{Kind: KindOpenCode, Path: "/bin/true"}); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Errorf("opencode: %v", err)
	}
	if _, err := Start(ctx, Config{Kind: "nope", Path: "/bin/true"}); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := Start(ctx, Config{Kind: KindMock}); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := Start(ctx, Config{Kind: KindMock, Path: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing binary accepted")
	}
}

// splitLines feeds in to a splitter in chunks of n bytes.
func splitLines(in string, n, limit int) (lines []string, tooLong []bool) {
	sp := splitter{limit: limit,
		line:    func(l []byte) { lines = append(lines, string(l)) },
		tooLong: func(r bool) { tooLong = append(tooLong, r) }}
	for len(in) > 0 {
		k := min(n, len(in))
		sp.feed([]byte(in[:k]))
		in = in[k:]
	}
	sp.end()
	return lines, tooLong
}

func TestSplitter(t *testing.T) {
	long := strings.Repeat("x", 100)
	in := "short\n" + long + "\n" + strings.Repeat("y", 300) + "\nafter\r\n\nlast"
	for _, n := range []int{1, 7, 16, 150, 1000} {
		got, tooLong := splitLines(in, n, 200)
		if want := []string{"short", long, "after", "", "last"}; !slices.Equal(got, want) || len(tooLong) != 1 {
			t.Fatalf("chunks of %d: lines %q, too long %v", n, got, tooLong)
		}
	}
	// An over-long last line without a newline is still reported.
	if got, tooLong := splitLines("a\n"+strings.Repeat("z", 300), 16, 200); !slices.Equal(got, []string{"a"}) || len(tooLong) != 1 {
		t.Fatalf("unterminated long line: %q %v", got, tooLong)
	}
}

func TestSplitterTooLongResult(t *testing.T) {
	for _, at := range []int{0, 5, 13, 14, 15, 16, 17, 150} {
		for _, n := range []int{16, 1000} {
			pad := strings.Repeat("z", at)
			in := `{"x":"` + pad + `",` + string(resultMark) + `,"r":"` + strings.Repeat("r", 300) + "\"}\n" +
				`{"type":"assistant","t":"` + strings.Repeat("a", 300) + "\"}\nok\n"
			lines, flags := splitLines(in, n, 100)
			if !slices.Equal(flags, []bool{true, false}) || !slices.Equal(lines, []string{"ok"}) {
				t.Errorf("offset %d, chunks of %d: result flags %v, lines %q", at, n, flags, lines)
			}
		}
	}
}

func TestParseStat(t *testing.T) {
	data := []byte("1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10\n")
	st, err := parseStat(data)
	if err != nil || st.State != 'S' || st.PGRP != 1234 || st.Start != 987654 {
		t.Fatalf("parseStat: %+v %v", st, err)
	}
	for _, bad := range []string{"", "1 (x) S 1", "1 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "1 (x) S 1 z 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
	own, err := readStat(os.Getpid())
	if err != nil || own.Start == 0 || own.State == 'Z' {
		t.Fatalf("own stat %+v %v", own, err)
	}
}

func TestParsePIDFile(t *testing.T) {
	rec, err := parsePIDFile([]byte(`{"pid":42,"pgid":42,"start":7,"path":"/bin/x"}`))
	if err != nil || rec.PID != 42 || rec.Start != 7 || rec.Path != "/bin/x" {
		t.Fatalf("%+v %v", rec, err)
	}
	for _, bad := range []string{``, `{}`, `{"pid":1,"pgid":1,"start":5}`, `{"pid":42,"pgid":42,"start":0}`, `{"pid":42,"pgid":42,"start":7,"x":1}`, `garbage`} {
		if _, err := parsePIDFile([]byte(bad)); err == nil {
			t.Errorf("parsePIDFile(%q) accepted", bad)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10\n"))
	f.Add([]byte("1 (x) Z"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStat(data)
		if err == nil && st.State == 0 {
			t.Fatalf("accepted %q without a state", data)
		}
	})
}

func FuzzParsePIDFile(f *testing.F) {
	f.Add([]byte(`{"pid":42,"pgid":42,"start":7,"path":"/bin/x"}`))
	f.Add([]byte(`{"pid":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := parsePIDFile(data)
		if err == nil && (rec.PID <= 1 || rec.PGID <= 1 || rec.Start == 0) {
			t.Fatalf("accepted implausible %+v", rec)
		}
	})
}
