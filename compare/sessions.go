package compare

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The sessions the experiments issue. Their values are strings, string
// lists and a time, so that every mechanism carries them.

// User is the user every experiment logs in, unless it needs several.
const User = "u-48213"

// Typical values, also what the confidentiality experiment looks for in
// a token.
const (
	typicalName  = "Ada Lovelace"
	typicalRole  = "member"
	typicalTheme = "solarized-dark"
)

var typicalCart = []string{"SKU-10442", "SKU-22817", "SKU-30051", "SKU-47109", "SKU-58326"}

// SmallSession is a session holding only the user ID.
func SmallSession() Values {
	return Values{"uid": User}
}

// TypicalSession is what a logged-in shop session holds: user ID, name,
// role, CSRF token, login time, a five-item cart and a theme.
func TypicalSession() Values {
	return Values{
		"uid":   User,
		"name":  typicalName,
		"role":  typicalRole,
		"csrf":  "hT3kZ9qLw0vXbN2mRyC8sPfJ4uGdA6eQ1oIzK5tVhW7", // 32 random bytes, base64url
		"login": time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		"cart":  append([]string(nil), typicalCart...),
		"theme": typicalTheme,
	}
}

// LargeSession is a typical session that also keeps the 60 products the
// user viewed last and a 30-item saved-for-later list: about 3.5 KB of
// values, the kind of session that outgrows a cookie.
func LargeSession() Values {
	v := TypicalSession()
	viewed := make([]string, 60)
	for i := range viewed {
		viewed[i] = fmt.Sprintf("/products/garden-tools/item-%05d", 1000+37*i)
	}
	saved := make([]string, 30)
	for i := range saved {
		saved[i] = fmt.Sprintf("SKU-%05d:qty=%d:note=gift", 60000+113*i, 1+i%3)
	}
	v["viewed"], v["saved"] = viewed, saved
	return v
}

// payloadSession is a session whose one value beyond the user ID is n
// bytes of text that no codec compresses.
func payloadSession(n int) Values {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.Grow(n)
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for range n {
		b.WriteByte(letters[r.IntN(len(letters))])
	}
	return Values{"uid": User, "blob": b.String()}
}

// secretValues are the values of TypicalSession that are secrets: a
// client (or a log, or a proxy) that reads them out of the token holds
// something it can misuse. Only the CSRF token is: its whole point is
// that a cross-site attacker cannot know it.
func secretValues() map[string]string {
	return map[string]string{"CSRF token": TypicalSession()["csrf"].(string)}
}

// openValues are the other values of TypicalSession, by name: the user's
// own data, which the user may see, but which a readable token also shows
// to whatever handles the token on its way.
func openValues() map[string]string {
	v := TypicalSession()
	s := map[string]string{"cart item": typicalCart[2]}
	for _, k := range []string{"uid", "name", "role", "theme"} {
		s[k] = v[k].(string)
	}
	return s
}
