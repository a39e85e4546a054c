package main

import (
	"context"
	"os"
	"strings"
	"time"
)

// turn is one user turn: a run of fake API calls ending in a result line.
type turn struct {
	a       *app
	ctx     context.Context
	prompt  string
	prompts []userPrompt
	model   string
	hooks   []hookReg
	initTpl initLine
	start   time.Time

	usage   turnUsage
	apiMS   int64
	ttft    time.Duration // first streamed content, 0 until then
	msgIDs  []string
	denials [][]byte // rendered permission_denials entries
	entries [][]byte // transcript lines of this turn
	intr    *interruptSlot
	sc      script
}

// instant reports a turn that neither sleeps nor waits for the host.
func (t *turn) instant() bool {
	switch t.sc.kind {
	case scriptHistory, scriptFail:
		return true
	case scriptText:
		return t.sc.delay == 0
	}
	return false
}

// answerInterrupt writes the pending interrupt's control_response, if any.
func (t *turn) answerInterrupt() {
	if id, ok := t.intr.take(); ok {
		t.a.out.write(interruptAnswer(id))
	}
}

// startTurn runs the queued prompts as one turn (the real CLI merges lines
// written during a turn into the next one, joined by newlines).
func (a *app) startTurn(prompts []userPrompt) *turnState {
	ctx, cancel := context.WithCancel(context.Background())
	texts := make([]string, len(prompts))
	for i, p := range prompts {
		texts[i] = p.text
	}
	a.mu.Lock()
	t := &turn{
		a: a, ctx: ctx, prompts: prompts, prompt: strings.Join(texts, "\n"),
		model: a.model, hooks: a.hooks, initTpl: a.initTpl, start: time.Now(),
		intr: &interruptSlot{},
	}
	a.mu.Unlock()
	t.sc = parseScript(t.prompt)
	if t.instant() {
		// Nothing in it can wait, so it runs on the loop: one goroutine
		// hand-off less per turn, and an interrupt sent meanwhile finds
		// the process idle, as it would a moment later anyway.
		t.run()
		cancel()
		return nil
	}
	st := &turnState{cancel: cancel, done: make(chan struct{}), intr: t.intr}
	go func() {
		defer close(st.done)
		defer cancel()
		t.run()
		// An interrupt that raced the turn's end is still answered.
		if id, ok := st.intr.close(); ok {
			a.out.writeFlush(interruptAnswer(id))
		}
	}()
	return st
}

func (t *turn) run() {
	a := t.a
	a.out.write(t.initTpl.render(a.ids.uuid()))
	t.recordPrompt()
	sc := t.sc
	switch sc.kind {
	case scriptHang, scriptHangHard:
		// Set before init reaches the host: whatever it sends after
		// seeing init must already be ignored.
		mode := turnHang
		if sc.kind == scriptHangHard {
			mode = turnHangHard
		}
		a.hang.Store(int32(mode))
		a.out.flush()
		return
	case scriptCrash:
		t.crash()
	case scriptFail:
		t.apiError(sc.fail)
	case scriptTool:
		t.tool(sc.command)
	case scriptHistory:
		text := "HISTORY: " + strings.Join(a.history, " | ")
		t.textTurn(text, chunkText(text), 0)
	default:
		t.textTurn(sc.text, sc.chunks, sc.delay)
	}
	a.out.flush()
}

// textTurn is one API call answering with one text block.
// The first chunk comes at once and each later one after delay, so a test
// can wait for the first delta and then interrupt without racing.
func (t *turn) textTurn(text string, chunks []string, delay time.Duration) {
	c := t.beginCall()
	c.textBlockStart()
	sent := 0
	for i, ch := range chunks {
		if delay > 0 && i > 0 {
			if !t.sleep(delay) {
				t.interrupted(c, text[:sent])
				return
			}
		} else if t.ctx.Err() != nil {
			t.interrupted(c, text[:sent])
			return
		}
		c.textDelta(ch)
		sent += len(ch)
	}
	c.assistantText(text)
	c.end("end_turn")
	t.addHistory()
	t.success(text, 1)
}

// sleep waits d unless the turn is interrupted first; it flushes stdout so
// the host sees everything produced before the pause.
func (t *turn) sleep(d time.Duration) bool {
	t.a.out.flush()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// crash emits a little text, then dies mid-turn with status 3 (no result,
// turn not saved).
func (t *turn) crash() {
	c := t.beginCall()
	c.textBlockStart()
	c.textDelta("Crash")
	c.textDelta("ing…")
	t.a.out.seal()
	t.a.log.Warn("CRASH requested: exiting with status 3")
	os.Exit(3)
}

func (t *turn) addHistory() {
	t.a.history = append(t.a.history, t.prompt)
	t.a.histBytes += len(t.prompt)
}

// interrupted ends a streaming call the way interrupt.jsonl shows.
func (t *turn) interrupted(c *apiCall, partial string) {
	t.answerInterrupt()
	if partial != "" {
		c.assistantAborted(partial)
	}
	t.interruptMarker("[Request interrupted by user]")
	c.abortEnd()
	t.addHistory()
	t.aborted(t.usage.calls+1, abortText)
}
