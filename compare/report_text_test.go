package compare

import "testing"

// perTransport gives one value when every transport agrees, else each
// value with its transport, in the caller's format.
func TestPerTransport(t *testing.T) {
	cookie := &Row{Transport: TransportCookie}
	header := &Row{Transport: TransportHeader}
	by := func(vals map[*Row]string) func(*Row) string {
		return func(r *Row) string { return vals[r] }
	}
	for _, tc := range []struct {
		rows        []*Row
		vals        map[*Row]string
		format, sep string
		want        string
	}{
		{nil, nil, "%s over the %s", ", ", "not measured"},
		{[]*Row{cookie, header}, map[*Row]string{cookie: "1", header: "1"}, "%s over the %s", ", ", "1"},
		{[]*Row{cookie, header}, map[*Row]string{cookie: "1", header: "2"}, "%s over the %s", ", ", "1 over the cookie, 2 over the header"},
		{[]*Row{cookie, header}, map[*Row]string{cookie: "1", header: "2"}, "%[2]s: %[1]s", "<br>", "cookie: 1<br>header: 2"},
	} {
		if got := perTransport(tc.rows, by(tc.vals), tc.format, tc.sep); got != tc.want {
			t.Errorf("perTransport(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
}
