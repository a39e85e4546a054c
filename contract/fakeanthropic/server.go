package fakeanthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	maxBody     = 32 << 20 // the CLI sends its whole system prompt and tool list
	maxRecorded = 256      // requests kept for assertions; oldest dropped
	deltaRunes  = 4
	// Model is advertised on /v1/models and used when a request names none.
	Model = "claude-fake-1"
)

// Config tunes a Server. The zero value is usable.
type Config struct {
	Log logrus.FieldLogger // nil: discard
}

// Recorded is one POST /v1/messages the fake answered.
type Recorded struct {
	Path    string
	Request *MessagesRequest
	Reply   Reply
}

// Server is a running fake on a loopback port.
type Server struct {
	log  logrus.FieldLogger
	ln   net.Listener
	http *http.Server
	done chan struct{}
	// handlers counts requests in flight: http.Server.Close does not wait
	// for them, and a test must not see their logs after Close.
	handlers sync.WaitGroup

	mu       sync.Mutex
	seq      int
	recorded []Recorded
	unknown  []string
}

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start(cfg Config) (*Server, error) {
	log := cfg.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakeanthropic: listen: %w", err)
	}
	s := &Server{log: log, ln: ln, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", s.handleMessages)
	mux.HandleFunc("POST /v1/messages/count_tokens", s.handleCountTokens)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("/", s.handleUnknown)
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.Add(1)
		defer s.handlers.Done()
		mux.ServeHTTP(w, r)
	})
	s.http = &http.Server{Handler: counted, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Error("fakeanthropic: serve")
		}
	}()
	return s, nil
}

// URL is the base URL for ANTHROPIC_BASE_URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server, ending streams in flight, and waits for it.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	<-s.done
	s.handlers.Wait()
	return err
}

// Requests returns the recorded message requests, oldest first.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.recorded...)
}

// Unknown returns "METHOD /path" of requests the fake has no handler for.
func (s *Server) Unknown() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unknown...)
}

func (s *Server) record(rec Recorded) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if len(s.recorded) == maxRecorded {
		copy(s.recorded, s.recorded[1:])
		s.recorded = s.recorded[:maxRecorded-1]
	}
	s.recorded = append(s.recorded, rec)
	return s.seq
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", "body unreadable or too large")
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		s.log.WithError(err).Warn("fakeanthropic: bad messages request")
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
		return
	}
	rep := Plan(req)
	seq := s.record(Recorded{Path: r.URL.Path, Request: req, Reply: rep})
	s.log.WithFields(logrus.Fields{"seq": seq, "stream": req.Stream, "messages": len(req.Messages), "kind": rep.Kind}).Debug("fakeanthropic: messages")
	id := fmt.Sprintf("%06d", seq)
	w.Header().Set("request-id", "req_fake_"+id) // the real API names every request, failed ones too
	if rep.Kind == ReplyError {
		if rep.Status == http.StatusTooManyRequests {
			w.Header().Set("retry-after", "0")
		}
		writeError(w, rep.Status, rep.ErrType, rep.ErrMsg)
		return
	}
	inTokens := len(body) / 4
	if !req.Stream {
		writeJSON(w, http.StatusOK, wholeMessage(id, req.Model, rep, inTokens))
		return
	}
	if err := streamMessage(r.Context(), w, id, req.Model, rep, inTokens); err != nil {
		s.log.WithError(err).WithField("seq", seq).Debug("fakeanthropic: stream ended early")
	}
}

func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	writeJSON(w, http.StatusOK, map[string]int64{"input_tokens": n/4 + 1})
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"data": []map[string]string{{
			"type": "model", "id": Model, "display_name": "Fake", "created_at": "2026-01-01T00:00:00Z",
		}},
		"has_more": false, "first_id": Model, "last_id": Model,
	})
}

// handleUnknown answers anything else with a 404 in the API's error shape
// and remembers it, so a new CLI version's extra calls show up in the logs.
func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	what := r.Method + " " + r.URL.Path
	s.mu.Lock()
	if len(s.unknown) < maxRecorded {
		s.unknown = append(s.unknown, what)
	}
	s.mu.Unlock()
	s.log.WithField("request", what).Info("fakeanthropic: unknown path")
	writeError(w, http.StatusNotFound, "not_found_error", "fake: no such endpoint "+strings.TrimSpace(what))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{
		"type":  "error",
		"error": map[string]string{"type": typ, "message": msg},
	})
}
