package session

import (
	"context"
	"errors"
	"time"
)

// LoadToken loads the session named by token outside an HTTP request: for
// a WebSocket, a gRPC call, or a background job that was handed a token.
// The same deadlines, revocation and checks apply as in Handler: an
// unknown, expired, forged or destroyed token, or "", gives a new, empty
// session (IsNew reports true), not an error. The error is the store's,
// when it could not answer. Save the session with SaveToken.
func (m *Manager) LoadToken(ctx context.Context, token string) (*Session, error) {
	m.setup()
	s := &Session{m: m, loaded: true}
	s.ctx = &sessionContext{Context: ctx, s: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" && !s.open(token) && s.loadErr != nil {
		return nil, s.loadErr
	}
	if s.values == nil {
		s.startNew()
		return s, nil
	}
	s.token = token
	return s, nil
}

// SaveToken saves a session that LoadToken returned, as the Handler saves
// a request's: only if it changed, merging its changes with those other
// requests saved meanwhile, and never bringing back a session destroyed
// meanwhile. It returns the token that names the session from now on, to
// hand back to the client: the same one unless the session was created,
// renewed or re-sealed (a sealed cookie store seals anew on every change),
// and "" once the session is destroyed (or was never stored). Sessions of
// an HTTP request are saved by Handler, or Manager.Save.
func (m *Manager) SaveToken(ctx context.Context, s *Session) (string, error) {
	if s.m != m {
		return "", errors.New("session: Manager.SaveToken called with another Manager's session")
	}
	if s.req != nil {
		return "", errors.New("session: Manager.SaveToken called with a session of an HTTP request; Handler saves those, or Manager.Save")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var t tokenReply
	if err := s.commit(&sessionContext{Context: ctx, s: s}, &t, false); err != nil {
		return "", err
	}
	if !s.fresh {
		return s.token, nil
	}
	return "", nil
}

// tokenReply receives a save's outcome for SaveToken, which returns the
// session's token itself.
type tokenReply struct{}

func (*tokenReply) hand(string, *Record, time.Time) error { return nil }
func (*tokenReply) drop() error                           { return nil }
