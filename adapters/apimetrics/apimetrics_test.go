package apimetrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCountsMethodAndStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/chat.update" {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	var got []string
	c := &http.Client{Transport: Transport(http.DefaultTransport, LastSegment, func(m string, s int) {
		got = append(got, m+" "+http.StatusText(s))
	})}
	for _, p := range []string{"/api/chat.postMessage", "/api/chat.update"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(got) != 2 || got[0] != "chat.postMessage OK" || got[1] != "chat.update Too Many Requests" {
		t.Fatalf("observed %q", got)
	}
}

func TestRouteHidesIDsAndTokens(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v9/channels/123/messages/456":                    "PATCH /channels/{id}/messages/{id}",
		"/api/v9/webhooks/789/secret-token/messages/@original": "PATCH /webhooks/{id}/{id}/messages/@original",
		"/api/v9/interactions/111/tok/callback":                "PATCH /interactions/{id}/{id}/callback",
	} {
		r := httptest.NewRequest("PATCH", path, nil)
		if got := Route(r); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
