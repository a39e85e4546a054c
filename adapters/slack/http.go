package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
)

const maxBody = 1 << 20 // Slack's payloads are far smaller

// HTTPHandler serves the HTTP Events API, slash commands and interactivity
// on one URL (the bridge mounts it at /slack/events). Every request must
// carry a valid v0 signature no older than five minutes; it is answered
// before any work is done.
func (a *Adapter) HTTPHandler() http.Handler { return http.HandlerFunc(a.serveHTTP) }

func (a *Adapter) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if a.cfg.SigningSecret == "" {
		http.Error(w, "HTTP Events API disabled: SLACK_SIGNING_SECRET is not set", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := a.verify(r.Header, body); err != nil {
		a.log.WithError(err).Warn("slack: rejected an unsigned or stale HTTP request")
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		a.serveEvent(w, body)
	case "application/x-www-form-urlencoded":
		a.serveForm(w, body)
	default:
		http.Error(w, "unsupported content type", http.StatusUnsupportedMediaType)
	}
}

func (a *Adapter) verify(h http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(h, a.cfg.SigningSecret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

func (a *Adapter) serveEvent(w http.ResponseWriter, body []byte) {
	ev, err := decodeEvent(body)
	switch {
	case errors.Is(err, errUnsupported):
		w.WriteHeader(http.StatusOK) // acknowledged, deliberately ignored
		return
	case err != nil:
		a.log.WithError(err).Warn("slack: rejected a malformed HTTP event")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case ev.Outer == "url_verification":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": ev.Challenge})
		return
	}
	if !a.tryEnqueue(func(ctx context.Context) { a.onMessage(ctx, ev) }) {
		// Slack retries non-2xx answers, so a full queue loses nothing.
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveForm(w http.ResponseWriter, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	if p := form.Get("payload"); p != "" {
		it, err := decodeInteraction([]byte(p))
		if errors.Is(err, errUnsupported) {
			w.WriteHeader(http.StatusOK)
			return
		}
		if err != nil {
			a.log.WithError(err).Warn("slack: rejected a malformed interaction")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		a.goSide(func(ctx context.Context) { a.onClick(ctx, it) })
		return
	}
	if form.Get("ssl_check") == "1" { // Slack probing the endpoint's certificate
		w.WriteHeader(http.StatusOK)
		return
	}
	if form.Get("command") == "" || form.Get("channel_id") == "" || form.Get("user_id") == "" {
		http.Error(w, "neither an interaction payload nor a slash command", http.StatusBadRequest)
		return
	}
	cmd := slack.SlashCommand{TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url")}
	w.WriteHeader(http.StatusOK)
	a.goSide(func(ctx context.Context) { a.onSlash(ctx, cmd) })
}
