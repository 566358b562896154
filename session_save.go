package session

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// A reply carries the outcome of a save to the client: into the response
// header for a request (headerReply), or back to the caller of SaveToken.
type reply interface {
	// hand gives the client token, which names rec from now on.
	hand(token string, rec *Record, now time.Time) error
	// drop tells the client that its token names nothing any more.
	drop() error
}

// commit writes what was done to the session to the store and tells the
// client through r: the one step from a session's state to its store and
// its transport. The caller holds s.mu. The store calls run in ctx
// without its cancellation (detachedContext): a save finishes work the
// handler already did, so it is not cut short by a client that hangs up;
// the store bounds its own I/O (see Store).
//
// late is set for a save after the response began, when nothing can reach
// the client any more (r is not used): it writes only what keeps the
// client's token (a Destroy, an update of a stored session), never a new
// token.
func (s *Session) commit(ctx *sessionContext, r reply, late bool) error {
	if !s.loaded {
		return nil // never touched: no decoding, no store work, no cookie
	}
	if s.saveErr != nil {
		return nil // a save of this response failed and the handler was told
	}
	if s.loadErr != nil {
		return fmt.Errorf("session: load: %w", s.loadErr)
	}
	m := s.m
	store := m.store
	if discard := s.discarding(); discard != "" {
		if err := store.Delete(detachedContext{ctx}, discard); err != nil {
			return fmt.Errorf("session: delete: %w", err)
		}
		s.rare.discard = ""
	}
	oldToken := s.token
	if s.destroyed && oldToken != "" {
		if err := store.Delete(detachedContext{ctx}, oldToken); err != nil {
			return fmt.Errorf("session: delete: %w", err)
		}
		if a := s.rare; a != nil && a.endedID != "" { // a session ended, not a dead token dropped
			m.event(s.ctx, Event{Kind: EventDestroyed, ID: a.endedID, UserID: a.endedUser, Request: s.req})
		}
		s.destroyed = false
	}
	if s.fresh {
		oldToken = "" // a new session (also after Destroy) gets a new token
	}

	now := m.now()
	empty := len(s.values) == 0
	dirty := s.valuesDirty || s.cleared || s.metaDirty || s.renewed
	touch := m.idleTimeout(s.rec.Persistent) > 0 && now.Sub(s.rec.Touched) >= m.touchInterval(s.rec.Persistent)
	switch {
	case s.fresh && empty && !s.metaDirty:
		// Nothing worth a cookie: a new session that stayed empty (no
		// values, no owner) sets none, and a dead token the client sent
		// is expired.
		if s.token != "" && !late {
			if err := r.drop(); err != nil {
				return err
			}
		}
		s.saved("", &s.rec)
		return nil
	case !dirty && !touch && (!s.rec.Reissue || late):
		// Read only: no write. A reissue (a token under a retired key) is
		// for a response that can still carry it.
		return nil
	case late && (oldToken == "" || s.renewed):
		// A new token could not reach the client; lateChange reported it.
		return nil
	}

	rec := s.rec
	rec.Touched = now
	rec.Expires = m.deadline(&rec, now)
	// A stored session is written through Update whenever the store has
	// it, cleared ones too: Update writes nothing if another request
	// destroyed the session meanwhile ("log out everywhere"), and merges
	// what another request changed. A renewed one goes to its new token in
	// one step, which ServerSide.Renew takes only from a record still there: it
	// is not merged where it is first, which would write the logged-in
	// record under the token from before the login, the one an attacker
	// may have planted.
	merging := oldToken != "" && m.serverKept() && !s.renewed
	var err error
	rec.Data = nil // s.rec's are the loaded bytes: encoded afresh below, or by the merge
	if !merging {
		// A merge encodes what it writes itself, from what the store holds
		// by then; encoding here too would be thrown away.
		if rec.Data, err = m.codec().Encode(s.values); err != nil {
			return fmt.Errorf("session: encode: %w", err)
		}
	}

	storeCtx := detachedContext{ctx}
	var token, obsolete string
	switch {
	case oldToken == "":
		token, err = store.Save(storeCtx, "", &rec)
	case s.renewed:
		token, obsolete, err = m.renew(storeCtx, oldToken, &rec)
	case merging:
		token, err = m.server.Update(storeCtx, oldToken, s.stored, s.merge(&rec))
	default:
		token, err = store.Save(storeCtx, oldToken, &rec)
	}
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	if token == "" {
		// The record was destroyed by another request while this one ran
		// ("log out everywhere", say): the revocation wins.
		if !late {
			if err := r.drop(); err != nil {
				return err
			}
		}
		s.startNew()
		s.saved("", &s.rec)
		return nil
	}
	switch {
	case !late:
		if err := r.hand(token, &rec, now); err != nil {
			return err
		}
	case token != s.token:
		return fmt.Errorf("%w: the store gave the session a new token, which can no longer reach the client", ErrResponseStarted)
	}
	if obsolete != "" {
		if err := store.Delete(storeCtx, obsolete); err != nil {
			return fmt.Errorf("session: delete renewed token: %w", err)
		}
	}
	switch {
	case oldToken == "":
		m.event(s.ctx, Event{Kind: EventCreated, ID: rec.ID, UserID: rec.UserID, Request: s.req})
	case s.renewed:
		m.event(s.ctx, Event{Kind: EventRenewed, ID: rec.ID, PreviousID: s.rare.renewedFrom, UserID: rec.UserID, Request: s.req})
	}
	s.saved(token, &rec)
	return nil
}

// detachedContext is what context.WithoutCancel(ctx) gives, without its
// allocations: a struct of one pointer goes into an interface as it is,
// and its Value passes a *sessionContext on, where WithoutCancel's boxes
// itself on every call. A save's store calls run in it.
type detachedContext struct{ ctx *sessionContext }

func (detachedContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (detachedContext) Done() <-chan struct{}       { return nil }
func (detachedContext) Err() error                  { return nil }
func (c detachedContext) Value(key any) any         { return c.ctx.Value(key) }
func (c detachedContext) String() string            { return "session.detachedContext" }

// renew moves rec to a new token: in one step for a ServerSide store.
// Another store keeps nothing to move: the new token is saved here, and
// the old one returned for Delete once the new cookie is known to fit.
func (m *Manager) renew(ctx context.Context, oldToken string, rec *Record) (token, obsolete string, err error) {
	if m.server != nil {
		token, err = m.server.Renew(ctx, oldToken, rec)
		return token, "", err
	}
	token, err = m.store.Save(ctx, "", rec)
	return token, oldToken, err
}

// merge returns the ServerSide.Update callback that applies this request's changes,
// key by key, to the record as it is stored now, so that a concurrent
// request's changes to other keys survive. Of two requests that change the
// same key, the one that saves last wins. A session this request cleared
// replaces the stored values wholesale. ours is the record to write, but
// for its Data, which the callback encodes.
func (s *Session) merge(ours *Record) func(*Record) (*Record, error) {
	return func(cur *Record) (*Record, error) {
		if cur == nil {
			return nil, nil // destroyed meanwhile: do not resurrect it
		}
		codec := s.m.codec()
		values := s.values
		if loaded := s.rec.Data; !s.cleared && (loaded == nil || !bytes.Equal(cur.Data, loaded)) {
			// Another request saved since this one loaded (or this one
			// saved already): apply this request's changes to what is
			// stored now. In the usual case, where the stored bytes are
			// still those this request loaded, the result would be
			// s.values itself: the loaded values with this request's
			// changes applied, so decoding them again is skipped.
			var err error
			if values, err = codec.Decode(cur.Data); err != nil {
				return nil, fmt.Errorf("decode stored record: %w", err)
			}
			for k := range s.changed {
				if v, ok := s.values[k]; ok {
					values[k] = v
				} else {
					delete(values, k)
				}
			}
		}
		out := *ours
		var err error
		if out.Data, err = codec.Encode(values); err != nil {
			return nil, err
		}
		if !s.metaDirty {
			out.UserID, out.Persistent, out.Deadline = cur.UserID, cur.Persistent, cur.Deadline
			out.Expires = s.m.deadline(&out, out.Touched)
		}
		return &out, nil
	}
}
