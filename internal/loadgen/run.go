package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Level is one concurrency level: n requests started together, each run to
// its end.
type Level struct {
	Streams int
	Results []Result // index i is request i; failed ones are zero apart from Start
	Errors  []error  // index i is request i's error or nil
	Wall    time.Duration
}

// RunConcurrent starts n streams at once, request i being mk(i), and waits
// for all of them. Wall runs from just before the first send to the end of
// the last stream.
func RunConcurrent(ctx context.Context, t *Target, n int, mk func(i int) Request) (Level, error) {
	if n <= 0 {
		return Level{}, fmt.Errorf("loadgen: need at least one stream, got %d", n)
	}
	lv := Level{Streams: n, Results: make([]Result, n), Errors: make([]error, n)}
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = mk(i)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			lv.Results[i], lv.Errors[i] = t.Stream(ctx, reqs[i])
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	lv.Wall = time.Since(t0)
	if err := ctx.Err(); err != nil {
		return lv, err
	}
	return lv, nil
}

// Summary condenses a Level. Rates are tokens/s, times seconds.
type Summary struct {
	Streams  int     `json:"streams"`
	Requests int     `json:"requests"`
	Failed   int     `json:"failed"`
	WallS    float64 `json:"wall_s"`
	// PromptTokens is the mean prompt length of the successful requests.
	PromptTokens     float64 `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	// AggregateTPS is all generated tokens over the level's wall time
	// (prompt processing included, as a client sees it).
	AggregateTPS float64 `json:"aggregate_tokens_per_second"`
	// PerStreamTPS is the median of each stream's DecodeRate.
	PerStreamTPS float64 `json:"per_stream_tokens_per_second"`
	TTFTMedianS  float64 `json:"ttft_median_s"`
	TTFTP90S     float64 `json:"ttft_p90_s"`
	TTFTMaxS     float64 `json:"ttft_max_s"`
	FirstError   string  `json:"first_error,omitempty"`
}

// Summarize computes lv's summary; failed requests count only in Failed.
func Summarize(lv Level) Summary {
	s := Summary{Streams: lv.Streams, Requests: len(lv.Results), WallS: lv.Wall.Seconds()}
	var ttft, rates []float64
	prompt := 0
	for i, r := range lv.Results {
		if i < len(lv.Errors) && lv.Errors[i] != nil {
			s.Failed++
			if s.FirstError == "" {
				s.FirstError = lv.Errors[i].Error()
			}
			continue
		}
		prompt += r.PromptTokens
		s.CompletionTokens += r.CompletionTokens
		if r.FirstToken > 0 {
			ttft = append(ttft, r.FirstToken.Seconds())
		}
		if rate := r.DecodeRate(); rate > 0 {
			rates = append(rates, rate)
		}
	}
	if ok := s.Requests - s.Failed; ok > 0 {
		s.PromptTokens = float64(prompt) / float64(ok)
	}
	if s.WallS > 0 {
		s.AggregateTPS = float64(s.CompletionTokens) / s.WallS
	}
	s.PerStreamTPS = Percentile(rates, 50)
	s.TTFTMedianS = Percentile(ttft, 50)
	s.TTFTP90S = Percentile(ttft, 90)
	s.TTFTMaxS = Percentile(ttft, 100)
	return s
}

// Err joins the level's request errors; nil when every request succeeded.
func (lv Level) Err() error {
	return errors.Join(slices.DeleteFunc(slices.Clone(lv.Errors), func(e error) bool { return e == nil })...)
}

// Percentile is the p-th percentile (0..100) of xs, interpolating linearly
// between the closest ranks; 0 for an empty slice. xs is not modified.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	p = min(max(p, 0), 100)
	pos := p / 100 * float64(len(s)-1)
	lo := int(pos)
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(lo)
	return s[lo] + frac*(s[lo+1]-s[lo])
}
