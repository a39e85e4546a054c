package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var partial = "--include-partial-messages"

func (c *cli) waitStderr(t *testing.T, substr string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !strings.Contains(c.stderr.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr never contained %q:\n%s", substr, c.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *cli) signal(t *testing.T, s os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(s); err != nil {
		t.Fatal(err)
	}
}

func TestVerboseRequired(t *testing.T) {
	cmd := exec.Command(mockBin, "-p", "--input-format", "stream-json", "--output-format", "stream-json")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v", err)
	}
	if len(out) != 0 || !strings.Contains(string(ee.Stderr), "requires --verbose") {
		t.Fatalf("stdout %q stderr %q", out, ee.Stderr)
	}
}

func TestUnknownFlagExits1(t *testing.T) {
	cmd := exec.Command(mockBin, append(append([]string{}, baseArgs...), "--bogus")...)
	_, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(ee.Stderr), "--bogus") {
		t.Fatalf("want exit 1 naming the flag, got %v", err)
	}
}

func TestNothingOnStdoutWithoutInput(t *testing.T) {
	c := start(t, newEnv(t), partial)
	code, rest := c.closeAndExit()
	if code != 0 || len(rest) != 0 {
		t.Fatalf("exit %d, %d lines; want 0 and none", code, len(rest))
	}
}

func TestFirstLineIsInit(t *testing.T) {
	c := start(t, newEnv(t), "--model=claude-test-1")
	c.user("hi")
	ev := c.next()
	if ev.sig() != "system/init" || ev.str("model") != "claude-test-1" {
		t.Fatalf("first line %.200s", ev.raw)
	}
	if r := c.result(); r.str("result") != "ECHO: hi" || r.get("is_error") != false {
		t.Fatalf("result %.300s", r.raw)
	}
}

func TestNonJSONFirstLineExits1Silently(t *testing.T) {
	c := start(t, newEnv(t), partial)
	c.send("this is not json")
	code, rest := c.exit()
	if code != 1 || len(rest) != 0 {
		t.Fatalf("exit %d with %d lines; want 1 and none", code, len(rest))
	}
}

func TestCrashExits3MidTurn(t *testing.T) {
	c := start(t, newEnv(t), partial)
	c.user("CRASH now")
	code, rest := c.exit()
	if code != 3 {
		t.Fatalf("exit %d, want 3", code)
	}
	deltas := 0
	for _, ev := range rest {
		if ev.str("type") == "result" {
			t.Fatal("CRASH must not produce a result")
		}
		if isDelta(ev) {
			deltas++
		}
	}
	if deltas < 2 {
		t.Fatalf("want a couple of text deltas before the crash, got %d", deltas)
	}
}

func TestHangIgnoresStdinAndDiesOnSIGTERM(t *testing.T) {
	c := start(t, newEnv(t), partial)
	c.user("HANG")
	if ev := c.next(); ev.sig() != "system/init" {
		t.Fatalf("want init, got %s", ev.sig())
	}
	c.user("hello?")
	c.send(`{"type":"control_request","request_id":"i1","request":{"subtype":"interrupt"}}`)
	_ = c.stdin.Close() // EOF does not end a hung CLI
	c.signal(t, syscall.SIGTERM)
	code, rest := c.exit()
	if code != 0 || len(rest) != 0 {
		t.Fatalf("exit %d with %d lines after init; want 0 and none", code, len(rest))
	}
	if !strings.Contains(c.stderr.String(), "terminated") {
		t.Fatalf("want the SIGTERM handled by a still-running process; stderr:\n%s", c.stderr.String())
	}
}

func TestHangHardNeedsSIGKILL(t *testing.T) {
	c := start(t, newEnv(t))
	c.user("HANGHARD")
	if ev := c.next(); ev.sig() != "system/init" {
		t.Fatalf("want init, got %s", ev.sig())
	}
	c.signal(t, syscall.SIGTERM)
	c.waitStderr(t, "HANGHARD: ignoring")
	select {
	case <-c.waited:
		t.Fatal("HANGHARD exited on SIGTERM")
	default:
	}
	c.signal(t, syscall.SIGKILL)
	code, _ := c.exit()
	if code != -1 {
		t.Fatalf("exit code %d, want death by signal", code)
	}
}

func collectTurn(c *cli) (deltas string, assistant []event, result event) {
	for {
		ev := c.next()
		switch {
		case isDelta(ev):
			deltas += ev.str("event", "delta", "text")
		case ev.str("type") == "assistant":
			assistant = append(assistant, ev)
		case ev.str("type") == "result":
			return deltas, assistant, ev
		}
	}
}

func TestHugeReply(t *testing.T) {
	c := start(t, newEnv(t), partial)
	c.user("HUGE:200000")
	deltas, asst, res := collectTurn(c)
	text := res.str("result")
	if len(text) != 200000 || deltas != text {
		t.Fatalf("result %d bytes, deltas %d bytes; want 200000 and equal", len(text), len(deltas))
	}
	if !strings.Contains(text, "```go\n") || strings.Count(text, "```")%2 != 0 || strings.Count(text, "\n\n") < 10 {
		t.Fatal("want paragraphs and closed code fences")
	}
	if len(asst) != 1 || len(asst[0].raw) < 200000 || strings.Count(string(asst[0].raw), "\n") != 1 {
		t.Fatal("assistant must be one long line")
	}
}

func TestBigLine5MB(t *testing.T) {
	const n = 5 << 20
	c := start(t, newEnv(t))
	c.user("BIGLINE:5242880")
	_, asst, res := collectTurn(c)
	text := res.str("result")
	if len(text) != n || strings.Contains(text, "\n") || asst[0].str("message", "content") != "" && len(asst[0].raw) < n {
		t.Fatalf("result %d bytes (newline: %v), want %d on one line", len(text), strings.Contains(text, "\n"), n)
	}
}

func TestHistorySurvivesResume(t *testing.T) {
	e := newEnv(t)
	const sid = "5e55a000-0000-4000-8000-000000000042"
	c := start(t, e, "--session-id", sid)
	c.user("turn one")
	c.result()
	c.user("turn two")
	c.result()
	if code, _ := c.closeAndExit(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	path := transcriptPath(e.home, e.dir, sid)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("transcript not at %s: %v", path, err)
	}
	c2 := start(t, e, "--resume", sid)
	c2.user("HISTORY")
	init := c2.next()
	if init.str("session_id") != sid {
		t.Fatalf("resumed session id %q", init.str("session_id"))
	}
	if r := c2.result(); r.str("result") != "HISTORY: turn one | turn two" {
		t.Fatalf("result %q", r.str("result"))
	}
}

func TestInterruptEndsTurnAndProcessStaysUsable(t *testing.T) {
	c := start(t, newEnv(t), partial)
	c.user("SLOW:600000 a very slow reply")
	c.until("stream_event/content_block_delta")
	c.send(`{"type":"control_request","request_id":"stop1","request":{"subtype":"interrupt"}}`)
	evs := c.until("control_response/success")
	cr := evs[len(evs)-1]
	if cr.str("response", "request_id") != "stop1" {
		t.Fatalf("control_response %.200s", cr.raw)
	}
	if q, ok := cr.get("response", "response", "still_queued").([]any); !ok || len(q) != 0 {
		t.Fatalf("want still_queued [], got %.200s", cr.raw)
	}
	r := c.result()
	if r.str("subtype") != "error_during_execution" || r.get("is_error") != true {
		t.Fatalf("result %.300s", r.raw)
	}
	c.user("after interrupt")
	if r := c.result(); r.str("result") != "ECHO: after interrupt" {
		t.Fatalf("result %q", r.str("result"))
	}
}

const initHooks = `{"type":"control_request","request_id":"init1","request":{"subtype":"initialize","hooks":{"PreToolUse":[{"matcher":"Bash","hookCallbackIds":["waf"]}]}}}`

func answer(c *cli, id string, body any) {
	b, _ := json.Marshal(map[string]any{"type": "control_response",
		"response": map[string]any{"subtype": "success", "request_id": id, "response": body}})
	c.send(string(b))
}

func TestInitializeAnswersWithPID(t *testing.T) {
	c := start(t, newEnv(t), "--permission-prompt-tool", "stdio")
	c.send(initHooks)
	ev := c.next()
	if ev.sig() != "control_response/success" || ev.str("response", "request_id") != "init1" {
		t.Fatalf("got %.200s", ev.raw)
	}
	if pid, _ := ev.get("response", "response", "pid").(float64); int(pid) != c.cmd.Process.Pid {
		t.Fatalf("pid %v, want %d", pid, c.cmd.Process.Pid)
	}
}

func TestInterruptWithdrawsCanUseTool(t *testing.T) {
	c := start(t, newEnv(t), "--permission-prompt-tool", "stdio")
	c.user("TOOL_BASH: touch f")
	evs := c.until("control_request/can_use_tool")
	req := evs[len(evs)-1]
	c.send(`{"type":"control_request","request_id":"stop1","request":{"subtype":"interrupt"}}`)
	evs = c.until("control_cancel_request")
	if got := evs[len(evs)-1].str("request_id"); got != req.str("request_id") {
		t.Fatalf("cancelled %q, want %q", got, req.str("request_id"))
	}
	if r := c.result(); r.str("subtype") != "error_during_execution" {
		t.Fatalf("result %.300s", r.raw)
	}
	c.user("next")
	if r := c.result(); r.str("result") != "ECHO: next" {
		t.Fatalf("result %q", r.str("result"))
	}
}

func TestHookAllowSkipsPromptAndAskForcesIt(t *testing.T) {
	c := start(t, newEnv(t), "--permission-prompt-tool", "stdio")
	c.send(initHooks)
	c.next()
	c.user("TOOL_BASH: git push")
	evs := c.until("control_request/hook_callback")
	hook := evs[len(evs)-1]
	if hook.str("request", "input", "tool_input", "command") != "git push" {
		t.Fatalf("hook input %.300s", hook.raw)
	}
	answer(c, hook.str("request_id"), map[string]any{"hookSpecificOutput": map[string]any{
		"hookEventName": "PreToolUse", "permissionDecision": "allow"}})
	for _, ev := range c.until("result/success") {
		if ev.sig() == "control_request/can_use_tool" {
			t.Fatal("hook allow must skip can_use_tool")
		}
		if ev.str("type") == "result" && ev.str("result") != "TOOL_RESULT: (mock) ran: git push" {
			t.Fatalf("result %q", ev.str("result"))
		}
	}
	c.user("TOOL_BASH: echo hi") // read-only, but the hook says ask
	evs = c.until("control_request/hook_callback")
	answer(c, evs[len(evs)-1].str("request_id"), map[string]any{"hookSpecificOutput": map[string]any{
		"hookEventName": "PreToolUse", "permissionDecision": "ask"}})
	evs = c.until("control_request/can_use_tool")
	answer(c, evs[len(evs)-1].str("request_id"), map[string]any{"behavior": "allow",
		"updatedInput": map[string]any{"command": "echo changed"}})
	if r := c.result(); r.str("result") != "TOOL_RESULT: changed" {
		t.Fatalf("result %q", r.str("result"))
	}
}

func TestStreamTokens(t *testing.T) {
	c := start(t, newEnv(t), partial)
	c.user("STREAM:5:1")
	var toks []string
	for {
		ev := c.next()
		if isDelta(ev) {
			toks = append(toks, ev.str("event", "delta", "text"))
		}
		if ev.str("type") == "result" {
			if ev.str("result") != "tok1 tok2 tok3 tok4 tok5" {
				t.Fatalf("result %q", ev.str("result"))
			}
			break
		}
	}
	if strings.Join(toks, "|") != "tok1| tok2| tok3| tok4| tok5" {
		t.Fatalf("deltas %q", toks)
	}
}

func TestEOFFinishesRunningTurn(t *testing.T) {
	c := start(t, newEnv(t))
	c.user("SLOW:20 finish me")
	_ = c.stdin.Close()
	code, rest := c.exit()
	if code != 0 || len(rest) == 0 || rest[len(rest)-1].str("result") != "ECHO: SLOW:20 finish me" {
		t.Fatalf("exit %d, %d lines; want the turn's result then exit 0", code, len(rest))
	}
}

func TestSIGTERMAfterTurnExits0WithTranscript(t *testing.T) {
	e := newEnv(t)
	c := start(t, e)
	c.user("keep me")
	init := c.next()
	c.result()
	c.signal(t, syscall.SIGTERM)
	if code, _ := c.exit(); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	b, err := os.ReadFile(transcriptPath(e.home, e.dir, init.str("session_id")))
	if err != nil || !strings.Contains(string(b), "keep me") || !strings.Contains(string(b), "ECHO: keep me") {
		t.Fatalf("transcript: %v %q", err, b)
	}
}

func TestImageBlocksReachTheModel(t *testing.T) {
	c := start(t, newEnv(t))
	c.send(`{"type":"user","message":{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAEC"}}]}}`)
	if r := c.result(); r.str("result") != "ECHO: look\n[image image/png 3 bytes]" {
		t.Fatalf("result %q", r.str("result"))
	}
}

func TestBadDirectiveIsExplained(t *testing.T) {
	c := start(t, newEnv(t))
	c.user("HUGE:lots")
	if r := c.result(); !strings.HasPrefix(r.str("result"), "MOCK ERROR: HUGE:<bytes>") {
		t.Fatalf("result %q", r.str("result"))
	}
}

func TestSetModel(t *testing.T) {
	c := start(t, newEnv(t))
	c.send(`{"type":"control_request","request_id":"m1","request":{"subtype":"set_model","model":"claude-other"}}`)
	if ev := c.next(); ev.sig() != "control_response/success" {
		t.Fatalf("got %.200s", ev.raw)
	}
	c.user("x")
	if ev := c.next(); ev.str("model") != "claude-other" {
		t.Fatalf("init model %q", ev.str("model"))
	}
}

// The real CLI's exit status at EOF follows the last result: this one is
// an error, so 1.
func TestEOFWhileAskingAbortsTurnAndExits1(t *testing.T) {
	c := start(t, newEnv(t), "--permission-prompt-tool", "stdio")
	c.user("TOOL_BASH: touch f")
	evs := c.until("control_request/can_use_tool")
	id := evs[len(evs)-1].str("request_id")
	code, rest := c.closeAndExit()
	if code != 1 || len(rest) < 2 {
		t.Fatalf("exit %d with %d lines", code, len(rest))
	}
	if rest[0].sig() != "control_cancel_request" || rest[0].str("request_id") != id {
		t.Fatalf("want the request withdrawn first, got %.200s", rest[0].raw)
	}
	if last := rest[len(rest)-1]; last.str("subtype") != "error_during_execution" {
		t.Fatalf("last line %.200s", last.raw)
	}
}

func TestToolDenyIsRecorded(t *testing.T) {
	c := start(t, newEnv(t), "--permission-prompt-tool", "stdio")
	c.user("TOOL_BASH: rm -rf ./build")
	evs := c.until("control_request/can_use_tool")
	answer(c, evs[len(evs)-1].str("request_id"), map[string]any{"behavior": "deny", "message": "WAF says no"})
	r := c.result()
	d, _ := r.get("permission_denials").([]any)
	if r.str("result") != "TOOL_RESULT: (is_error) WAF says no" || len(d) != 1 {
		t.Fatalf("result %.400s", r.raw)
	}
}

func TestClosedLoopManyTurnsInOrder(t *testing.T) {
	c := start(t, newEnv(t), partial)
	for i := 0; i < 500; i++ {
		want := "ECHO: msg " + strconv.Itoa(i)
		c.user("msg " + strconv.Itoa(i))
		deltas, _, r := collectTurn(c)
		if r.str("result") != want || deltas != want {
			t.Fatalf("turn %d: result %q deltas %q", i, r.str("result"), deltas)
		}
		if got, _ := r.get("result_index").(float64); int(got) != i {
			t.Fatalf("turn %d: result_index %v", i, got)
		}
	}
}

func TestEOFAfterAPIErrorExits1(t *testing.T) {
	c := start(t, newEnv(t), partial)
	c.user("please FAIL529")
	evs := c.until("result/success")
	if evs[1].sig() != "system/status" || evs[len(evs)-1].get("api_error_status") != float64(529) {
		t.Fatalf("want status then an api error result, got %s ... %.300s", evs[1].sig(), evs[len(evs)-1].raw)
	}
	if code, _ := c.closeAndExit(); code != 1 {
		t.Fatalf("exit %d, want 1 like the real CLI after an error result", code)
	}
}

func TestInterruptDuringToolAnswersAfterCancel(t *testing.T) {
	c := start(t, newEnv(t), partial, "--permission-prompt-tool", "stdio")
	c.user("TOOL_BASH: touch f")
	evs := c.until("control_request/can_use_tool")
	if p := evs[len(evs)-1].str("request", "blocked_path"); p != c.dir+"/f" {
		t.Fatalf("blocked_path %q", p)
	}
	c.send(`{"type":"control_request","request_id":"stop1","request":{"subtype":"interrupt"}}`)
	var order []string
	for _, ev := range c.until("result/error_during_execution") {
		if ev.str("type") != "stream_event" {
			order = append(order, ev.sig())
		}
	}
	want := "control_cancel_request control_response/success user user result/error_during_execution"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("order\n got %s\nwant %s", got, want)
	}
}

// Lines written together: the first runs alone (it starts the turn), the
// rest are merged into following turns, never lost or reordered.
func TestLinesWrittenTogetherAreMergedInOrder(t *testing.T) {
	c := start(t, newEnv(t))
	c.send(`{"type":"user","message":{"role":"user","content":"a"}}` + "\n" +
		`{"type":"user","message":{"role":"user","content":"b"}}` + "\n" +
		`{"type":"user","message":{"role":"user","content":"c"}}`)
	if r := c.result(); r.str("result") != "ECHO: a" {
		t.Fatalf("first result %q", r.str("result"))
	}
	var rest []string
	for strings.Join(rest, "\n") != "b\nc" {
		r := c.result().str("result")
		if !strings.HasPrefix(r, "ECHO: ") || len(rest) > 2 {
			t.Fatalf("results so far %q, then %q", rest, r)
		}
		rest = append(rest, strings.TrimPrefix(r, "ECHO: "))
	}
}
