package fakeslack

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// File is an uploaded file the fake serves at its url_private addresses,
// as Slack's files.slack.com does: only to requests that carry a bot
// token, and to anyone else a login page with status 200 (which is how the
// real Slack answers a missing files:read scope or token).
type File struct {
	ID       string
	Name     string
	Mimetype string // metadata the event carries; may be empty or wrong
	Size     int64  // metadata size; AddFile sets len(data), tests may lie
	Mode     string // "hosted" unless set
	URL      string // url_private
	Download string // url_private_download
	data     []byte
}

// Download is one request for a file's bytes, as the fake received it.
type Download struct {
	Path          string
	Authorization string // raw header, so tests can check the token was sent
	Status        int
	LoginPage     bool // no bot token: answered 200 with an HTML sign-in page
	Time          time.Time
}

var fileSeq atomic.Int64

// AddFile stores data under a fresh file id and returns its metadata.
func (s *Server) AddFile(name, mimetype string, data []byte) File {
	id := fmt.Sprintf("F%08d", fileSeq.Add(1))
	f := s.FileRef(id, name, mimetype, int64(len(data)))
	f.data = data
	s.mu.Lock()
	s.files[f.ID] = f
	s.broadcastLocked()
	s.mu.Unlock()
	return f
}

// FileRef is the metadata of a file the fake does not store: its download
// answers 404, as a deleted or foreign file would.
func (s *Server) FileRef(id, name, mimetype string, size int64) File {
	base := s.http.URL + "/files-pri/" + TeamID + "-" + id + "/"
	return File{ID: id, Name: name, Mimetype: mimetype, Size: size, Mode: "hosted",
		URL: base + name, Download: base + "download/" + name}
}

// JSON is the file object as message events carry it.
func (f File) JSON() map[string]any {
	m := map[string]any{"id": f.ID, "name": f.Name, "title": f.Name, "size": f.Size,
		"mode": f.Mode, "is_external": false, "user": "U0ALICE", "filetype": "auto"}
	if f.Mimetype != "" {
		m["mimetype"] = f.Mimetype
	}
	if f.URL != "" {
		m["url_private"] = f.URL
	}
	if f.Download != "" {
		m["url_private_download"] = f.Download
	}
	return m
}

// HoldFile makes downloads of file id wait until release is called (or
// the request ends), so tests can hold a message's preparation open.
func (s *Server) HoldFile(id string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.holds[id] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.holds, id)
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Downloads returns a copy of the file download log.
func (s *Server) Downloads() []Download {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Download(nil), s.downloads...)
}

// serveFile answers /files-pri/<team>-<id>/[download/]<name>.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/files-pri/")
	dir, _, _ := strings.Cut(rest, "/")
	id := strings.TrimPrefix(dir, TeamID+"-")
	auth := r.Header.Get("Authorization")
	s.mu.Lock()
	f, ok := s.files[id]
	status, login := http.StatusOK, false
	switch {
	case r.Method != http.MethodGet:
		status = http.StatusMethodNotAllowed
	case !strings.HasPrefix(auth, "Bearer xoxb-"):
		login = true
	case !ok:
		status = http.StatusNotFound
	}
	if len(s.downloads) < maxCalls {
		s.downloads = append(s.downloads, Download{Path: r.URL.Path, Authorization: auth, Status: status,
			LoginPage: login, Time: time.Now()})
	}
	hold := s.holds[id]
	s.broadcastLocked()
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		case <-s.stopped:
			return
		}
	}

	switch {
	case login:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><title>Slack</title><body>Sign in to Fake</body></html>"))
	case status == http.StatusOK:
		ct := f.Mimetype
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", fmt.Sprint(len(f.data)))
		_, _ = w.Write(f.data)
	default:
		http.Error(w, http.StatusText(status), status)
	}
}
