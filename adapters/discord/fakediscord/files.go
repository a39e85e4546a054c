package fakediscord

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// File is an attachment object as it appears in MESSAGE_CREATE's
// "attachments". Its URLs are signed like Discord's CDN URLs (ex, is, hm in
// the query); the fake answers 404 without a valid signature, as the CDN
// does. Tests may change the fields (Size, ContentType) before dispatching
// to imitate inconsistent metadata.
type File struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
}

// Download is one request for a file, as the fake saw it.
type Download struct {
	Path          string // without the query
	Signed        bool   // the query carried the file's signature
	Authorization string // the request's Authorization header ("" for none)
	Status        int
	Bytes         int // body bytes written
	Time          time.Time
}

type storedFile struct {
	data []byte
	sig  string
}

type files struct {
	mu        sync.Mutex
	byPath    map[string]*storedFile
	downloads []Download
	hold      chan struct{} // while non-nil, downloads wait for it to close
	waiting   int
}

// AddFile stores data and returns its attachment object, served under
// /attachments/<channel>/<id>/<filename> (URL) and /media/... (ProxyURL).
// An empty contentType leaves content_type out, as Discord does for files
// it cannot classify.
func (s *Server) AddFile(channelID, filename, contentType string, data []byte) File {
	id := s.NewID()
	sig := randomHex(16)
	path := "/attachments/" + channelID + "/" + id + "/" + url.PathEscape(filename)
	query := "?ex=" + strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 16) + "&is=" +
		strconv.FormatInt(time.Now().Unix(), 16) + "&hm=" + sig + "&"
	s.files.mu.Lock()
	s.files.byPath[path] = &storedFile{data: append([]byte(nil), data...), sig: sig}
	s.files.mu.Unlock()
	return File{
		ID: id, Filename: filename, ContentType: contentType, Size: len(data),
		URL: s.http.URL + path + query, ProxyURL: s.http.URL + "/media" + path + query,
	}
}

// RemoveFile makes later downloads of f answer 404.
func (s *Server) RemoveFile(f File) {
	u, err := url.Parse(f.URL)
	if err != nil {
		return
	}
	s.files.mu.Lock()
	delete(s.files.byPath, u.EscapedPath())
	s.files.mu.Unlock()
}

// Downloads returns every file request so far.
func (s *Server) Downloads() []Download {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return append([]Download(nil), s.files.downloads...)
}

// HoldDownloads makes file requests wait until the returned release is
// called (or the client gives up); release may be called more than once.
func (s *Server) HoldDownloads() (release func()) {
	ch := make(chan struct{})
	s.files.mu.Lock()
	s.files.hold = ch
	s.files.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.files.mu.Lock()
			if s.files.hold == ch {
				s.files.hold = nil
			}
			s.files.mu.Unlock()
			close(ch)
		})
	}
}

// HeldDownloads is the number of file requests waiting on HoldDownloads.
func (s *Server) HeldDownloads() int {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return s.files.waiting
}

func (s *Server) waitHold(r *http.Request) {
	s.files.mu.Lock()
	hold := s.files.hold
	if hold != nil {
		s.files.waiting++
	}
	s.files.mu.Unlock()
	if hold == nil {
		return
	}
	select {
	case <-hold:
	case <-r.Context().Done():
	}
	s.files.mu.Lock()
	s.files.waiting--
	s.files.mu.Unlock()
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	s.waitHold(r)
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/media")
	s.files.mu.Lock()
	f := s.files.byPath[path]
	s.files.mu.Unlock()
	d := Download{Path: path, Authorization: r.Header.Get("Authorization"), Time: time.Now()}
	d.Signed = f != nil && r.URL.Query().Get("hm") == f.sig && r.URL.Query().Get("ex") != ""
	switch {
	case r.Method != http.MethodGet:
		d.Status = http.StatusMethodNotAllowed
		w.WriteHeader(d.Status)
	case !d.Signed:
		d.Status = http.StatusNotFound
		http.Error(w, "This content is no longer available.", d.Status)
	default:
		d.Status = http.StatusOK
		// The CDN labels by extension; clients must not rely on it.
		// No Content-Length: net/http then sends large files chunked, so a
		// client cannot rely on the length header to enforce limits.
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(d.Status)
		n, _ := w.Write(f.data)
		d.Bytes = n
	}
	s.files.mu.Lock()
	s.files.downloads = append(s.files.downloads, d)
	s.files.mu.Unlock()
	s.record(Call{Method: r.Method, Path: path, Time: d.Time, Status: d.Status})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
