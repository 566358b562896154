package gorillastore

import (
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/go-sealed/session"
	"github.com/gorilla/sessions"
)

// Save writes gs to the store and its cookie into w's header; like any
// cookie, call it before the response's header is written.
//
// Values are saved by string key: a key of another type is an error, and
// nothing is saved; so is a value of a type not registered with
// session.Register, which would come back in another type (gorilla's gob
// refuses an unregistered type too). A value of type *T where gob knows T
// (or T where it knows *T) is saved as gob would have decoded it, so that
// it comes back as it did under gorilla. Keys that Values no longer holds
// are deleted, and only the keys whose values changed are written, so
// that a server-side store merges them with what concurrent requests of
// the same session wrote. A new session is saved, and gets its cookie,
// even while it holds nothing, as under gorilla: IsNew is false on the
// next request.
//
// gs.Options are the session's own, as in gorilla:
//
//   - MaxAge less than 0 destroys the session: its cookie is expired and
//     a server-side record deleted.
//   - MaxAge 0 keeps it in a browser-session cookie, dropped when the
//     browser closes, which the store's MaxAge bounds on the server; more
//     than 0 in a persistent cookie. The session expires MaxAge after
//     this save, as under gorilla, but never later than the store's
//     Options allow: a MaxAge shorter than the store's shortens the
//     session, and its cookie's Max-Age, from this save on; a longer one
//     changes nothing. Each Save
//     sets that deadline afresh (session.Session.SetDeadline), which also
//     replaces a deadline set through the native API or carried over
//     from a gorilla cookie (AcceptGorilla).
//   - Path, Domain, Secure, HttpOnly, SameSite and Partitioned are the
//     attributes of this session's cookie. Attributes that browsers
//     refuse (SameSite None or Partitioned without Secure, a __Host- or
//     __Secure- name without Secure, a __Host- name with a Domain or
//     another Path) make Save fail, saving nothing.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, gs *sessions.Session) error {
	if gs == nil {
		return fmt.Errorf("gorillastore: Save called with a nil session")
	}
	name := gs.Name()
	m := s.Manager(name)
	opts := s.options()
	if gs.Options != nil {
		opts = *gs.Options
	}
	cookie := withAttributes(m.Cookie, &opts)
	if cookie != m.Cookie {
		// A session's own Options are the application's data: refused ones are
		// Save's error, where the Manager's own would panic at start.
		if err := cookie.Check(); err != nil {
			return fmt.Errorf("gorillastore: session %q: its Options describe a cookie browsers refuse, so nothing was saved: %w", name, err)
		}
	}
	sess := s.tracked(r, gs)
	if sess == nil {
		// A session that New did not make for this request
		// (sessions.NewSession, or a request copied before New): save
		// over whatever the request carries.
		sess = m.Load(r)
		s.track(r, gs, sess)
	}
	if opts.MaxAge < 0 {
		sess.Destroy()
	} else if err := s.apply(m, sess, gs, opts.MaxAge); err != nil {
		return err
	}
	var err error
	if cookie == m.Cookie {
		err = m.Save(w, sess)
	} else {
		err = saveWith(m, w, sess, cookie)
	}
	if err != nil {
		return fmt.Errorf("gorillastore: saving session %q: %w", name, err)
	}
	gs.ID = sess.ID()
	return nil
}

// apply makes sess what gs describes: its values, its kind of cookie and
// its deadline, and its user for WithUserKey.
func (s *Store) apply(m *session.Manager, sess *session.Session, gs *sessions.Session, maxAge int) error {
	name := gs.Name()
	values, err := stringKeys(name, gs.Values)
	if err != nil {
		return err
	}
	changed := make(map[string]any, len(values))
	for k, v := range values {
		v, _ = gobVariant(v, 0)
		if sess.Has(k) && reflect.DeepEqual(sess.Get(k), v) {
			continue // unchanged: a Put would rewrite it for nothing
		}
		changed[k] = v
	}
	if err := checkTypes(name, codecOf(m), changed); err != nil {
		return err
	}
	for _, k := range sess.Keys() {
		if _, ok := values[k]; !ok {
			sess.Delete(k)
		}
	}
	for k, v := range changed {
		sess.Put(k, v)
	}
	sess.RememberMe(maxAge > 0)
	deadline := s.deadline(m, maxAge)
	if len(values) == 0 && sess.IsNew() {
		// The Manager sets no cookie for a new session with nothing in it,
		// but gorilla does on an explicit Save, and an application that
		// saves one expects IsNew false on the next request. A change of
		// deadline is a change of the session, which the Manager saves;
		// the last call leaves the deadline Save wants.
		sess.SetDeadline(time.Unix(1, 0))
	}
	sess.SetDeadline(deadline)
	if s.userKey != "" {
		sess.SetUser(userOf(values[s.userKey]))
	}
	return nil
}

// deadline is the session deadline a Save with the session's MaxAge sets:
// MaxAge from now if that is sooner than the limit of the store's own
// MaxAge (the Manager's IdleTimeout, or its Lifetime without one), and
// none otherwise, so that the store's limits alone apply. A MaxAge of 0,
// a browser-session cookie, sets none: gorilla bounds such a cookie by
// its store's MaxAge.
func (s *Store) deadline(m *session.Manager, maxAge int) time.Time {
	limit := m.IdleTimeout
	if limit <= 0 {
		limit = m.Lifetime
	}
	d := time.Duration(maxAge) * time.Second
	if maxAge <= 0 || d >= limit {
		return time.Time{}
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	return now().Add(d)
}

// Renew gives gs a new ID and a new token when it is next saved, and ends
// the token it had: call it where privileges change, at login above all,
// against session fixation, as gorilla's API has no such call (WithUserKey
// renews automatically when the user changes). The values stay. Like Save,
// call it before the response's header is written; after that it returns
// an error wrapping session.ErrResponseStarted and changes nothing.
func (s *Store) Renew(r *http.Request, gs *sessions.Session) error {
	if gs == nil {
		return fmt.Errorf("gorillastore: Renew called with a nil session")
	}
	sess := s.tracked(r, gs)
	if sess == nil {
		sess = s.Manager(gs.Name()).Load(r)
		s.track(r, gs, sess)
	}
	if err := sess.Renew(); err != nil {
		return fmt.Errorf("gorillastore: renewing session %q: %w", gs.Name(), err)
	}
	gs.ID = sess.ID()
	return nil
}

// userOf is the user tag of a WithUserKey value: "" for none.
func userOf(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}
