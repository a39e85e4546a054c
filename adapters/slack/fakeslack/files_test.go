package fakeslack

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url, auth string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// Files are served like files.slack.com: bytes only with a bot token, a
// 200 sign-in page without one, 404 for unknown files; every request is logged.
func TestServesFilesLikeSlack(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	f := s.AddFile("a.txt", "text/plain", []byte("hello"))
	if code, ct, body := get(t, f.Download, "Bearer xoxb-1"); code != 200 || ct != "text/plain" || body != "hello" {
		t.Fatalf("with token: %d %q %q", code, ct, body)
	}
	if code, ct, body := get(t, f.URL, ""); code != 200 || !strings.HasPrefix(ct, "text/html") || strings.Contains(body, "hello") {
		t.Fatalf("without token: %d %q %q", code, ct, body)
	}
	missing := s.FileRef("FNOPE", "gone.png", "image/png", 10)
	if code, _, _ := get(t, missing.Download, "Bearer xoxb-1"); code != http.StatusNotFound {
		t.Fatalf("unknown file: %d", code)
	}
	d := s.Downloads()
	if len(d) != 3 || d[0].Authorization != "Bearer xoxb-1" || !d[1].LoginPage || d[2].Status != 404 {
		t.Fatalf("download log %+v", d)
	}
	if m := f.JSON(); m["url_private_download"] != f.Download || m["size"] != int64(5) || m["mimetype"] != "text/plain" {
		t.Fatalf("file JSON %v", m)
	}
}

func TestHoldFile(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	f := s.AddFile("a.bin", "", []byte{1, 2, 3})
	release := s.HoldFile(f.ID)
	got := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, f.Download, nil)
		req.Header.Set("Authorization", "Bearer xoxb-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	if !s.WaitUntil(func() bool { return len(s.Downloads()) == 1 }, 30*time.Second) {
		t.Fatal("download never arrived")
	}
	select {
	case <-got:
		t.Fatal("held download answered before release")
	default:
	}
	release()
	if body := <-got; body != "\x01\x02\x03" {
		t.Fatalf("body %q", body)
	}
}
