// Package lifecycle keeps models loaded while they are used and frees them when
// they are not: a model is loaded on the first request for it (one load even
// when many requests arrive together), unloaded after an idle time set per
// model by the operator, and evicted least-recently-used first when a limit on
// the number of loaded models or their memory would be exceeded.
//
// It knows nothing of what a model is: the caller supplies a Loader. It imports
// only the standard library.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// ErrCapacity is returned when a model cannot be loaded because every loaded
// model is in use and the limits leave no room.
var ErrCapacity = errors.New("lifecycle: no capacity to load another model: all loaded models are busy")

// ErrClosed is returned by Acquire after Close.
var ErrClosed = errors.New("lifecycle: manager closed")

// Instance is a loaded model.
type Instance interface {
	// MemoryBytes is the memory the instance holds (mapped weights plus caches).
	MemoryBytes() int64
	// Close frees the instance. It is called once, when no request uses it.
	Close() error
}

// Loader loads the model described by spec.
type Loader func(ctx context.Context, spec Spec) (Instance, error)

// Spec names a model to load.
type Spec struct {
	Key         string        // identity of the model (e.g. its file path); one instance per key
	Path        string        // passed to the Loader
	IdleTimeout time.Duration // unload after this long unused; 0 means Options.IdleTimeout
	Bytes       int64         // expected memory, used to make room before loading; 0 if unknown
}

// Options are the operator's limits.
type Options struct {
	IdleTimeout time.Duration // default idle time before unload (default 5 minutes)
	MaxModels   int           // at most this many loaded at once; 0 means no limit
	MaxBytes    int64         // at most this much memory in loaded models; 0 means no limit
	Tick        time.Duration // how often idle models are looked for (default 1 s)
	Now         func() time.Time
}

// Counters count what happened, for metrics.
type Counters struct {
	ColdStarts int64         // loads
	WarmStarts int64         // acquisitions of an already loaded model
	Unloads    int64         // idle unloads and evictions
	Evictions  int64         // unloads to make room
	LoadErrors int64         // failed loads
	LoadTime   time.Duration // total time spent loading
}

// Status describes one loaded (or loading) model.
type Status struct {
	Key         string
	Path        string
	Bytes       int64
	Active      int // requests holding it now
	LoadedAt    time.Time
	LastUsed    time.Time
	Loading     bool
	IdleTimeout time.Duration // unloaded this long after LastUsed when not active
	Instance    Instance      // nil while loading
}

type entry struct {
	spec     Spec
	inst     Instance
	err      error
	ready    chan struct{} // closed when the load ends
	refs     int
	loadedAt time.Time
	lastUsed time.Time
}

// Manager holds the loaded models. Its methods are safe for concurrent use.
type Manager struct {
	load   Loader
	opts   Options
	mu     sync.Mutex
	models map[string]*entry
	ctr    Counters
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

// New starts a Manager with its idle janitor.
func New(load Loader, opts Options) *Manager {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 5 * time.Minute
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Manager{load: load, opts: opts, models: map[string]*entry{}, stop: make(chan struct{}), done: make(chan struct{})}
	go m.janitor()
	return m
}

// Acquire returns the loaded instance for spec, loading it if needed, and a
// release function the caller must call once when done with it.
func (m *Manager) Acquire(ctx context.Context, spec Spec) (Instance, func(), error) {
	if spec.Key == "" {
		spec.Key = spec.Path
	}
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, nil, ErrClosed
		}
		e, ok := m.models[spec.Key]
		if !ok {
			if err := m.makeRoomLocked(spec.Bytes); err != nil {
				m.mu.Unlock()
				return nil, nil, err
			}
			e = &entry{spec: spec, ready: make(chan struct{}), refs: 1}
			m.models[spec.Key] = e
			m.mu.Unlock()
			return m.doLoad(ctx, e)
		}
		e.refs++
		m.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			m.release(e)
			return nil, nil, ctx.Err()
		}
		if e.err != nil {
			m.release(e)
			// The loader removed the failed entry; try again only if the
			// failure was the other caller's cancellation.
			if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
				if ctx.Err() != nil {
					return nil, nil, ctx.Err()
				}
				continue
			}
			return nil, nil, e.err
		}
		m.mu.Lock()
		m.ctr.WarmStarts++
		m.mu.Unlock()
		return e.inst, m.releaser(e), nil
	}
}

func (m *Manager) doLoad(ctx context.Context, e *entry) (Instance, func(), error) {
	start := m.opts.Now()
	inst, err := m.load(ctx, e.spec)
	m.mu.Lock()
	m.ctr.LoadTime += m.opts.Now().Sub(start)
	if err != nil {
		m.ctr.LoadErrors++
		e.err = fmt.Errorf("load model %s: %w", e.spec.Path, err)
		delete(m.models, e.spec.Key)
		e.refs--
		close(e.ready)
		m.mu.Unlock()
		return nil, nil, e.err
	}
	m.ctr.ColdStarts++
	e.inst = inst
	e.loadedAt = m.opts.Now()
	e.lastUsed = e.loadedAt
	close(e.ready)
	m.mu.Unlock()
	return inst, m.releaser(e), nil
}

func (m *Manager) releaser(e *entry) func() {
	var once sync.Once
	return func() { once.Do(func() { m.release(e) }) }
}

func (m *Manager) release(e *entry) {
	m.mu.Lock()
	e.refs--
	e.lastUsed = m.opts.Now()
	m.mu.Unlock()
}

// makeRoomLocked evicts idle models, least recently used first, until one more
// model of the given size fits the limits.
func (m *Manager) makeRoomLocked(bytes int64) error {
	fits := func() bool {
		n, total := 0, bytes
		for _, e := range m.models {
			n++
			total += m.bytesOf(e)
		}
		if m.opts.MaxModels > 0 && n+1 > m.opts.MaxModels {
			return false
		}
		if m.opts.MaxBytes > 0 && total > m.opts.MaxBytes && n > 0 {
			return false
		}
		return true
	}
	for !fits() {
		victim := m.lruIdleLocked()
		if victim == nil {
			return ErrCapacity
		}
		m.unloadLocked(victim)
		m.ctr.Evictions++
	}
	return nil
}

func (m *Manager) bytesOf(e *entry) int64 {
	if e.inst != nil {
		return e.inst.MemoryBytes()
	}
	return e.spec.Bytes
}

func (m *Manager) lruIdleLocked() *entry {
	var victim *entry
	for _, e := range m.models {
		if e.refs > 0 || e.inst == nil {
			continue
		}
		if victim == nil || e.lastUsed.Before(victim.lastUsed) {
			victim = e
		}
	}
	return victim
}

func (m *Manager) unloadLocked(e *entry) {
	delete(m.models, e.spec.Key)
	m.ctr.Unloads++
	// Close outside the lock's critical path would be nicer, but Close of a
	// mapped model is an munmap: fast, and nobody holds the instance.
	_ = e.inst.Close()
}

// UnloadIdle unloads every model unused for longer than its idle time and
// returns how many it unloaded. The janitor calls it every Tick.
func (m *Manager) UnloadIdle() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	n := 0
	for _, e := range m.models {
		if e.refs > 0 || e.inst == nil {
			continue
		}
		if now.Sub(e.lastUsed) >= m.idleOf(e) {
			m.unloadLocked(e)
			n++
		}
	}
	return n
}

func (m *Manager) idleOf(e *entry) time.Duration {
	if e.spec.IdleTimeout > 0 {
		return e.spec.IdleTimeout
	}
	return m.opts.IdleTimeout
}

func (m *Manager) janitor() {
	defer close(m.done)
	t := time.NewTicker(m.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.UnloadIdle()
		}
	}
}

// Status lists loaded and loading models, most recently used first.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.models))
	for _, e := range m.models {
		out = append(out, Status{Key: e.spec.Key, Path: e.spec.Path, Bytes: m.bytesOf(e), Active: e.refs,
			LoadedAt: e.loadedAt, LastUsed: e.lastUsed, Loading: e.inst == nil, IdleTimeout: m.idleOf(e), Instance: e.inst})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out
}

// Counters returns the cumulative counters.
func (m *Manager) Counters() Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ctr
}

// Close stops the janitor and closes every loaded model. Callers must have
// released their instances (stopped serving) first.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	var errs []error
	for _, e := range m.models {
		if e.inst != nil {
			delete(m.models, e.spec.Key)
			if err := e.inst.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	m.mu.Unlock()
	<-m.done
	return errors.Join(errs...)
}
