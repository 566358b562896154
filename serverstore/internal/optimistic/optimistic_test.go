package optimistic

import (
	"context"
	"errors"
	"testing"
)

func TestBackoff(t *testing.T) {
	ctx := context.Background()
	for attempt := range Eager {
		if paused, err := Backoff(ctx, attempt); paused || err != nil {
			t.Fatalf("Backoff(%d) = %v, %v; want no pause", attempt, paused, err)
		}
	}
	if paused, err := Backoff(ctx, Eager); !paused || err != nil {
		t.Fatalf("Backoff(Eager) = %v, %v; want a pause", paused, err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Backoff(done, Eager+7); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backoff on an ended context: %v, want context.Canceled", err)
	}
}

func TestVersion(t *testing.T) {
	a := Version([]byte("data"), "u", 1)
	for _, b := range [][16]byte{
		Version([]byte("datb"), "u", 1),
		Version([]byte("data"), "v", 1),
		Version([]byte("data"), "u", 2),
		Version([]byte("ta"), "uda", 1), // the user's length is hashed in
	} {
		if a == b {
			t.Fatal("two different entries share a version")
		}
	}
	if a != Version([]byte("data"), "u", 1) {
		t.Fatal("one entry, two versions")
	}
}
