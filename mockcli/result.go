package main

import (
	"time"
)

// turnUsage sums a turn's API calls.
type turnUsage struct {
	calls         int
	input, output int64
}

func (u *turnUsage) add(c *apiCall) {
	u.input += c.input
	u.output += c.output
}

// modelStat is the process-wide usage of one model (result.modelUsage).
type modelStat struct {
	model         string
	input, output int64
	cost          float64
}

type processStats struct {
	models []modelStat
	cost   float64
}

func cost(input, output int64) float64 {
	return float64(input)*4e-6 + float64(output)*20e-6
}

func (s *processStats) add(model string, u turnUsage) {
	c := cost(u.input, u.output)
	s.cost += c
	for i := range s.models {
		if s.models[i].model == model {
			s.models[i].input += u.input
			s.models[i].output += u.output
			s.models[i].cost += c
			return
		}
	}
	s.models = append(s.models, modelStat{model: model, input: u.input, output: u.output, cost: c})
}

func modelUsageObj(j *jw, key string, stats []modelStat) {
	j.O(key)
	for _, m := range stats {
		j.O(m.model)
		j.N("inputTokens", m.input)
		j.N("outputTokens", m.output)
		j.N("cacheReadInputTokens", 0)
		j.N("cacheCreationInputTokens", 0)
		j.N("webSearchRequests", 0)
		j.F("costUSD", m.cost)
		j.N("contextWindow", 1000000)
		j.N("maxOutputTokens", 128000)
		j.N("thinkingTokens", 0)
		j.N("cacheCreationEphemeral5mInputTokens", 0)
		j.N("cacheCreationEphemeral1hInputTokens", 0)
		j.S("canonicalModel", m.model)
		j.S("provider", "firstParty")
		j.S("costBasis", "list")
		j.close()
	}
	j.close()
}

const (
	serverToolUse = `{"web_search_requests":0,"web_fetch_requests":0}`
	cacheCreation = `{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0}`
	subagentStats = `{"spawned":0,"requested":{"background":0,"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}}`
	// errorUsage is the all-zero usage of results without a finished API call.
	errorUsage = `{"output_tokens_details":{"thinking_tokens":0},"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,"server_tool_use":` + serverToolUse + `,"service_tier":"standard","cache_creation":` + cacheCreation + `,"inference_geo":"","iterations":[],"speed":"standard","fallback_credit":null}`
)

func (t *turn) usageObj(j *jw) {
	j.O("usage")
	j.N("input_tokens", t.usage.input)
	j.N("cache_creation_input_tokens", 0)
	j.N("cache_read_input_tokens", 0)
	j.N("output_tokens", t.usage.output)
	j.R("output_tokens_details", []byte(`{"thinking_tokens":0}`))
	j.R("server_tool_use", []byte(serverToolUse))
	j.S("service_tier", "standard")
	j.R("cache_creation", []byte(cacheCreation))
	j.S("inference_geo", "")
	j.R("iterations", []byte(`[]`))
	j.S("speed", "standard")
	j.Null("fallback_credit")
	j.close()
}

func (t *turn) denialsArr(j *jw) {
	j.A("permission_denials")
	for _, d := range t.denials {
		j.raw(d)
	}
	j.closeArr()
}

func (t *turn) commonTail(j *jw, terminal string) {
	j.S("terminal_reason", terminal)
	j.S("fast_mode_state", "off")
	j.S("fast_mode_disabled_reason", "sdk_opt_in_required")
	j.R("subagent_stats", []byte(subagentStats))
	j.N("safety_stops", 0)
}

// msgIDsArr lists the streamed messages; the CLI only tracks them when it
// forwards partial messages.
func (t *turn) msgIDsArr(j *jw) {
	if !t.a.cfg.partial {
		return
	}
	j.A("begun_message_ids")
	for _, id := range t.msgIDs {
		j.str(id)
	}
	j.closeArr()
}

// finish accounts the turn, writes the result line, then persists the
// turn's transcript at once (the real CLI flushes right after result). The
// last result decides the exit status at stdin EOF, as with the real CLI
// (1 after an API error).
func (t *turn) finish(j *jw, isError bool) {
	a := t.a
	a.out.write(j.line())
	a.resultIndex++
	a.lastErr = isError
	a.out.flushThen(func() { a.saveTurn(t.entries) })
}

// success is the result of a completed turn (key order as basic.jsonl).
func (t *turn) success(text string, numTurns int) {
	a := t.a
	a.stats.add(t.model, t.usage)
	dur := time.Since(t.start).Milliseconds()
	ttft := t.ttft.Milliseconds()
	var j jw
	j.b = make([]byte, 0, len(text)+2500)
	j.open()
	j.N("duration_api_ms", t.apiMS)
	j.S("stop_reason", "end_turn")
	j.S("session_id", a.sessionID)
	j.F("total_cost_usd", a.stats.cost)
	t.usageObj(&j)
	modelUsageObj(&j, "modelUsage", a.stats.models)
	t.denialsArr(&j)
	t.commonTail(&j, "completed")
	j.B("is_error", false)
	j.N("num_turns", int64(numTurns))
	j.S("subtype", "success")
	j.Null("api_error_status")
	j.S("result", text)
	j.N("ttft_ms", ttft)
	j.S("type", "result")
	j.N("duration_ms", dur)
	j.S("uuid", a.ids.uuid())
	t.msgIDsArr(&j)
	j.N("ttft_stream_ms", ttft)
	j.N("time_to_request_ms", 0)
	j.N("first_content_frame_ms", ttft)
	j.N("queued_turn_count", 0)
	j.N("result_index", int64(a.resultIndex))
	modelUsageObj(&j, "model_usage_since_last_result", []modelStat{{
		model: t.model, input: t.usage.input, output: t.usage.output, cost: cost(t.usage.input, t.usage.output),
	}})
	j.close()
	t.finish(&j, false)
}

// abortKind says what an interrupt cut short.
type abortKind int

const (
	abortText  abortKind = iota // a streaming reply (interrupt.jsonl)
	abortTools                  // a pending tool decision
)

// aborted is the result of an interrupted turn: no "result" and no
// "api_error_status" keys, an "errors" list instead. A streaming reply has
// no finished API call to account; a tool call does.
func (t *turn) aborted(numTurns int, kind abortKind) {
	a := t.a
	a.stats.add(t.model, t.usage)
	stop, terminal := "null", "aborted_streaming"
	var j jw
	j.open()
	if kind == abortTools {
		stop, terminal = "tool_use", "aborted_tools"
		j.N("duration_api_ms", t.apiMS)
		j.S("stop_reason", stop)
	} else {
		j.N("duration_api_ms", 0)
		j.Null("stop_reason")
	}
	j.S("session_id", a.sessionID)
	j.F("total_cost_usd", a.stats.cost)
	if kind == abortTools {
		t.usageObj(&j)
	} else {
		j.R("usage", []byte(errorUsage))
	}
	modelUsageObj(&j, "modelUsage", a.stats.models)
	t.denialsArr(&j)
	t.commonTail(&j, terminal)
	j.B("is_error", true)
	j.N("num_turns", int64(numTurns))
	j.S("subtype", "error_during_execution")
	j.A("errors")
	j.str("[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=" + stop)
	j.closeArr()
	j.S("type", "result")
	j.N("duration_ms", time.Since(t.start).Milliseconds())
	j.S("uuid", a.ids.uuid())
	t.msgIDsArr(&j)
	j.N("queued_turn_count", 0)
	j.N("result_index", int64(a.resultIndex))
	modelUsageObj(&j, "model_usage_since_last_result", []modelStat{{
		model: t.model, input: t.usage.input, output: t.usage.output, cost: cost(t.usage.input, t.usage.output),
	}})
	j.close()
	t.finish(&j, true)
}

// apiFailure is the result after the API kept failing (apierr.jsonl).
func (t *turn) apiFailure(f failSpec) {
	a := t.a
	var j jw
	j.open()
	j.N("duration_api_ms", 0)
	j.S("stop_reason", "stop_sequence")
	j.S("session_id", a.sessionID)
	j.F("total_cost_usd", a.stats.cost)
	j.R("usage", []byte(errorUsage))
	modelUsageObj(&j, "modelUsage", a.stats.models)
	t.denialsArr(&j)
	t.commonTail(&j, "api_error")
	j.B("is_error", true)
	j.N("num_turns", 1)
	j.S("subtype", "success")
	j.N("api_error_status", int64(f.status))
	j.S("api_error_type", f.errType)
	j.S("result", a.gatewayText(f.text))
	j.S("type", "result")
	j.N("duration_ms", time.Since(t.start).Milliseconds())
	j.S("uuid", a.ids.uuid())
	j.N("queued_turn_count", 0)
	j.N("result_index", int64(a.resultIndex))
	j.R("model_usage_since_last_result", []byte(`{}`))
	j.close()
	t.finish(&j, true)
}

// resumeErrorResult answers the first line after --resume of an unknown
// session (resume_unknown.jsonl); the process then exits 1.
func (a *app) resumeErrorResult() []byte {
	var j jw
	j.open()
	j.S("type", "result")
	j.S("subtype", "error_during_execution")
	j.N("duration_ms", 0)
	j.N("duration_api_ms", 0)
	j.B("is_error", true)
	j.N("num_turns", 0)
	j.Null("stop_reason")
	j.S("session_id", a.sessionID)
	j.N("total_cost_usd", 0)
	j.R("usage", []byte(errorUsage))
	j.R("modelUsage", []byte(`{}`))
	j.R("permission_denials", []byte(`[]`))
	j.S("uuid", a.ids.uuid())
	j.A("errors")
	j.str("No conversation found with session ID: " + a.sessionID)
	j.closeArr()
	j.N("result_index", 0)
	j.close()
	return j.line()
}
