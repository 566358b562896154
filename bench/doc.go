// Package bench measures the session library against the floor of its own
// primitives and against gorilla/sessions and alexedwards/scs, on one
// typical session. It is a separate module so that those libraries never
// become dependencies of the library itself; it holds only benchmarks and
// the test that keeps them honest.
//
//	cd bench && go test -run '^$' -bench . -benchmem
//
// docs/performance.md reports the results and what they mean.
package bench
