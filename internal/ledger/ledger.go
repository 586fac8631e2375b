// Package ledger is the batching usage writer of the data plane. The gateway
// hands it one snapshot.UsageRecord per metered request through Record, which
// never blocks; a background loop appends the records in batches to an
// Appender (the store's append-only usage table) and retries failed batches,
// so the request path never waits on the database. Close drains everything
// still queued: nothing is lost on a clean shutdown.
//
// It imports only internal/snapshot and the standard library.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"maas/internal/snapshot"
)

// Appender stores usage records. It must be idempotent by RequestID: a batch
// whose outcome was unknown (timeout) is sent again.
type Appender interface {
	AppendUsage(ctx context.Context, recs []snapshot.UsageRecord) error
}

// Options tune a Writer. Zero values pick the defaults.
type Options struct {
	BatchSize     int           // records per AppendUsage call; default 256
	FlushInterval time.Duration // longest a record waits before a flush; default 1 s
	MaxPending    int           // records kept while the Appender fails; beyond it new records are dropped and counted; default 1,000,000
	RetryBackoff  time.Duration // first wait after a failed batch, doubling up to 30 s; default 100 ms
	CallTimeout   time.Duration // per AppendUsage call; default 10 s
	Logger        *slog.Logger  // default slog.Default()
}

// Stats are a Writer's counters.
type Stats struct {
	Recorded int64 // records accepted by Record
	Written  int64 // records the Appender accepted
	Dropped  int64 // records refused: over MaxPending or after Close
	Failures int64 // failed AppendUsage calls
	Pending  int   // records queued now
}

// ErrClosed is returned by Close when called twice.
var ErrClosed = errors.New("ledger: writer closed")

// Writer batches usage records to an Appender.
type Writer struct {
	app  Appender
	opts Options

	mu      sync.Mutex
	pending []snapshot.UsageRecord
	closed  bool
	stats   Stats

	wake chan struct{} // a batch is full, or Close was called
	done chan struct{} // the loop has drained and exited
	quit chan struct{} // closed by Close
	stop context.CancelFunc
	ctx  context.Context // cancelled when Close's deadline passes
}

// New starts a Writer. Call Close to drain it.
func New(app Appender, opts Options) *Writer {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 1_000_000
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 100 * time.Millisecond
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	w := &Writer{app: app, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{}),
		quit: make(chan struct{}), ctx: ctx, stop: stop}
	go w.loop()
	return w
}

// Record queues r. It never blocks on the Appender.
func (w *Writer) Record(r snapshot.UsageRecord) {
	w.mu.Lock()
	if w.closed || len(w.pending) >= w.opts.MaxPending {
		w.stats.Dropped++
		closed := w.closed
		w.mu.Unlock()
		w.opts.Logger.Error("usage record dropped", "request_id", r.RequestID, "closed", closed)
		return
	}
	w.pending = append(w.pending, r)
	w.stats.Recorded++
	full := len(w.pending) >= w.opts.BatchSize
	w.mu.Unlock()
	if full {
		w.poke()
	}
}

func (w *Writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Pending = len(w.pending)
	return s
}

// Close stops accepting records and writes every queued one, retrying until
// ctx ends. It returns an error naming how many records were not written.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.mu.Unlock()
	close(w.quit)
	select {
	case <-w.done:
	case <-ctx.Done():
		w.stop()
		<-w.done
	}
	w.stop()
	if n := w.Stats().Pending; n > 0 {
		return fmt.Errorf("ledger: close: %d usage records not written: %w", n, ctx.Err())
	}
	return nil
}

// loop flushes on a full batch, on the interval, and drains on Close.
func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	backoff := w.opts.RetryBackoff
	for {
		quitting := false
		select {
		case <-w.wake:
		case <-tick.C:
		case <-w.quit:
			quitting = true
		}
		for {
			ok, more := w.flushOne()
			if !ok {
				if w.ctx.Err() != nil {
					return
				}
				select {
				case <-time.After(backoff):
				case <-w.ctx.Done():
					return
				}
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			backoff = w.opts.RetryBackoff
			if !more {
				break
			}
		}
		if quitting || w.isClosed() {
			if w.Stats().Pending == 0 {
				return
			}
		}
	}
}

func (w *Writer) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// flushOne appends the oldest batch. ok is false when the Appender failed
// (the batch stays queued); more says whether records remain.
func (w *Writer) flushOne() (ok, more bool) {
	w.mu.Lock()
	n := min(len(w.pending), w.opts.BatchSize)
	if n == 0 {
		w.mu.Unlock()
		return true, false
	}
	batch := append([]snapshot.UsageRecord(nil), w.pending[:n]...)
	w.mu.Unlock()

	ctx, cancel := context.WithTimeout(w.ctx, w.opts.CallTimeout)
	err := w.app.AppendUsage(ctx, batch)
	cancel()

	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.stats.Failures++
		w.opts.Logger.Warn("append usage records", "records", n, "error", err)
		return false, true
	}
	// Only this loop removes records, so the first n are still the batch.
	w.pending = w.pending[n:]
	if len(w.pending) == 0 {
		w.pending = nil
	}
	w.stats.Written += int64(n)
	return true, len(w.pending) > 0
}
