package serverstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"
)

// Info describes one live session, as ListUser and All list it.
type Info struct {
	// ID is the session's identifier (session.Session.ID): safe to show
	// and log, and what to compare with the current request's Session.ID
	// to mark "this device" in a list.
	ID string

	// UserID is the session's owner tag (session.Session.SetUser), "" if
	// none.
	UserID string

	// Handle names the session for DestroyHandle. It is the backend key,
	// a hash of the token: it cannot be used as a token, so it is safe to
	// put in a page or a form.
	Handle string

	// Created, Touched and Expires are the record's times: when the
	// session began, when it was last saved, and when it ends.
	Created, Touched, Expires time.Time

	// Persistent reports whether the session's cookie outlives the
	// browser session ("remember me").
	Persistent bool
}

// infoOf describes the live record data holds under key, or reports
// false.
func infoOf(key string, data []byte) (Info, bool) {
	rec := parseLive(data, true, nil) // the header: no token, no data
	if rec == nil {
		return Info{}, false
	}
	return Info{
		ID:         rec.ID,
		UserID:     rec.UserID,
		Handle:     key,
		Created:    rec.Created,
		Touched:    rec.Touched,
		Expires:    rec.Expires,
		Persistent: rec.Persistent,
	}, true
}

// ListUser returns the live sessions tagged with userID (by
// session.Session.SetUser), most recently used first. It returns
// ErrNoUserIndex if the backend keeps no user index.
func (s *Store) ListUser(ctx context.Context, userID string) ([]Info, error) {
	if err := s.checkUser(userID); err != nil {
		return nil, err
	}
	entries, err := s.ui.FindUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("serverstore: list user sessions: %w", err)
	}
	infos := make([]Info, 0, len(entries))
	for key, data := range entries {
		if info, ok := infoOf(key, data); ok && info.UserID == userID {
			infos = append(infos, info)
		}
	}
	slices.SortFunc(infos, func(a, b Info) int {
		return cmp.Or(b.Touched.Compare(a.Touched), cmp.Compare(a.Handle, b.Handle))
	})
	return infos, nil
}

// DestroyUser deletes every session tagged with userID ("log out
// everywhere") and returns how many live sessions it ended. A request of
// one of them that is in flight cannot bring it back: its save finds the
// record gone and expires its cookie, and a Renew moves only a record that
// is still there.
//
// It goes over the user's sessions twice. A Renew that moves a session to
// its new key while the first pass runs can land beside it, under a key
// the pass has already gone by; the second pass ends it. (Backend.Rename
// keeps one of the two keys live at every moment, so one or the other is
// there for a pass to find, and a renewal that starts after the first pass
// finds its old record gone and writes nothing.) A session tagged with
// userID by a login that completes while DestroyUser runs may be ended
// too, or survive it. It returns ErrNoUserIndex if the backend keeps no
// user index.
func (s *Store) DestroyUser(ctx context.Context, userID string) (int, error) {
	if err := s.checkUser(userID); err != nil {
		return 0, err
	}
	var total int
	for range 2 {
		n, err := s.ui.DeleteUser(ctx, userID)
		total += n
		if err != nil {
			return total, fmt.Errorf("serverstore: destroy user sessions: %w", err)
		}
	}
	return total, nil
}

// DestroyHandle ends the session named by handle (an Info.Handle from
// ListUser) if it belongs to userID, and reports whether it did. Requiring
// the owner means a handle posted back by a browser ("sign out that
// device") cannot end another user's session, whatever the caller forgot
// to check. A malformed handle is an error; an unknown, expired or foreign
// one is (false, nil). It returns ErrNoUserIndex if the backend keeps no
// user index.
func (s *Store) DestroyHandle(ctx context.Context, userID, handle string) (bool, error) {
	if err := s.checkUser(userID); err != nil {
		return false, err
	}
	if !validKey(handle) {
		return false, errors.New("serverstore: malformed session handle")
	}
	data, found, err := s.b.Find(ctx, handle)
	if err != nil {
		return false, fmt.Errorf("serverstore: destroy session: %w", err)
	}
	if info, ok := infoOf(handle, data); !found || !ok || info.UserID != userID {
		return false, nil
	}
	if err := s.b.Delete(ctx, handle); err != nil {
		return false, fmt.Errorf("serverstore: destroy session: %w", err)
	}
	return true, nil
}

// checkUser guards the user-index methods. An empty user ID is refused
// because it is the tag of every anonymous session: "end all sessions
// of the user with no ID" is never what a caller means.
func (s *Store) checkUser(userID string) error {
	if s.ui == nil {
		return ErrNoUserIndex
	}
	if userID == "" {
		return errors.New("serverstore: empty user ID")
	}
	return nil
}

// All yields every live session, in no particular order, streaming: the
// backend is read in batches as the loop goes, so memory stays constant
// however many sessions there are. Expired sessions are never yielded. A
// session created or ended while All runs may be yielded or not. It
// yields ErrNoScan, once, if the backend cannot list its entries.
func (s *Store) All(ctx context.Context) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if s.sc == nil {
			yield(Info{}, ErrNoScan)
			return
		}
		for kd, err := range s.sc.Scan(ctx) {
			if err != nil {
				yield(Info{}, fmt.Errorf("serverstore: all sessions: %w", err))
				return
			}
			if info, ok := infoOf(kd.Key, kd.Data); ok && !yield(info, nil) {
				return
			}
		}
	}
}

// Count returns how many live sessions there are.
func (s *Store) Count(ctx context.Context) (int, error) {
	if s.sc == nil {
		return 0, ErrNoScan
	}
	n, err := s.sc.Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("serverstore: count sessions: %w", err)
	}
	return n, nil
}

// DestroyAll ends every session, and returns how many live ones it ended:
// for an emergency (a leaked key, a breach), or a deployment that changes
// what sessions hold. A request in flight does not bring its session back.
func (s *Store) DestroyAll(ctx context.Context) (int, error) {
	if s.sc == nil {
		return 0, ErrNoScan
	}
	n, err := s.sc.DeleteAll(ctx)
	if err != nil {
		return n, fmt.Errorf("serverstore: destroy all sessions: %w", err)
	}
	return n, nil
}
