package fakediscord

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, rawURL, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFilesSignedDownloadsAndRecording(t *testing.T) {
	s := New()
	defer s.Close()
	defer http.DefaultClient.CloseIdleConnections()
	f := s.AddFile("1", "a b.png", "image/png", []byte("PNGDATA"))
	if f.Size != 7 || f.ContentType != "image/png" || !strings.Contains(f.URL, "hm=") || f.ProxyURL == f.URL {
		t.Fatalf("file %+v", f)
	}
	if code, b := get(t, f.URL, ""); code != 200 || b != "PNGDATA" {
		t.Errorf("signed url: %d %q", code, b)
	}
	if code, b := get(t, f.ProxyURL, "Bot x"); code != 200 || b != "PNGDATA" {
		t.Errorf("proxy url: %d %q", code, b)
	}
	unsigned := f.URL[:strings.Index(f.URL, "?")]
	if code, _ := get(t, unsigned, ""); code != 404 {
		t.Errorf("unsigned url: %d", code)
	}
	s.RemoveFile(f)
	if code, _ := get(t, f.URL, ""); code != 404 {
		t.Errorf("removed file: %d", code)
	}
	d := s.Downloads()
	if len(d) != 4 || !d[0].Signed || d[0].Bytes != 7 || d[0].Authorization != "" || d[1].Authorization != "Bot x" ||
		d[2].Signed || d[2].Status != 404 || d[3].Status != 404 || strings.Contains(d[0].Path, "?") {
		t.Errorf("downloads %+v", d)
	}
	if n := len(s.Calls()); n != 4 {
		t.Errorf("calls recorded %d, want 4", n)
	}
}

func TestFilesHold(t *testing.T) {
	s := New()
	defer s.Close()
	defer http.DefaultClient.CloseIdleConnections()
	f := s.AddFile("1", "x.txt", "", []byte("x"))
	release := s.HoldDownloads()
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(f.URL)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	deadline := time.Now().Add(30 * time.Second)
	for s.HeldDownloads() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("download never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(s.Downloads()) != 0 {
		t.Error("a held download was answered")
	}
	release()
	release()
	if code := <-done; code != 200 {
		t.Errorf("after release %d", code)
	}
}
