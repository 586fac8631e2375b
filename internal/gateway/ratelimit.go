package gateway

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Default per-endpoint quotas (the real offering's).
const (
	DefaultTokensPerMinute   = 200_000
	DefaultRequestsPerMinute = 1_000
)

// Limits are an endpoint's quotas.
type Limits struct {
	TokensPerMinute   int64 // prompt + completion tokens
	RequestsPerMinute int64
}

// Quota is what the response headers report after a decision.
type Quota struct {
	Limits
	RemainingTokens   int64         // floor of what is left, >= 0
	RemainingRequests int64         // floor of what is left, >= 0
	ResetTokens       time.Duration // until the token budget is full again
	ResetRequests     time.Duration // until the request budget is full again
}

// Decision is the answer to a reservation.
type Decision struct {
	Allowed    bool
	Quota      Quota
	RetryAfter time.Duration // when not allowed: when the same reservation could pass
	Exceeded   string        // when not allowed: "tokens" or "requests"
}

// Limiter enforces per-endpoint quotas as two token buckets (tokens and
// requests) that hold one minute's limit and refill continuously. A
// reservation takes one request and n tokens when both are available (or,
// for n above the whole limit, when the token bucket is full), so concurrent
// requests can overshoot the limit by at most one reservation. Settle gives
// back what a request reserved but did not use, or takes what it used beyond
// its reservation.
type Limiter interface {
	Reserve(ctx context.Context, key string, lim Limits, n int64) (Decision, error)
	Settle(ctx context.Context, key string, lim Limits, reserved, used int64) error
	Peek(ctx context.Context, key string, lim Limits) (Quota, error)
}

// bucketState is both buckets' levels at a time; levels are fractional
// because the buckets refill continuously.
type bucketState struct {
	tokens, requests float64
	at               time.Time
}

// refill brings s to now under lim.
func (s *bucketState) refill(now time.Time, lim Limits) {
	el := now.Sub(s.at).Seconds()
	if el > 0 {
		s.tokens = math.Min(float64(lim.TokensPerMinute), s.tokens+el*float64(lim.TokensPerMinute)/60)
		s.requests = math.Min(float64(lim.RequestsPerMinute), s.requests+el*float64(lim.RequestsPerMinute)/60)
		s.at = now
	}
	// A lowered limit caps what is left at once.
	s.tokens = math.Min(s.tokens, float64(lim.TokensPerMinute))
	s.requests = math.Min(s.requests, float64(lim.RequestsPerMinute))
}

// admits reports whether a reservation of n tokens fits in s.
func admits(tokens, requests float64, lim Limits, n int64) bool {
	return requests >= 1 && (tokens >= float64(n) || tokens >= float64(lim.TokensPerMinute))
}

// decide builds a Decision from bucket levels after (allowed) or without (not
// allowed) taking the reservation of n tokens.
func decide(tokens, requests float64, lim Limits, n int64, allowed bool) Decision {
	d := Decision{Allowed: allowed, Quota: quotaOf(tokens, requests, lim)}
	if allowed {
		return d
	}
	tRate := float64(lim.TokensPerMinute) / 60
	rRate := float64(lim.RequestsPerMinute) / 60
	var waitT, waitR float64
	if need := math.Min(float64(n), float64(lim.TokensPerMinute)) - tokens; need > 0 && tRate > 0 {
		waitT = need / tRate
	}
	if need := 1 - requests; need > 0 && rRate > 0 {
		waitR = need / rRate
	}
	d.Exceeded = "tokens"
	if waitR > waitT {
		d.Exceeded = "requests"
	}
	d.RetryAfter = time.Duration(math.Max(waitT, waitR) * float64(time.Second))
	if d.RetryAfter < time.Millisecond {
		d.RetryAfter = time.Millisecond
	}
	return d
}

func quotaOf(tokens, requests float64, lim Limits) Quota {
	q := Quota{Limits: lim}
	q.RemainingTokens = int64(math.Max(0, math.Floor(tokens)))
	q.RemainingRequests = int64(math.Max(0, math.Floor(requests)))
	if lim.TokensPerMinute > 0 {
		q.ResetTokens = time.Duration((float64(lim.TokensPerMinute) - tokens) / float64(lim.TokensPerMinute) * float64(time.Minute))
	}
	if lim.RequestsPerMinute > 0 {
		q.ResetRequests = time.Duration((float64(lim.RequestsPerMinute) - requests) / float64(lim.RequestsPerMinute) * float64(time.Minute))
	}
	return q
}

// setQuotaHeaders writes the x-ratelimit-* headers.
func setQuotaHeaders(h http.Header, q Quota) {
	h.Set("x-ratelimit-limit-requests", strconv.FormatInt(q.RequestsPerMinute, 10))
	h.Set("x-ratelimit-limit-tokens", strconv.FormatInt(q.TokensPerMinute, 10))
	h.Set("x-ratelimit-remaining-requests", strconv.FormatInt(q.RemainingRequests, 10))
	h.Set("x-ratelimit-remaining-tokens", strconv.FormatInt(q.RemainingTokens, 10))
	h.Set("x-ratelimit-reset-requests", fmtReset(q.ResetRequests))
	h.Set("x-ratelimit-reset-tokens", fmtReset(q.ResetTokens))
}

// fmtReset formats a duration as OpenAI does ("0s", "6ms", "1.5s", "6m0s").
func fmtReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(time.Millisecond).String()
}

// limitsOf returns an endpoint's quotas, defaults filled in.
func limitsOf(tpm, rpm int64) Limits {
	if tpm <= 0 {
		tpm = DefaultTokensPerMinute
	}
	if rpm <= 0 {
		rpm = DefaultRequestsPerMinute
	}
	return Limits{TokensPerMinute: tpm, RequestsPerMinute: rpm}
}
