package gateway

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"maas/api/inference"
	"maas/internal/snapshot"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestMemoryLimiterBuckets(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := NewMemoryLimiter(clk.Now)
	ctx := context.Background()
	lim := Limits{TokensPerMinute: 600, RequestsPerMinute: 3}

	d, _ := l.Reserve(ctx, "ep", lim, 500)
	if !d.Allowed || d.Quota.RemainingTokens != 100 || d.Quota.RemainingRequests != 2 || d.Quota.ResetTokens != 50*time.Second {
		t.Fatalf("first = %+v", d)
	}
	d, _ = l.Reserve(ctx, "ep", lim, 200)
	if d.Allowed || d.Exceeded != "tokens" || d.RetryAfter != 10*time.Second {
		t.Fatalf("over the token limit = %+v", d)
	}
	// Settling the real use (120 of 500) gives back 380.
	_ = l.Settle(ctx, "ep", lim, 500, 120)
	q, _ := l.Peek(ctx, "ep", lim)
	if q.RemainingTokens != 480 {
		t.Fatalf("after settle = %+v", q)
	}
	// Requests: 2 left, then the bucket is empty for 20 s (3 per minute).
	for i := 0; i < 2; i++ {
		if d, _ = l.Reserve(ctx, "ep", lim, 1); !d.Allowed {
			t.Fatalf("request %d refused: %+v", i, d)
		}
	}
	d, _ = l.Reserve(ctx, "ep", lim, 1)
	if d.Allowed || d.Exceeded != "requests" || d.RetryAfter != 20*time.Second {
		t.Fatalf("over the request limit = %+v", d)
	}
	clk.advance(20 * time.Second)
	if d, _ = l.Reserve(ctx, "ep", lim, 1); !d.Allowed {
		t.Fatalf("after refill: %+v", d)
	}
	// A reservation above the whole limit passes only on a full bucket.
	clk.advance(time.Minute)
	if d, _ = l.Reserve(ctx, "big", lim, 5000); !d.Allowed || d.Quota.RemainingTokens != 0 {
		t.Fatalf("oversized on a full bucket: %+v", d)
	}
	if d, _ = l.Reserve(ctx, "big", lim, 5000); d.Allowed {
		t.Fatalf("oversized twice: %+v", d)
	}
}

// concurrentReservations reserves n tokens from many goroutines at once and
// returns how many were admitted.
func concurrentReservations(t *testing.T, l Limiter, key string, lim Limits, n int64, workers int) int64 {
	t.Helper()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d, err := l.Reserve(context.Background(), key, lim, n)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				admitted.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return admitted.Load()
}

func TestMemoryLimiterConcurrentNoOvershoot(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	l := NewMemoryLimiter(clk.Now)
	lim := Limits{TokensPerMinute: 10_000, RequestsPerMinute: 1_000}
	got := concurrentReservations(t, l, "ep", lim, 300, 200)
	// 10,000 / 300 = 33 reservations fit; the clock does not move.
	if got != 33 {
		t.Fatalf("admitted %d reservations of 300 under 10,000 tokens, want 33", got)
	}
}

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	addr := "127.0.0.1:6379"
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis at %s is required under CI=true: %v", addr, err)
		}
		t.Skipf("redis not reachable at %s: %v", addr, err)
	}
	conn.Close()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisLimiter(t *testing.T) {
	c := redisClient(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("maas:test:%d:", time.Now().UnixNano())
	l := NewRedisLimiter(c, prefix)
	t.Cleanup(func() {
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	// The buckets refill on Redis's clock (10 tokens/s here), so bounds allow
	// a second or two of a loaded machine between calls.
	lim := Limits{TokensPerMinute: 600, RequestsPerMinute: 1000}
	d, err := l.Reserve(ctx, "ep", lim, 500)
	if err != nil || !d.Allowed || d.Quota.RemainingTokens < 100 || d.Quota.RemainingTokens > 101 {
		t.Fatalf("first = %+v, %v", d, err)
	}
	d, _ = l.Reserve(ctx, "ep", lim, 200)
	if d.Allowed || d.Exceeded != "tokens" || d.RetryAfter <= 7*time.Second || d.RetryAfter > 10*time.Second {
		t.Fatalf("over the limit = %+v", d)
	}
	if err := l.Settle(ctx, "ep", lim, 500, 120); err != nil {
		t.Fatal(err)
	}
	q, err := l.Peek(ctx, "ep", lim)
	if err != nil || q.RemainingTokens < 480 || q.RemainingTokens > 500 {
		t.Fatalf("after settle = %+v, %v", q, err)
	}

	// Concurrent reservations from many clients: the refill during the test
	// (10,000 tokens per minute) is the only slack allowed.
	lim = Limits{TokensPerMinute: 10_000, RequestsPerMinute: 100_000}
	start := time.Now()
	got := concurrentReservations(t, l, "conc", lim, 300, 100)
	slack := int64(time.Since(start).Seconds()*10_000/60/300) + 1
	if got < 33 || got > 33+slack {
		t.Fatalf("admitted %d reservations of 300 under 10,000 tokens, want 33 (+%d for refill)", got, slack)
	}
}

// TestQuotaThroughGateway drives concurrent requests against a small token
// limit and checks that at most the limit is reserved at once (no overshoot),
// with the 429s in the spec's shape, for the in-process limiter on a frozen
// clock (exact counts) and the Redis limiter on Redis's clock (allowing for
// what refills while the test runs: 1000 tokens per minute).
func TestQuotaThroughGateway(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) {
		o.Now = clk.Now
		ep.TokensPerMinute = 1000
		ep.RequestsPerMinute = 1000
	})
	quotaScenario(t, e, nil)

	t.Run("redis", func(t *testing.T) {
		c := redisClient(t)
		prefix := fmt.Sprintf("maas:test:%d:", time.Now().UnixNano())
		t.Cleanup(func() {
			if keys, _ := c.Keys(context.Background(), prefix+"*").Result(); len(keys) > 0 {
				c.Del(context.Background(), keys...)
			}
		})
		e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) {
			o.Limiter = NewRedisLimiter(c, prefix)
			ep.TokensPerMinute = 1000
			ep.RequestsPerMinute = 1000
		})
		start := time.Now()
		quotaScenario(t, e, func() int64 { return int64(time.Since(start).Seconds()*1000/60) + 1 })
	})
}

// quotaScenario runs 40 concurrent requests that each reserve 56 tokens
// under a limit of 1000 tokens; refill, when not nil, bounds the tokens
// refilled since the scenario started.
func quotaScenario(t *testing.T, e *env, refill func() int64) {
	t.Helper()
	// Each request reserves 6 prompt + 50 max tokens = 56 and uses 6 + 7 = 13.
	// Generation is held until every request is admitted or refused, so all
	// admitted reservations are outstanding at once.
	e.model.hold = make(chan struct{})
	body := `{"messages":[{"role":"user","content":"Hi there"}],"max_tokens":50}`
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	const clients = 40
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, raw := e.do("POST", testEndpoint+"/chat/completions", body)
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
				er := decodeJSON[inference.ErrorResponse](t, raw)
				ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
				if er.Error == nil || er.Error.Status != 429 || er.Error.Code != "too_many_requests" || ra < 1 ||
					resp.Header.Get("retry-after-ms") == "" || resp.Header.Get("x-ms-error-code") != "too_many_requests" ||
					resp.Header.Get("x-ratelimit-limit-tokens") != "1000" {
					t.Errorf("429 = %v %s", resp.Header, raw)
				}
			default:
				t.Errorf("status %d: %s", resp.StatusCode, raw)
			}
		}()
	}
	waitFor(t, "every request admitted or refused", func() bool {
		e.model.mu.Lock()
		defer e.model.mu.Unlock()
		return int64(e.model.started)+limited.Load() == clients
	})
	close(e.model.hold)
	wg.Wait()
	// 1000 / 56 = 17 reservations fit at once, plus what refilled.
	var slack int64
	if refill != nil {
		slack = refill()
	}
	if ok.Load() < 17 || ok.Load() > 17+slack/56 || ok.Load()+limited.Load() != clients {
		t.Fatalf("ok=%d limited=%d, want 17 (+%d refilled tokens) and the rest", ok.Load(), limited.Load(), slack)
	}
	var used int64
	for _, r := range e.usage.all() {
		used += r.PromptTokens + r.CompletionTokens
	}
	if used != ok.Load()*13 || int64(len(e.usage.all())) != ok.Load() {
		t.Fatalf("ledger holds %d tokens in %d records for %d admitted requests", used, len(e.usage.all()), ok.Load())
	}
	// Settling gave back the unused part of every reservation.
	resp, _ := e.do("GET", testEndpoint+"/info", "")
	got, _ := strconv.ParseInt(resp.Header.Get("x-ratelimit-remaining-tokens"), 10, 64)
	if want := 1000 - ok.Load()*13; got < want || got > want+slack || (refill == nil && got != want) {
		t.Fatalf("remaining tokens = %d, want %d (+%d refilled)", got, want, slack)
	}
}

func TestRequestsPerMinuteThroughGateway(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	e := newEnv(t, func(o *Options, ep *snapshot.Endpoint, m *fakeModel) {
		o.Now = clk.Now
		ep.RequestsPerMinute = 2
	})
	for i, want := range []int{200, 200, 429} {
		resp, raw := e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":1}`)
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, raw)
		}
		if want == 429 && (resp.Header.Get("x-ratelimit-remaining-requests") != "0" || resp.Header.Get("Retry-After") != "30" ||
			resp.Header.Get("retry-after-ms") != "30000" || resp.Header.Get("x-ratelimit-reset-requests") != "1m0s") {
			t.Fatalf("429 headers %v", resp.Header)
		}
	}
	clk.advance(30 * time.Second)
	if resp, raw := e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":1}`); resp.StatusCode != 200 {
		t.Fatalf("after Retry-After: %d %s", resp.StatusCode, raw)
	}
}

// brokenLimiter is a limiter whose store is down.
type brokenLimiter struct{}

func (brokenLimiter) Reserve(context.Context, string, Limits, int64) (Decision, error) {
	return Decision{}, fmt.Errorf("redis: connection refused")
}
func (brokenLimiter) Settle(context.Context, string, Limits, int64, int64) error {
	return fmt.Errorf("redis: connection refused")
}
func (brokenLimiter) Peek(context.Context, string, Limits) (Quota, error) {
	return Quota{}, fmt.Errorf("redis: connection refused")
}

func TestLimiterDownIs503(t *testing.T) {
	e := newEnv(t, func(o *Options, _ *snapshot.Endpoint, _ *fakeModel) { o.Limiter = brokenLimiter{} })
	resp, body := e.do("POST", testEndpoint+"/chat/completions", hello)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("x-ms-error-code") != "rate_limiter_unavailable" {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	if n := len(e.usage.all()); n != 0 {
		t.Errorf("%d usage records", n)
	}
	// Requests that need no quota still work.
	if resp, _ := e.do("GET", testEndpoint+"/info", ""); resp.StatusCode != 200 {
		t.Errorf("info: %d", resp.StatusCode)
	}
}
