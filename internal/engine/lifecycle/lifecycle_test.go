package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeInst struct {
	bytes  int64
	closed atomic.Int32
}

func (f *fakeInst) MemoryBytes() int64 { return f.bytes }
func (f *fakeInst) Close() error       { f.closed.Add(1); return nil }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type loader struct {
	mu    sync.Mutex
	loads map[string]int
	made  map[string]*fakeInst
	delay time.Duration
	fail  error
}

func newLoader() *loader { return &loader{loads: map[string]int{}, made: map[string]*fakeInst{}} }

func (l *loader) load(ctx context.Context, s Spec) (Instance, error) {
	if l.delay > 0 {
		time.Sleep(l.delay)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loads[s.Key]++
	if l.fail != nil {
		return nil, l.fail
	}
	f := &fakeInst{bytes: s.Bytes}
	l.made[s.Key] = f
	return f, nil
}

func newManager(t *testing.T, l *loader, c *clock, o Options) *Manager {
	o.Now = c.Now
	o.Tick = time.Hour // tests call UnloadIdle themselves
	m := New(l.load, o)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestLoadOnceUnderConcurrency(t *testing.T) {
	l := newLoader()
	l.delay = 20 * time.Millisecond
	c := &clock{t: time.Unix(1000, 0)}
	m := newManager(t, l, c, Options{})
	var wg sync.WaitGroup
	insts := make([]Instance, 16)
	for i := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst, rel, err := m.Acquire(context.Background(), Spec{Key: "a", Path: "/a"})
			if err != nil {
				t.Error(err)
				return
			}
			insts[i] = inst
			rel()
		}()
	}
	wg.Wait()
	if l.loads["a"] != 1 {
		t.Fatalf("loads = %d, want 1", l.loads["a"])
	}
	for _, in := range insts {
		if in != insts[0] {
			t.Fatal("callers got different instances")
		}
	}
	ctr := m.Counters()
	if ctr.ColdStarts != 1 || ctr.WarmStarts != 15 {
		t.Fatalf("counters = %+v, want 1 cold and 15 warm", ctr)
	}
}

func TestIdleUnloadAndReload(t *testing.T) {
	l := newLoader()
	c := &clock{t: time.Unix(1000, 0)}
	m := newManager(t, l, c, Options{IdleTimeout: 5 * time.Minute})
	_, rel, err := m.Acquire(context.Background(), Spec{Key: "a"})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(10 * time.Minute)
	if n := m.UnloadIdle(); n != 0 {
		t.Fatalf("unloaded %d models in use", n)
	}
	rel()
	c.Add(4 * time.Minute)
	if n := m.UnloadIdle(); n != 0 {
		t.Fatalf("unloaded before the idle time: %d", n)
	}
	c.Add(time.Minute)
	if n := m.UnloadIdle(); n != 1 {
		t.Fatalf("UnloadIdle = %d, want 1", n)
	}
	if l.made["a"].closed.Load() != 1 {
		t.Fatal("unloaded instance not closed")
	}
	if len(m.Status()) != 0 {
		t.Fatal("status still lists the unloaded model")
	}
	_, rel, err = m.Acquire(context.Background(), Spec{Key: "a"})
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if l.loads["a"] != 2 {
		t.Fatalf("loads = %d, want a reload", l.loads["a"])
	}
}

func TestPerModelIdleTimeout(t *testing.T) {
	l := newLoader()
	c := &clock{t: time.Unix(1000, 0)}
	m := newManager(t, l, c, Options{IdleTimeout: time.Hour})
	for _, s := range []Spec{{Key: "short", IdleTimeout: time.Minute}, {Key: "long"}} {
		_, rel, err := m.Acquire(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		rel()
	}
	c.Add(2 * time.Minute)
	if n := m.UnloadIdle(); n != 1 {
		t.Fatalf("UnloadIdle = %d, want 1", n)
	}
	st := m.Status()
	if len(st) != 1 || st[0].Key != "long" {
		t.Fatalf("status = %+v, want only long", st)
	}
}

func TestLRUEvictionByCount(t *testing.T) {
	l := newLoader()
	c := &clock{t: time.Unix(1000, 0)}
	m := newManager(t, l, c, Options{MaxModels: 2})
	for _, k := range []string{"a", "b"} {
		_, rel, err := m.Acquire(context.Background(), Spec{Key: k})
		if err != nil {
			t.Fatal(err)
		}
		c.Add(time.Second)
		rel()
	}
	// Touch a so that b is the least recently used.
	_, rel, _ := m.Acquire(context.Background(), Spec{Key: "a"})
	c.Add(time.Second)
	rel()
	_, rel, err := m.Acquire(context.Background(), Spec{Key: "c"})
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if l.made["b"].closed.Load() != 1 || l.made["a"].closed.Load() != 0 {
		t.Fatal("LRU eviction did not pick b")
	}
	if m.Counters().Evictions != 1 {
		t.Fatalf("evictions = %d", m.Counters().Evictions)
	}
}

func TestCapacityWhenAllBusy(t *testing.T) {
	l := newLoader()
	c := &clock{t: time.Unix(1000, 0)}
	m := newManager(t, l, c, Options{MaxBytes: 100})
	_, rel, err := m.Acquire(context.Background(), Spec{Key: "a", Bytes: 80})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Acquire(context.Background(), Spec{Key: "b", Bytes: 50}); !errors.Is(err, ErrCapacity) {
		t.Fatalf("err = %v, want ErrCapacity", err)
	}
	rel()
	_, rel2, err := m.Acquire(context.Background(), Spec{Key: "b", Bytes: 50})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	rel2()
}

func TestLoadErrorNotCached(t *testing.T) {
	l := newLoader()
	l.fail = errors.New("bad file")
	c := &clock{t: time.Unix(1000, 0)}
	m := newManager(t, l, c, Options{})
	if _, _, err := m.Acquire(context.Background(), Spec{Key: "a", Path: "/x.gguf"}); err == nil {
		t.Fatal("want error")
	}
	l.fail = nil
	_, rel, err := m.Acquire(context.Background(), Spec{Key: "a"})
	if err != nil {
		t.Fatalf("retry after failure: %v", err)
	}
	rel()
	if m.Counters().LoadErrors != 1 {
		t.Fatalf("LoadErrors = %d", m.Counters().LoadErrors)
	}
}

func TestReleaseIdempotent(t *testing.T) {
	l := newLoader()
	c := &clock{t: time.Unix(1000, 0)}
	m := newManager(t, l, c, Options{})
	_, rel, _ := m.Acquire(context.Background(), Spec{Key: "a"})
	rel()
	rel()
	if st := m.Status(); st[0].Active != 0 {
		t.Fatalf("active = %d after double release", st[0].Active)
	}
}
