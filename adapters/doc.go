// Package adapters is the root of a module of its own, apart from the
// library's, so that the library's go.mod stays free of web frameworks:
// its packages give the handlers of a framework the native
// *session.Session of github.com/go-sealed/session.
//
//   - ginsession: Gin (github.com/gin-gonic/gin) middleware.
//   - echosession: Echo (github.com/labstack/echo/v4) middleware.
//
// The framework examples (examples/frameworks) serve a login, a dashboard
// and a logout through them.
package adapters
