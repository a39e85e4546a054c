package main

import (
	"net/url"
	"os"
	"strings"
	"time"
)

// apiError plays a failing API (apierr.jsonl): two api_retry events (no
// real backoff, so tests stay fast), a synthetic assistant message and an
// is_error result. The process stays usable.
func (t *turn) apiError(f failSpec) {
	a := t.a
	if a.cfg.partial {
		a.out.write(statusLine(a))
	}
	if f.retryErr != "" {
		for attempt, delay := range []int64{522, 1081} {
			var j jw
			j.open()
			j.S("type", "system")
			j.S("subtype", "api_retry")
			j.N("attempt", int64(attempt+1))
			j.N("max_retries", 2)
			j.N("retry_delay_ms", delay)
			j.N("error_status", int64(f.status))
			j.S("error", f.retryErr)
			j.S("session_id", a.sessionID)
			j.S("uuid", a.ids.uuid())
			j.close()
			a.out.write(j.line())
		}
	}
	var m jw
	m.open()
	m.Null("diagnostics")
	m.S("id", a.ids.uuid())
	m.Null("container")
	m.S("model", "<synthetic>")
	m.S("role", "assistant")
	m.Null("stop_details")
	m.S("stop_reason", "stop_sequence")
	m.S("stop_sequence", "")
	m.S("type", "message")
	m.R("usage", []byte(`{"output_tokens_details":null,"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":`+serverToolUse+`,"service_tier":null,"cache_creation":`+cacheCreation+`,"inference_geo":null,"iterations":null,"speed":null,"fallback_credit":null}`))
	m.R("content", textContent(a.gatewayText(f.text)))
	m.Null("context_management")
	m.close()

	uuid, now := a.ids.uuid(), timestamp(time.Now())
	var j jw
	j.open()
	j.S("type", "assistant")
	j.R("message", m.b)
	j.Null("parent_tool_use_id")
	j.S("session_id", a.sessionID)
	j.S("uuid", uuid)
	j.S("timestamp", now)
	j.S("error", f.errCode)
	j.S("request_id", "req_fake_"+a.ids.hex(16))
	j.B("is_api_error_message", true)
	j.N("api_error_status", int64(f.status))
	j.S("api_error_type", f.errType)
	j.close()
	a.out.write(j.line())
	t.entry("assistant", m.b, uuid, now, "")
	t.addHistory()
	t.apiFailure(f)
}

// gatewayText names the configured API host the way the CLI does; the
// recordings' fake API sat at 127.0.0.1:46229.
func (a *app) gatewayText(text string) string {
	u, err := url.Parse(os.Getenv("ANTHROPIC_BASE_URL"))
	if err != nil || u.Host == "" {
		return text
	}
	return strings.ReplaceAll(text, "127.0.0.1:46229", u.Host)
}
