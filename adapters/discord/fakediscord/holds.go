package fakediscord

import (
	"net/http"
	"strings"
	"sync"
)

// hold delays the responses to matching REST calls: the call takes effect
// and is logged at once, but the client sees the answer only on release.
// That is how a slow Discord looks from the client's side.
type hold struct {
	method, pathHas string
	release         chan struct{}
}

// HoldResponses makes calls matching method and a path substring wait for
// their response until the returned release is called (or the client gives
// up); release may be called more than once.
func (s *Server) HoldResponses(method, pathHas string) (release func()) {
	h := &hold{method: method, pathHas: pathHas, release: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			for i, x := range s.holds {
				if x == h {
					s.holds = append(s.holds[:i], s.holds[i+1:]...)
					break
				}
			}
			s.mu.Unlock()
			close(h.release)
		})
	}
}

// waitHeld blocks while a hold matches the call.
func (s *Server) waitHeld(r *http.Request, path string) {
	s.mu.Lock()
	var wait chan struct{}
	for _, h := range s.holds {
		if h.method == r.Method && strings.Contains(path, h.pathHas) {
			wait = h.release
			break
		}
	}
	s.mu.Unlock()
	if wait == nil {
		return
	}
	select {
	case <-wait:
	case <-r.Context().Done():
	}
}
