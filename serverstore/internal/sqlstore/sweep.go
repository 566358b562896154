package sqlstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-sealed/session/serverstore/internal/sweep"
)

// DeleteFunc deletes at most limit entries that expired at or before
// before, and returns how many it deleted.
type DeleteFunc func(ctx context.Context, before time.Time, limit int) (int, error)

// Sweep deletes the entries that have expired by now, batch at a time,
// until a batch comes back short. Entries expiring while it runs are left
// for the next sweep, so it ends however fast sessions expire.
func Sweep(ctx context.Context, batch int, del DeleteFunc) (int, error) {
	now := time.Now()
	total := 0
	for {
		n, err := del(ctx, now, batch)
		total += n
		if err != nil {
			return total, err
		}
		if n < batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// StartSweeper starts a sweep.Sweeper that runs Sweep every interval,
// and returns it; nil if interval is 0. Failures are logged to log with
// the message prefix name, and the sweeper carries on. Each sweep is given
// the interval, and at least a minute, to finish. del must not refer to
// the backend its user holds, but to what that wraps (see package sweep).
func StartSweeper(name string, interval time.Duration, batch int, del DeleteFunc, log *slog.Logger) *sweep.Sweeper {
	return sweep.Start(interval, func(ctx context.Context) bool {
		sctx, stop := context.WithTimeout(ctx, max(interval, time.Minute))
		n, err := Sweep(sctx, batch, del)
		stop()
		switch {
		case err != nil && ctx.Err() != nil:
			// Stopped mid-sweep.
		case err != nil:
			log.Error(name+": sweeping expired sessions failed", "deleted", n, "err", err)
		case n > 0:
			log.Debug(name+": swept expired sessions", "deleted", n)
		}
		return true
	})
}

// StartSweeper starts c's sweeper, as Config.SweepInterval says (none if
// 0), and returns it, for the dialect to stop with sweep.StopWith when
// the backend its user holds is collected. The sweeper refers to c, not
// to that backend.
func (c *Core) StartSweeper() *sweep.Sweeper {
	c.sweeper = StartSweeper(c.d.Name, c.cfg.SweepInterval, c.cfg.SweepBatch, c.SweepBatch, c.cfg.Logger)
	return c.sweeper
}

// Sweeper returns c's sweeper, nil if it has none.
func (c *Core) Sweeper() *sweep.Sweeper {
	return c.sweeper
}

// Close stops c's sweeper, if any, interrupting a sweep in progress, and
// waits for it to return. It is safe to call more than once.
func (c *Core) Close() {
	c.sweeper.Stop()
}

// Sweep deletes the rows that have expired, in batches of
// Config.SweepBatch rows, and returns how many it deleted.
func (c *Core) Sweep(ctx context.Context) (int, error) {
	n, err := Sweep(ctx, c.cfg.SweepBatch, c.SweepBatch)
	return n, c.Wrap("sweep", err)
}

// SweepBatch runs Queries.Sweep once: it deletes at most limit rows that
// expired at or before before, and returns how many it deleted.
func (c *Core) SweepBatch(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.batch(ctx, c.d.Queries.Sweep, before, limit)
}
