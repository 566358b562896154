package redisstore

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-sealed/session/serverstore"
	"github.com/go-sealed/session/serverstore/storetest"
)

// testHintNilData checks an Update whose hint has nil Data, as a commit
// of nil Data leaves the entry: found, with no bytes. fn must see it so
// on the hint, as it would after a read.
func testHintNilData(t *testing.T, c redis.UniversalClient) {
	ctx := t.Context()
	b, _ := newTestStore(t, c)
	key := storetest.NewKey()
	e := serverstore.Entry{Expires: time.UnixMilli(time.Now().Add(time.Hour).UnixMilli()), UserID: "alice"}
	require.NoError(t, b.Commit(ctx, key, e))
	var calls []bool
	require.NoError(t, b.Update(ctx, key, &e, func(data []byte, found bool) (serverstore.Entry, bool, error) {
		calls = append(calls, found)
		return serverstore.Entry{Data: []byte("next"), Expires: e.Expires, UserID: "alice"}, found, nil
	}))
	require.Equal(t, []bool{true}, calls, "fn did not see the hinted entry as found")
	data, found, err := b.Find(ctx, key)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "next", string(data))
}
