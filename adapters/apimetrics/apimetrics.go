// Package apimetrics counts a platform client's API calls by method and
// status (429s included) through an http.RoundTripper.
package apimetrics

import (
	"net/http"
	"strings"
)

// Observer receives one finished call; status is 0 when no response came.
type Observer func(method string, status int)

// Transport wraps base so that every request is reported to obs under the
// name that name gives it. A nil obs returns base unchanged.
func Transport(base http.RoundTripper, name func(*http.Request) string, obs Observer) http.RoundTripper {
	if obs == nil {
		return base
	}
	return &counting{base: base, name: name, obs: obs}
}

type counting struct {
	base http.RoundTripper
	name func(*http.Request) string
	obs  Observer
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	c.obs(c.name(r), status)
	return resp, err
}

// LastSegment names a call by the last path element: Slack's Web API
// method ("chat.postMessage").
func LastSegment(r *http.Request) string {
	p := strings.TrimRight(r.URL.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// Route names a call by HTTP method and path with numeric ids and tokens
// replaced, so the label set stays small: "PATCH /channels/{id}/messages/{id}".
func Route(r *http.Request) string {
	orig := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	parts := append([]string(nil), orig...)
	for i, p := range orig {
		// webhooks/{app id}/{token} and interactions/{id}/{token}: the token is a secret
		afterID := i > 1 && (orig[i-2] == "webhooks" || orig[i-2] == "interactions")
		if isID(p) || afterID {
			parts[i] = "{id}"
		}
	}
	// drop the api/vN prefix
	if len(parts) > 1 && parts[0] == "api" {
		parts = parts[2:]
	}
	return r.Method + " /" + strings.Join(parts, "/")
}

func isID(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
