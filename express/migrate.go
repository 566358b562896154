package express

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/go-sealed/session"
)

// Migration is the store of a migration's last step: the Express app is
// retired, and the sessions move from its format to another store (the
// library's own server-side store, serverstore) as they are used, with no
// one logged out. Make one with Migrate, and serve with it until every
// session left in the Express format has expired (the longer of the
// Express app's cookie.maxAge and its store's TTL after the switch); then
// serve with the new store alone.
//
// A request that brings an express-session cookie loads its session from
// the Express format and, on the same response, moves it: the session is
// written to the new store, under a new token that replaces the cookie's
// value, and its Express record is deleted. The session keeps its values,
// its Session.ID and its user tag; it counts as used at that moment, and
// from then on the Manager's own limits (Lifetime, IdleTimeout) apply to
// it. Every other cookie, and every new session, is the new store's.
//
// Two requests that bring the same express-session cookie at once may
// both move it, each to a token of its own: the browser keeps the one
// that reaches it last, holding the session as that request left it. A
// logout (Destroy) in one of them may then be undone by the other, for
// this once. A handler that first uses a session after its response began
// cannot hand out the new token (the Manager reports it, as for any new
// token then): if that session was still in the Express format, it is
// moved all the same, and the cookie the browser keeps names nothing any
// more. Use sessions before the response begins while a Migration runs.
type Migration struct {
	from *Store
	to   session.ServerSide
}

var (
	_ session.ServerSide = (*Migration)(nil)
	_ session.Checker    = (*Migration)(nil)
)

// Migrate returns the Migration from the Express format of from to the
// store to, a server-side store (serverstore.New on any backend). The
// Manager keeps the JSON codec (the values moved are JSON) and the
// Express app's cookie name, under which browsers hold their cookies;
// Check holds it to that.
func Migrate(from *Store, to session.ServerSide) *Migration {
	if from == nil || to == nil {
		panic("express: Migrate called with a nil store")
	}
	return &Migration{from: from, to: to}
}

// isExpress reports whether a token is an express-session cookie value,
// which no other store of this module issues: theirs are base64url.
func isExpress(token string) bool {
	return strings.HasPrefix(token, "s%3A") || strings.HasPrefix(token, "s:")
}

// Load loads an express-session cookie's session from the Express format,
// marked to be moved on this response (Record.Reissue), and any other
// token's from the new store. A session in the Express format counts as
// used now, so that the Manager's own idle limit, which may be shorter
// than the Express app's, does not end it on its way.
func (g *Migration) Load(ctx context.Context, token string) (*session.Record, error) {
	if !isExpress(token) {
		return g.to.Load(ctx, token)
	}
	rec, err := g.from.Load(ctx, token)
	if rec != nil {
		rec.Created, rec.Touched, rec.Reissue = time.Now(), time.Now(), true
	}
	return rec, err
}

// moved returns rec as the new store is to get it: without the Express
// format's bytes, which are not its own.
func moved(rec *session.Record) *session.Record {
	r := *rec
	r.Stored = nil
	return &r
}

// Save saves a session of an express-session cookie to the new store,
// under a new token, and deletes its Express record; any other session it
// saves to the new store.
func (g *Migration) Save(ctx context.Context, token string, rec *session.Record) (string, error) {
	if !isExpress(token) {
		return g.to.Save(ctx, token, rec)
	}
	newToken, err := g.to.Save(ctx, "", moved(rec))
	if err != nil {
		return "", err
	}
	return newToken, g.from.Delete(ctx, token)
}

// Update moves a session of an express-session cookie: fn applies the
// request's changes to it (to what Load read, when given), the result is
// saved to the new store under a new token, and the Express record is
// deleted. Any other session it updates in the new store.
func (g *Migration) Update(ctx context.Context, token string, loaded *session.Record, fn func(current *session.Record) (*session.Record, error)) (string, error) {
	if !isExpress(token) {
		return g.to.Update(ctx, token, loaded, fn)
	}
	cur := loaded
	if cur == nil || cur.Stored == nil {
		var err error
		if cur, err = g.from.Load(ctx, token); err != nil && !errors.Is(err, session.ErrInvalidToken) {
			return "", err
		}
	}
	rec, err := fn(cur)
	if err != nil || rec == nil {
		return "", err
	}
	return g.Save(ctx, token, rec)
}

// Renew moves a session of an express-session cookie to a new token of
// the new store and ends its Express record; if that record was no longer
// live (destroyed meanwhile), the new one is removed again and Renew
// returns "", as Store.Renew does. Any other session the new store renews.
func (g *Migration) Renew(ctx context.Context, oldToken string, rec *session.Record) (string, error) {
	if !isExpress(oldToken) {
		return g.to.Renew(ctx, oldToken, rec)
	}
	newToken, err := g.to.Save(ctx, "", moved(rec))
	if err != nil {
		return "", err
	}
	sid, _, ok := parseToken(g.from.secrets, oldToken)
	if !ok {
		return newToken, nil
	}
	live, err := g.from.b.Destroy(ctx, sid)
	if err != nil || !live {
		_ = g.to.Delete(ctx, newToken)
		return "", wrap("renew", err)
	}
	return newToken, nil
}

// Delete deletes the session a token names, in whichever format it is.
func (g *Migration) Delete(ctx context.Context, token string) error {
	if isExpress(token) {
		return g.from.Delete(ctx, token)
	}
	return g.to.Delete(ctx, token)
}

// Check implements session.Checker: the Manager must keep the JSON codec,
// in which the sessions moved hold their values, and carry the token in
// the Express app's cookie, where browsers hold their express-session
// cookies. Its other settings are its own. The new store's own Check, if
// it has one, applies too.
func (g *Migration) Check(m *session.Manager) error {
	var diffs []string
	if m.Codec != session.JSON {
		diffs = append(diffs, "Codec must stay session.JSON: the sessions moved from the Express format hold their values as JSON")
	}
	if m.Transport == session.TransportHeader || m.Cookie.Name != g.from.cookie.opts.Name {
		diffs = append(diffs, "the token must travel in the cookie "+g.from.cookie.opts.Name+", where browsers hold their express-session cookies")
	}
	if len(diffs) > 0 {
		return errors.New("express: Migration: " + strings.Join(diffs, "; "))
	}
	if c, ok := g.to.(session.Checker); ok {
		return c.Check(m)
	}
	return nil
}
