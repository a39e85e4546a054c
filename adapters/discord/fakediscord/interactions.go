package fakediscord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Channel lookups, command registration and the interaction routes.

func (s *Server) getChannel(w http.ResponseWriter, id string) int {
	s.mu.Lock()
	raw, ok := s.channels[id]
	s.mu.Unlock()
	if !ok {
		return writeJSON(w, 404, map[string]any{"message": "Unknown Channel", "code": 10003})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	_, _ = w.Write(raw)
	return 200
}

func (s *Server) putCommands(w http.ResponseWriter, body []byte) int {
	var cmds []map[string]any
	if err := json.Unmarshal(body, &cmds); err != nil {
		return invalidForm(w, err)
	}
	for _, c := range cmds {
		c["id"] = s.NewID()
		c["application_id"] = AppID
	}
	return writeJSON(w, 200, cmds)
}

func (s *Server) interactionCallback(w http.ResponseWriter, token string, body []byte) int {
	var resp struct {
		Type int         `json:"type"`
		Data messageBody `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Type == 0 {
		return invalidForm(w, fmt.Errorf("type: required"))
	}
	if resp.Data.Content != nil && utf8.RuneCountInString(*resp.Data.Content) > MaxChars {
		return invalidForm(w, fmt.Errorf("content too long"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if resp.Type == 4 || resp.Type == 5 {
		channel, ok := s.interactionChannel[token]
		if !ok {
			channel = "interaction:" + token
		}
		m := &Message{ID: s.newIDLocked(), ChannelID: channel}
		if resp.Data.Content != nil {
			m.Content = *resp.Data.Content
		}
		s.byID["original:"+token] = m
		s.messages[m.ChannelID] = append(s.messages[m.ChannelID], m)
	}
	w.WriteHeader(204)
	return 204
}

func (s *Server) editWebhookMessage(w http.ResponseWriter, token, id string, body []byte) int {
	mb, err := decodeBody(body)
	if err != nil {
		return invalidForm(w, err)
	}
	key := id
	if id == "@original" {
		key = "original:" + token
	}
	s.mu.Lock()
	m, ok := s.byID[key]
	if !ok {
		s.mu.Unlock()
		return writeJSON(w, 404, map[string]any{"message": "Unknown Webhook", "code": 10015})
	}
	applyEdit(m, mb)
	out := messageJSON(m)
	s.mu.Unlock()
	return writeJSON(w, 200, out)
}
