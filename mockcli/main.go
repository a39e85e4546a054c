// Command mockcli is a compiled stand-in for the Claude Code CLI
// (2.1.332) in `-p --input-format stream-json --output-format stream-json
// --verbose` mode. It speaks the stream-json protocol exactly as the
// recordings in ../shared/protocol/claude-code-2.1.332/ show, with a fake
// "model" whose behaviour is chosen by the prompt text:
//
//	(anything else)   reply "ECHO: <prompt>", streamed in chunks of ~4 chars
//	SLOW:<ms> ...     the echo, one chunk at once then one every <ms>
//	STREAM:<n>:<ms>   reply "tok1 tok2 ... tok<n>", one token every <ms>
//	TOOL_BASH: <cmd>  a Bash tool call: PreToolUse hooks, can_use_tool (with
//	                  --permission-prompt-tool stdio), a pretend tool_result
//	                  (nothing runs: echo prints its arguments, touch & co.
//	                  "(Bash completed with no output)", else "(mock) ran: <cmd>")
//	...FAIL500...     API errors with retries: also FAIL429, FAIL529, FAILBAD
//	                  (anywhere in the prompt, like the fake API)
//	CRASH             a couple of text deltas, then exit status 3 (no result)
//	HANG              system/init, then silence; stdin ignored; SIGTERM ends it
//	HANGHARD          like HANG but SIGTERM/SIGINT are ignored too
//	HUGE:<bytes>      exactly <bytes> of text: lines, paragraphs, code fences
//	BIGLINE:<bytes>   exactly <bytes> of text without a newline
//	HISTORY           "HISTORY: " + earlier prompts of the conversation
//	                  joined by " | " (restored by --resume)
//
// Directives are the first word of the prompt. Lines written during a turn
// are merged into the next turn (joined by newlines) like the real CLI. A
// stdin line that is not JSON exits 1; stdin EOF finishes the running turn
// and exits 0, or 1 when the last result was an error (as the real CLI
// does); SIGTERM/SIGINT flush stdout and exit 0. See README.md.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	if cfg.version {
		fmt.Fprintf(stdout, "%s (Claude Code)\n", cliVersion)
		return 0
	}
	a, err := newApp(cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)
	lines := make(chan lineEvent, 16)
	// The reader blocks in Read until EOF; it is owned by the process and
	// ends with it (a CLI cannot unblock its own stdin).
	go readStdin(stdin, lines)
	return a.loop(lines, sigs)
}

func newApp(cfg config, stdout, stderr io.Writer) (*app, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	ids := newIDGen()
	a := &app{
		cfg: cfg, out: newLineWriter(stdout, 64<<10), ids: ids,
		cwd: cwd, home: os.Getenv("HOME"),
		waiting: make(map[string]chan controlResponse), stdinGone: make(chan struct{}),
	}
	switch {
	case cfg.resumeID != "":
		a.sessionID = cfg.resumeID
	case cfg.sessionID != "":
		a.sessionID = cfg.sessionID
	default:
		a.sessionID = ids.uuid()
	}
	a.log = newLogger(stderr).WithField("session_id", a.sessionID)
	if a.home == "" {
		if cfg.resumeID != "" {
			return nil, fmt.Errorf("--resume needs HOME to find the transcript")
		}
		a.log.Warn("HOME is not set: transcripts are not saved")
	} else {
		a.tr = &transcript{path: a.transcriptPath()}
	}
	if cfg.resumeID != "" {
		prompts, last, err := loadTranscript(a.tr.path, a.log)
		switch {
		case os.IsNotExist(err):
			a.resumeBad = true
		case err != nil:
			return nil, fmt.Errorf("--resume %s: %w", cfg.resumeID, err)
		default:
			a.history = prompts
			for _, p := range prompts {
				a.histBytes += len(p)
			}
			a.tr.lastUUID = last
		}
	}
	a.setModel(cfg.model)
	return a, nil
}

// newLogger writes diagnostics to stderr, which the host logs; stdout is
// reserved for the protocol.
func newLogger(w io.Writer) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(w)
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	return l
}
