package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hotline-dev/hotline/internal/jsonstr"
)

// transcript is the session file the real CLI keeps under
// $HOME/.claude/projects/<projectDirName(cwd)>/<session>.jsonl.
type transcript struct {
	path     string
	lastUUID string
	f        *os.File // opened at the first save and kept: one write per turn
}

// projectDirName follows the real CLI, checked against 2.1.332: every
// character that is not an ASCII letter or digit becomes '-' (one per
// UTF-16 unit, as JavaScript counts), so "/" and "." become '-' as the
// protocol README says, and so do "_" and spaces.
func projectDirName(cwd string) string {
	var b strings.Builder
	for _, r := range cwd {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r > 0xFFFF:
			b.WriteString("--")
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

func transcriptPath(home, cwd, sessionID string) string {
	return filepath.Join(home, ".claude", "projects", projectDirName(cwd), sessionID+".jsonl")
}

func (a *app) transcriptPath() string {
	return transcriptPath(a.home, a.cwd, a.sessionID)
}

// loadTranscript restores the prompts of a saved conversation. Lines that
// do not parse are skipped with a warning, like a truncated last write.
func loadTranscript(path string, log logrus.FieldLogger) (prompts []string, lastUUID string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	for n := 1; ; n++ {
		line, rerr := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var e struct {
				Type     string          `json:"type"`
				UUID     string          `json:"uuid"`
				PromptID string          `json:"promptId"`
				Message  json.RawMessage `json:"message"`
			}
			if jerr := json.Unmarshal(line, &e); jerr != nil {
				log.WithFields(logrus.Fields{"path": path, "line": n}).WithError(jerr).Warn("skipping bad transcript line")
			} else {
				if e.UUID != "" {
					lastUUID = e.UUID
				}
				if e.Type == "user" && e.PromptID != "" {
					if p, perr := parseUserMessage(e.Message); perr == nil {
						prompts = append(prompts, p.text)
					}
				}
			}
		}
		if rerr == io.EOF {
			return prompts, lastUUID, nil
		}
		if rerr != nil {
			return nil, "", rerr
		}
	}
}

// recordPrompt adds the turn's user entry (merged prompts become one).
func (t *turn) recordPrompt() {
	content := json.RawMessage(jsonstr.AppendJS(nil, t.prompt))
	if len(t.prompts) == 1 {
		content = t.prompts[0].content
	}
	var m jw
	m.open()
	m.S("role", "user")
	m.R("content", content)
	m.close()
	t.entry("user", m.b, t.a.ids.uuid(), timestamp(time.Now()), t.a.ids.uuid())
}

// entry appends one transcript line to the turn's pending entries.
func (t *turn) entry(kind string, message []byte, uuid, ts, promptID string) {
	a := t.a
	if a.tr == nil {
		return
	}
	var j jw
	j.b = make([]byte, 0, len(message)+400)
	j.open()
	if a.tr.lastUUID == "" {
		j.Null("parentUuid")
	} else {
		j.S("parentUuid", a.tr.lastUUID)
	}
	j.B("isSidechain", false)
	j.S("userType", "external")
	j.S("cwd", a.cwd)
	j.S("sessionId", a.sessionID)
	j.S("version", cliVersion)
	j.S("type", kind)
	j.R("message", message)
	j.S("uuid", uuid)
	j.S("timestamp", ts)
	if promptID != "" {
		j.S("promptId", promptID)
	}
	j.close()
	t.entries = append(t.entries, j.line())
	a.tr.lastUUID = uuid
}

// interruptMarker is the user line the CLI adds when a turn is cut short.
func (t *turn) interruptMarker(text string) {
	a := t.a
	var m jw
	m.open()
	m.S("role", "user")
	m.R("content", textContent(text))
	m.close()
	uuid, now := a.ids.uuid(), timestamp(time.Now())
	var j jw
	j.open()
	j.S("type", "user")
	j.R("message", m.b)
	j.Null("parent_tool_use_id")
	j.S("session_id", a.sessionID)
	j.S("uuid", uuid)
	j.S("timestamp", now)
	j.close()
	a.out.write(j.line())
	t.entry("user", m.b, uuid, now, "")
}

// saveTurn appends a finished turn's entries in one write.
func (a *app) saveTurn(entries [][]byte) {
	if a.tr == nil || len(entries) == 0 {
		return
	}
	if err := a.tr.append(bytes.Join(entries, nil)); err != nil {
		a.log.WithError(err).WithField("path", a.tr.path).Error("saving transcript")
	}
}

// append writes data with one write(2); the kernel has it once the call
// returns, so no close or sync is needed before exit.
func (tr *transcript) append(data []byte) error {
	if tr.f == nil {
		if err := os.MkdirAll(filepath.Dir(tr.path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(tr.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		tr.f = f
	}
	_, err := tr.f.Write(data)
	return err
}

func (a *app) historyBytes() int { return a.histBytes }
