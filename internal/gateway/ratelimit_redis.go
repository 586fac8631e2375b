package gateway

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// limiterScript runs one Limiter operation atomically in Redis with the same
// arithmetic as MemoryLimiter, on the Redis server's clock so that every
// gateway instance agrees. KEYS[1]: the bucket hash. ARGV: tokens per minute,
// requests per minute, op ("reserve", "settle", "peek"), n (reserve: tokens
// asked; settle: tokens given back, negative to take). Returns
// {allowed, tokens left, requests left} with the levels as strings.
const limiterScript = `
local tcap = tonumber(ARGV[1])
local rcap = tonumber(ARGV[2])
local op = ARGV[3]
local n = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tl', 'rl', 'ts')
local tl = tonumber(v[1]) or tcap
local rl = tonumber(v[2]) or rcap
local ts = tonumber(v[3]) or now
local el = now - ts
if el > 0 then
  tl = tl + el * tcap / 60
  rl = rl + el * rcap / 60
else
  now = ts
end
tl = math.min(tl, tcap)
rl = math.min(rl, rcap)
local ok = 0
if op == 'reserve' then
  if rl >= 1 and (tl >= n or tl >= tcap) then
    tl = tl - n
    rl = rl - 1
    ok = 1
  end
elseif op == 'settle' then
  tl = math.min(tl + n, tcap)
end
redis.call('HSET', KEYS[1], 'tl', string.format('%.6f', tl), 'rl', string.format('%.6f', rl), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], 180000)
return {ok, string.format('%.6f', tl), string.format('%.6f', rl)}
`

// RedisLimiter is a Limiter shared by every gateway instance through Redis.
type RedisLimiter struct {
	client redis.Scripter
	script *redis.Script
	prefix string
}

// NewRedisLimiter returns a Limiter that keeps its buckets in Redis under
// prefix+key (prefix "" means "maas:ratelimit:").
func NewRedisLimiter(client redis.Scripter, prefix string) *RedisLimiter {
	if prefix == "" {
		prefix = "maas:ratelimit:"
	}
	return &RedisLimiter{client: client, script: redis.NewScript(limiterScript), prefix: prefix}
}

func (l *RedisLimiter) run(ctx context.Context, key string, lim Limits, op string, n int64) (bool, float64, float64, error) {
	res, err := l.script.Run(ctx, l.client, []string{l.prefix + key},
		lim.TokensPerMinute, lim.RequestsPerMinute, op, n).Slice()
	if err != nil {
		return false, 0, 0, fmt.Errorf("rate limit %s %q in redis: %w", op, key, err)
	}
	if len(res) != 3 {
		return false, 0, 0, fmt.Errorf("rate limit %s %q in redis: unexpected reply %v", op, key, res)
	}
	ok, _ := res[0].(int64)
	ts, _ := res[1].(string)
	rs, _ := res[2].(string)
	tl, err1 := strconv.ParseFloat(ts, 64)
	rl, err2 := strconv.ParseFloat(rs, 64)
	if err1 != nil || err2 != nil {
		return false, 0, 0, fmt.Errorf("rate limit %s %q in redis: unexpected reply %v", op, key, res)
	}
	return ok == 1, tl, rl, nil
}

// Reserve implements Limiter.
func (l *RedisLimiter) Reserve(ctx context.Context, key string, lim Limits, n int64) (Decision, error) {
	ok, tl, rl, err := l.run(ctx, key, lim, "reserve", n)
	if err != nil {
		return Decision{}, err
	}
	return decide(tl, rl, lim, n, ok), nil
}

// Settle implements Limiter.
func (l *RedisLimiter) Settle(ctx context.Context, key string, lim Limits, reserved, used int64) error {
	_, _, _, err := l.run(ctx, key, lim, "settle", reserved-used)
	return err
}

// Peek implements Limiter.
func (l *RedisLimiter) Peek(ctx context.Context, key string, lim Limits) (Quota, error) {
	_, tl, rl, err := l.run(ctx, key, lim, "peek", 0)
	if err != nil {
		return Quota{}, err
	}
	return quotaOf(tl, rl, lim), nil
}
