package browsertest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAsHTTPS: on a host that is not loopback, the jar sends a Secure
// cookie over plain HTTP only once the Browser is AsHTTPS.
func TestAsHTTPS(t *testing.T) {
	b := Open(t, "http://site.test")
	u, _ := url.Parse("http://site.test/page")
	view := jarView{b}
	view.SetCookies(u, []*http.Cookie{{Name: "s", Value: "1", Path: "/", Secure: true}})
	assert.Empty(t, view.Cookies(u), "a Secure cookie is not sent over plain HTTP")
	assert.Empty(t, b.Cookies())

	b.AsHTTPS()
	view.SetCookies(u, []*http.Cookie{{Name: "s", Value: "2", Path: "/", Secure: true}})
	got := view.Cookies(u)
	if assert.Len(t, got, 1) {
		assert.Equal(t, "2", got[0].Value)
	}
	assert.Equal(t, map[string]string{"s": "2"}, b.Cookies())
}
