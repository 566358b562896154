package express

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/go-sealed/session/serverstore/storetest"
)

// mongoURL is the MongoDB-wire server of the tests:
// SESSION_TEST_MONGO_URL, or the local one (scripts/mongo.sh starts
// FerretDB there).
func mongoURL() string {
	if u := os.Getenv("SESSION_TEST_MONGO_URL"); u != "" {
		return u
	}
	return "mongodb://127.0.0.1:27017"
}

// mongoDatabase returns the database url names, as the Node driver picks
// it ("test" if it names none), on a client disconnected when t ends, or
// skips t if the server does not answer.
func mongoDatabase(t *testing.T, url string) *mongo.Database {
	t.Helper()
	cs, err := connstring.ParseAndValidate(url)
	require.NoError(t, err, "SESSION_TEST_MONGO_URL")
	client, err := mongo.Connect(options.Client().ApplyURI(url).SetServerSelectionTimeout(3 * time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	storetest.Require(t, "MongoDB", client.Ping(ctx, nil))
	name := cs.Database
	if name == "" {
		name = "test"
	}
	return client.Database(name)
}

// atomicSwaps reports whether db's server runs a write's filter and the
// write as one step: MongoDB and FerretDB 2 do, FerretDB 1.x does not.
func atomicSwaps(t *testing.T, db *mongo.Database) bool {
	var info struct {
		FerretDB *string `bson:"ferretdbVersion"`
	}
	require.NoError(t, db.RunCommand(context.Background(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info))
	if info.FerretDB == nil {
		return true
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(*info.FerretDB, "v"), ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 2
}

// mongoTarget returns connect-mongo's records in a collection of t's own,
// dropped when t ends, or skips t if the server does not answer.
func mongoTarget(t *testing.T) target {
	t.Helper()
	db := mongoDatabase(t, mongoURL())
	collection := "express_test_" + suffix()
	t.Cleanup(func() { _ = db.Collection(collection).Drop(context.Background()) })
	b, err := NewMongo(db, WithCollection(collection))
	require.NoError(t, err)
	return target{b: b, env: []string{"STORE=mongo", "MONGO_URL=" + mongoURL(), "SESSION_COLLECTION=" + collection}, atomicSwap: atomicSwaps(t, db)}
}

func TestMongo(t *testing.T) {
	t.Run("Backend", func(t *testing.T) { runBackend(t, mongoTarget(t).b) })
	t.Run("Store", func(t *testing.T) { runStore(t, mongoTarget(t)) })
	t.Run("Node", func(t *testing.T) { runNode(t, mongoTarget(t)) })
}

func TestMongoPrune(t *testing.T) {
	ctx := context.Background()
	b := mongoTarget(t).b.(*Mongo)
	require.NoError(t, b.Set(ctx, "live", []byte(`{}`), time.Now().Add(time.Hour)))
	require.NoError(t, b.Set(ctx, "expired", []byte(`{}`), time.Now().Add(10*time.Millisecond)))
	time.Sleep(20 * time.Millisecond)
	n, err := b.Prune(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	left, err := b.coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), left)
}

// TestMongoObjectSession checks that a document whose session is not a
// string (connect-mongo's stringify: false) fails with an error that
// says so.
func TestMongoObjectSession(t *testing.T) {
	ctx := context.Background()
	b := mongoTarget(t).b.(*Mongo)
	_, err := b.coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "sid"}, {Key: "session", Value: bson.D{{Key: "cookie", Value: bson.D{}}}},
		{Key: "expires", Value: bson.NewDateTimeFromTime(time.Now().Add(time.Hour))}})
	require.NoError(t, err)
	_, _, err = b.Get(ctx, "sid")
	assert.ErrorContains(t, err, "stringify: false")
}

// TestMongoUnresponsive checks that WithTimeout bounds each call.
func TestMongoUnresponsive(t *testing.T) {
	cs, err := connstring.ParseAndValidate(mongoURL())
	require.NoError(t, err)
	mongoDatabase(t, mongoURL()) // skips if there is no server
	p := proxy(t, cs.Hosts[0])
	p.Stall()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + p.Addr()).SetDirect(true))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	timeout := 300 * time.Millisecond
	b, err := NewMongo(client.Database("test"), WithTimeout(timeout))
	require.NoError(t, err)
	runUnreachable(t, b, timeout)
}
