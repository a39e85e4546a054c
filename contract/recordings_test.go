//go:build contract

package contract

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordingsDir holds the transcripts mockcli is built from.
func recordingsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HOTLINE_PROTOCOL_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "protocol", "claude-code-2.1.332")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("recordings: %v (set HOTLINE_PROTOCOL_DIR to shared/protocol/claude-code-<version>)", err)
	}
	return dir
}

func readRecording(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestLiveCLIMatchesRecordings plays the recorded inputs of the
// recordings made with --include-partial-messages (proc's argv) into the
// pinned CLI behind this package's fake API. A difference means the fake
// API or the CLI version drifted from what ../shared/protocol shows, which
// would make the mockcli comparison above meaningless.
func TestLiveCLIMatchesRecordings(t *testing.T) {
	dir := recordingsDir(t)
	for _, name := range []string{"basic", "interrupt", "tools_noprompt"} {
		t.Run(name, func(t *testing.T) {
			var sc *scenario
			for i := range scenarios {
				if scenarios[i].name == name {
					sc = &scenarios[i]
				}
			}
			want, err := Sequence(readRecording(t, filepath.Join(dir, name+".jsonl")))
			if err != nil {
				t.Fatalf("recording: %v", err)
			}
			got, err := Sequence(playOn(t, claudePath(t), *sc).lines)
			if err != nil {
				t.Fatalf("live CLI: %v", err)
			}
			if d := CompareGroups("live CLI", want, got); len(d) > 0 {
				t.Errorf("live CLI differs from %s.jsonl:\n%s", name, strings.Join(d, "\n"))
			}
		})
	}
}
