package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"maas/internal/snapshot"
)

// memAppender records batches; fail makes the next calls fail; gate, when
// set, blocks each call until it can receive.
type memAppender struct {
	mu      sync.Mutex
	batches [][]snapshot.UsageRecord
	byID    map[string]int
	fail    int
	always  bool
	gate    chan struct{}
	calls   int
}

func (a *memAppender) AppendUsage(ctx context.Context, recs []snapshot.UsageRecord) error {
	if a.gate != nil {
		select {
		case <-a.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if a.always || a.fail > 0 {
		a.fail--
		return errors.New("database is down")
	}
	if a.byID == nil {
		a.byID = map[string]int{}
	}
	a.batches = append(a.batches, append([]snapshot.UsageRecord(nil), recs...))
	for _, r := range recs {
		a.byID[r.RequestID]++
	}
	return nil
}

func (a *memAppender) written() []snapshot.UsageRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []snapshot.UsageRecord
	for _, b := range a.batches {
		out = append(out, b...)
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func rec(i int) snapshot.UsageRecord {
	return snapshot.UsageRecord{RequestID: fmt.Sprintf("req-%05d", i), PromptTokens: int64(i), CompletionTokens: 1}
}

func TestBatchesInOrderAndDrainsOnClose(t *testing.T) {
	a := &memAppender{}
	w := New(a, Options{BatchSize: 10, FlushInterval: time.Hour, Logger: quiet()})
	for i := 0; i < 25; i++ {
		w.Record(rec(i))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := a.written()
	if len(got) != 25 {
		t.Fatalf("%d records written, want 25", len(got))
	}
	for i, r := range got {
		if r.RequestID != rec(i).RequestID {
			t.Fatalf("record %d is %s", i, r.RequestID)
		}
	}
	for _, b := range a.batches {
		if len(b) > 10 {
			t.Fatalf("batch of %d records", len(b))
		}
	}
	if s := w.Stats(); s.Recorded != 25 || s.Written != 25 || s.Pending != 0 || s.Dropped != 0 {
		t.Fatalf("stats = %+v", s)
	}
	if err := w.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	w.Record(rec(99))
	if s := w.Stats(); s.Dropped != 1 {
		t.Fatalf("record after close: %+v", s)
	}
}

func TestFlushesOnInterval(t *testing.T) {
	a := &memAppender{}
	w := New(a, Options{BatchSize: 1000, FlushInterval: 10 * time.Millisecond, Logger: quiet()})
	defer w.Close(context.Background())
	w.Record(rec(1))
	deadline := time.Now().Add(5 * time.Second)
	for len(a.written()) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("record not flushed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecordNeverBlocksOnAStuckAppender(t *testing.T) {
	a := &memAppender{gate: make(chan struct{})}
	w := New(a, Options{BatchSize: 4, FlushInterval: time.Millisecond, Logger: quiet()})
	done := make(chan struct{})
	go func() {
		for i := 0; i < 5000; i++ {
			w.Record(rec(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked while the appender was stuck")
	}
	close(a.gate) // the database comes back
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(a.written()); n != 5000 {
		t.Fatalf("%d of 5000 written", n)
	}
}

func TestRetriesFailedBatches(t *testing.T) {
	a := &memAppender{fail: 3}
	w := New(a, Options{BatchSize: 5, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond, Logger: quiet()})
	for i := 0; i < 12; i++ {
		w.Record(rec(i))
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := a.written()
	if len(got) != 12 {
		t.Fatalf("%d records written, want 12", len(got))
	}
	for id, n := range a.byID {
		if n != 1 {
			t.Fatalf("%s written %d times", id, n)
		}
	}
	if s := w.Stats(); s.Failures != 3 || s.Written != 12 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestCloseReportsWhatCouldNotBeWritten(t *testing.T) {
	a := &memAppender{always: true}
	w := New(a, Options{BatchSize: 5, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond, Logger: quiet()})
	for i := 0; i < 7; i++ {
		w.Record(rec(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := w.Close(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
	if s := w.Stats(); s.Pending != 7 || s.Written != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestMaxPendingDropsAndCounts(t *testing.T) {
	a := &memAppender{gate: make(chan struct{})}
	w := New(a, Options{BatchSize: 100, MaxPending: 3, FlushInterval: time.Hour, Logger: quiet()})
	for i := 0; i < 5; i++ {
		w.Record(rec(i))
	}
	if s := w.Stats(); s.Recorded != 3 || s.Dropped != 2 {
		t.Fatalf("stats = %+v", s)
	}
	close(a.gate)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestNothingLostUnderConcurrency records from many goroutines while batches
// fail now and then, then closes: every record is written exactly once.
func TestNothingLostUnderConcurrency(t *testing.T) {
	a := &memAppender{fail: 2}
	w := New(a, Options{BatchSize: 7, FlushInterval: time.Millisecond, RetryBackoff: time.Millisecond, Logger: quiet()})
	var wg sync.WaitGroup
	const workers, each = 8, 250
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				w.Record(rec(g*each + i))
			}
		}(g)
	}
	wg.Wait()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(a.byID) != workers*each {
		t.Fatalf("%d distinct records written, want %d", len(a.byID), workers*each)
	}
	for id, n := range a.byID {
		if n != 1 {
			t.Fatalf("%s written %d times", id, n)
		}
	}
}
