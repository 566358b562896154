package cookiesession

import (
	"context"
	"testing"
	"time"

	"github.com/go-sealed/session"
	"github.com/stretchr/testify/require"
)

// TestFallback: a token that does not open as a seal goes to Fallback,
// whose record is served with Reissue set, after the checks a seal's
// times get; a seal never reaches it.
func TestFallback(t *testing.T) {
	s := newStore(t, seqKey(1))
	s.Now = fixedNow
	var asked []string
	var give *session.Record
	s.Fallback = func(_ context.Context, token string) *session.Record {
		asked = append(asked, token)
		return give.Clone()
	}

	sealed := mustSave(t, s, testRecord())
	rec := load(t, s, sealed)
	require.NotNil(t, rec)
	require.False(t, rec.Reissue)
	require.Empty(t, asked, "a seal that opens never reaches Fallback")

	// Fallback has nothing: the seal's own reason stands.
	_, err := s.Load(ctx, "legacy")
	require.ErrorIs(t, err, errMalformed)
	require.Equal(t, []string{"legacy"}, asked)

	give = testRecord()
	give.Deadline = t0.Add(time.Hour)
	rec = load(t, s, "legacy")
	require.NotNil(t, rec)
	require.True(t, rec.Reissue, "replaced by a seal on this response")
	require.Equal(t, give.Deadline, rec.Deadline)
	require.Equal(t, give.ID, rec.ID)

	// The same checks as a seal's.
	give = testRecord()
	give.Expires = t0
	_, err = s.Load(ctx, "legacy")
	require.ErrorIs(t, err, errExpired)
	give = testRecord()
	give.Created = t0.Add(time.Hour)
	_, err = s.Load(ctx, "legacy")
	require.ErrorIs(t, err, errFromTheFuture)
	give = testRecord()
	give.Expires = time.Time{}
	_, err = s.Load(ctx, "legacy")
	require.ErrorIs(t, err, errExpired, "a record without a deadline is never served")

	// A tampered seal goes to Fallback too (it may be another format).
	asked = nil
	give = nil
	b := []byte(sealed)
	b[len(b)/2] ^= 1
	_, err = s.Load(ctx, string(b))
	require.ErrorIs(t, err, session.ErrInvalidToken)
	require.Len(t, asked, 1)
}
