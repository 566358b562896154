package session

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
)

// EventKind says what happened to a session, for Manager.OnEvent.
type EventKind int

const (
	// EventCreated: a new session was stored for the first time.
	EventCreated EventKind = iota + 1
	// EventRenewed: a session moved to a new token and ID (Renew, or
	// SetUser with another user); its old token no longer works.
	EventRenewed
	// EventDestroyed: a session was ended by Destroy.
	EventDestroyed
	// EventRejected: a request presented a token that named no usable
	// session: malformed, unknown, expired, forged or tampered with, or
	// sealed under a key the store no longer has. Reason says which, as far
	// as the store can tell.
	EventRejected
)

func (k EventKind) String() string {
	switch k {
	case EventCreated:
		return "created"
	case EventRenewed:
		return "renewed"
	case EventDestroyed:
		return "destroyed"
	case EventRejected:
		return "rejected"
	}
	return "unknown"
}

// Event is a security-relevant moment in a session's life, as the OWASP
// Session Management Cheat Sheet asks applications to log. It never holds
// a token: IDs are safe to log.
type Event struct {
	Kind EventKind

	// ID is the session's ID (Session.ID): after a renewal the new one.
	// Empty for EventRejected.
	ID string

	// PreviousID is, for EventRenewed, the ID the session had before.
	PreviousID string

	// UserID is the session's owner tag (Session.SetUser), "" if none.
	UserID string

	// Reason is, for EventRejected, why the token did not open. It wraps
	// ErrInvalidToken when the store said why; its text never quotes the
	// token.
	Reason error

	// Request is the request the event happened in; nil for sessions
	// loaded and saved with LoadToken and SaveToken.
	Request *http.Request
}

// errNoRecord is the reason given for a token whose store found nothing
// and did not say why.
var errNoRecord = fmt.Errorf("%w: no live record (unknown, expired, forged or tampered with)", ErrInvalidToken)

// errExpiredByManager is the reason given for a record the store served
// but the Manager's limits, shortened since it was saved, have ended.
var errExpiredByManager = fmt.Errorf("%w: expired under the Manager's current IdleTimeout or Lifetime", ErrInvalidToken)

// event reports e to OnEvent, or to the Logger at debug level.
func (m *Manager) event(ctx context.Context, e Event) {
	if m.OnEvent != nil {
		m.OnEvent(ctx, e)
		return
	}
	l := m.logger()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("id", e.ID)}
	if e.PreviousID != "" {
		attrs = append(attrs, slog.String("previous_id", e.PreviousID))
	}
	if e.UserID != "" {
		attrs = append(attrs, slog.String("user", e.UserID))
	}
	if e.Reason != nil {
		attrs = append(attrs, slog.String("reason", e.Reason.Error()))
	}
	if e.Request != nil {
		attrs = append(attrs, slog.String("method", e.Request.Method), slog.String("path", e.Request.URL.Path))
	}
	l.LogAttrs(ctx, slog.LevelDebug, "session: "+e.Kind.String(), attrs...)
}
