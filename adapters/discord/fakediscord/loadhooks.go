package fakediscord

// CallsSince returns a copy of the calls after the first n, so a load
// generator can scan the log incrementally instead of copying all of it.
func (s *Server) CallsSince(n int) []Call {
	s.rmu.RLock()
	defer s.rmu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= len(s.calls) {
		return nil
	}
	return append([]Call(nil), s.calls[n:]...)
}
