package slack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/fakeslack"
)

// httpHarness serves the adapter's HTTPHandler over real HTTP on loopback.
func httpHarness(t *testing.T, eng Engine, mut func(*Config)) (*harness, *httptest.Server) {
	h := newHarness(t, eng, mut)
	srv := httptest.NewServer(h.a.HTTPHandler())
	t.Cleanup(srv.Close)
	return h, srv
}

func send(t *testing.T, srv *httptest.Server, ctype string, body []byte, hdr http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/slack/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func signedJSON(t *testing.T, srv *httptest.Server, v any) (int, string) {
	body, _ := json.Marshal(v)
	return send(t, srv, "application/json", body, fakeslack.Sign("sekrit", time.Now(), body))
}

func signedForm(t *testing.T, srv *httptest.Server, form url.Values) (int, string) {
	body := []byte(form.Encode())
	return send(t, srv, "application/x-www-form-urlencoded", body, fakeslack.Sign("sekrit", time.Now(), body))
}

func TestHTTPEventsAPI(t *testing.T) {
	eng := newScriptEngine()
	h, srv := httpHarness(t, eng, nil)

	code, body := signedJSON(t, srv, map[string]any{"type": "url_verification", "challenge": "c-123", "token": "x"})
	if code != 200 || !strings.Contains(body, `"challenge":"c-123"`) {
		t.Fatalf("url_verification: %d %s", code, body)
	}

	ts := fakeslack.UserTS()
	ev := fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: "<@UBOT> over http", TS: ts})
	if code, _ := signedJSON(t, srv, ev); code != 200 {
		t.Fatalf("event: %d", code)
	}
	// Slack's retry of the same event (X-Slack-Retry-Num) starts nothing new.
	body2, _ := json.Marshal(ev)
	hdr := fakeslack.Sign("sekrit", time.Now(), body2)
	hdr.Set("X-Slack-Retry-Num", "1")
	if code, _ := send(t, srv, "application/json", body2, hdr); code != 200 {
		t.Fatalf("retry: %d", code)
	}
	h.waitThread(ts, "ECHO: over http")

	form := url.Values{}
	for k, v := range fakeslack.SlashCommand("/agent", "status", channel, user) {
		form.Set(k, v)
	}
	if code, _ := signedForm(t, srv, form); code != 200 {
		t.Fatalf("slash: %d", code)
	}
	h.waitCount("chat.postEphemeral", 1)
	eng.wait()
	if n := len(eng.submitted()); n != 1 {
		t.Fatalf("%d turns, want 1", n)
	}
}

func TestHTTPApprovalClick(t *testing.T) {
	h, srv := httpHarness(t, newScriptEngine(), nil)
	ts := h.mention("TOOL_BASH: make deploy", "")
	m := h.approvalMessage(ts)
	payload, _ := json.Marshal(fakeslack.BlockAction(actionApprove, "req-"+ts, channel, m.TS, ts, user))
	if code, body := signedForm(t, srv, url.Values{"payload": {string(payload)}}); code != 200 {
		t.Fatalf("click: %d %s", code, body)
	}
	h.waitThread(ts, "Approved by <@"+user+">approved by "+user)
}

// Bad input over HTTP is refused with a clear status, and the adapter keeps working.
func TestHTTPRejectsBadInput(t *testing.T) {
	eng := newScriptEngine()
	h, srv := httpHarness(t, eng, nil)
	good, _ := json.Marshal(fakeslack.MentionEvent(fakeslack.EventID(), fakeslack.Msg{Channel: channel, User: user, Text: "<@UBOT> x", TS: fakeslack.UserTS()}))
	cases := []struct {
		name  string
		ctype string
		body  []byte
		hdr   http.Header
		want  int
	}{
		{"malformed json", "application/json", []byte(`{"type":`), fakeslack.Sign("sekrit", time.Now(), []byte(`{"type":`)), 400},
		{"wrong signature", "application/json", good, fakeslack.Sign("other", time.Now(), good), 401},
		{"no signature", "application/json", good, http.Header{}, 401},
		{"stale timestamp", "application/json", good, fakeslack.Sign("sekrit", time.Now().Add(-6*time.Minute), good), 401},
		{"unknown event type", "application/json", []byte(`{"type":"event_callback","team_id":"T","event_id":"Ev1","event":{"type":"pin_added"}}`), nil, 200},
		{"unknown outer type", "application/json", []byte(`{"type":"app_rate_limited"}`), nil, 200},
		{"event without fields", "application/json", []byte(`{"type":"event_callback","event":{"type":"message"}}`), nil, 400},
		{"bad form", "application/x-www-form-urlencoded", []byte("a=%zz"), nil, 400},
		{"form without command", "application/x-www-form-urlencoded", []byte("x=1"), nil, 400},
		{"ssl check", "application/x-www-form-urlencoded", []byte("ssl_check=1&token=x"), nil, 200},
		{"bad interaction", "application/x-www-form-urlencoded", []byte("payload=%7Bnope"), nil, 400},
		{"other content type", "text/plain", []byte("hi"), nil, 415},
	}
	for _, tc := range cases {
		hdr := tc.hdr
		if hdr == nil {
			hdr = fakeslack.Sign("sekrit", time.Now(), tc.body)
		}
		if code, body := send(t, srv, tc.ctype, tc.body, hdr); code != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, code, body, tc.want)
		}
	}
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	ts := h.mention("still fine", "")
	h.waitThread(ts, "ECHO: still fine")
	eng.wait()
	if n := len(eng.submitted()); n != 1 {
		t.Fatalf("%d turns, want only the last one", n)
	}
}

// Garbage on the websocket is acknowledged where possible and never stops the adapter.
func TestSocketRejectsBadInput(t *testing.T) {
	eng := newScriptEngine()
	h := newHarness(t, eng, nil)
	for _, raw := range []string{
		`{not json`,
		`{"envelope_id":"bad-1","type":"events_api","payload":{"type":"event_callback","event":{"type":"message"}}}`,
		`{"envelope_id":"bad-2","type":"events_api","payload":"a string"}`,
		`{"envelope_id":"bad-3","type":"mystery","payload":{}}`,
		`{"envelope_id":"bad-4","type":"interactive","payload":{"type":"block_actions","actions":[]}}`,
		`{"envelope_id":"bad-5","type":"slash_commands","payload":[1,2]}`,
	} {
		if err := h.fake.InjectRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"bad-1", "bad-2", "bad-3", "bad-4", "bad-5"} {
		if _, ok := h.fake.WaitAck(id, wait); !ok {
			t.Errorf("envelope %s not acknowledged", id)
		}
	}
	ts := h.mention("alive", "")
	h.waitThread(ts, "ECHO: alive")
	eng.wait()
	if n := len(eng.submitted()); n != 1 {
		t.Fatalf("%d turns, want 1", n)
	}
}
