package gateway

import (
	"context"
	"sync"
	"time"
)

// MemoryLimiter is a Limiter for one process.
type MemoryLimiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucketState
}

// NewMemoryLimiter returns an in-process Limiter; now is the clock (nil: time.Now).
func NewMemoryLimiter(now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{now: now, buckets: make(map[string]*bucketState)}
}

// state returns key's buckets refilled to now; the caller holds mu.
func (m *MemoryLimiter) state(key string, lim Limits) *bucketState {
	now := m.now()
	s := m.buckets[key]
	if s == nil {
		s = &bucketState{tokens: float64(lim.TokensPerMinute), requests: float64(lim.RequestsPerMinute), at: now}
		m.buckets[key] = s
	}
	s.refill(now, lim)
	m.gc(now)
	return s
}

// gc drops full buckets when the map grows, so deleted endpoints do not leak.
func (m *MemoryLimiter) gc(now time.Time) {
	if len(m.buckets) < 4096 {
		return
	}
	for k, s := range m.buckets {
		if now.Sub(s.at) > 2*time.Minute {
			delete(m.buckets, k)
		}
	}
}

// Reserve implements Limiter.
func (m *MemoryLimiter) Reserve(_ context.Context, key string, lim Limits, n int64) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(key, lim)
	if !admits(s.tokens, s.requests, lim, n) {
		return decide(s.tokens, s.requests, lim, n, false), nil
	}
	s.tokens -= float64(n)
	s.requests--
	return decide(s.tokens, s.requests, lim, n, true), nil
}

// Settle implements Limiter.
func (m *MemoryLimiter) Settle(_ context.Context, key string, lim Limits, reserved, used int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(key, lim)
	s.tokens += float64(reserved - used)
	s.refill(s.at, lim)
	return nil
}

// Peek implements Limiter.
func (m *MemoryLimiter) Peek(_ context.Context, key string, lim Limits) (Quota, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(key, lim)
	return quotaOf(s.tokens, s.requests, lim), nil
}
