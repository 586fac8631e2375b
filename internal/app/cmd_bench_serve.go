package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"maas/internal/loadgen"
)

// runBenchServe measures serving through HTTP, client side, like a user of
// the endpoint would see it:
//
//	maas bench serve (--model FILE.gguf | --url ENDPOINT_URL --key KEY) [--threads N]
//	    [--streams 1,2,4,8,16] [--prompt-tokens P] [--gen-tokens G] [--prefix-tokens 1000] [--prefix-pairs 2]
//	    [--cold=true] [--timeout 30m] [--cpuprofile FILE] [--json]
//
// With --model it starts the platform in this process (maas up on a temporary
// data directory, the model unloaded until the first request). It then runs,
// in order: cold start (the first request's time to first token, then a warm
// one of the same shape), prefix cache (a shared system prompt of
// --prefix-tokens words: time to first token of a second request with another
// question vs the first), and for each concurrency level N, N streaming chat
// requests started together (greedy, max_tokens G, prompts of about P
// tokens that share no prefix), reporting aggregate and per-stream tokens/s
// and time to first token (median, p90).
func runBenchServe(ctx context.Context, args []string, env Env) error {
	fs := newFlags("bench serve", env)
	model := fs.String("model", "", "phi3 GGUF `file` to serve in this process")
	target := fs.String("url", "", "endpoint URL of a running server (instead of --model)")
	key := fs.String("key", "", "endpoint key for --url (env MAAS_ENDPOINT_KEY)")
	threads := fs.Int("threads", 0, "engine worker threads with --model (0: all cores)")
	streamsFlag := fs.String("streams", "1,2,4,8,16", "concurrency levels, comma-separated")
	promptN := fs.Int("prompt-tokens", 32, "prompt length of each request, in words (about one token each)")
	genN := fs.Int("gen-tokens", 32, "max_tokens of each request")
	prefixN := fs.Int("prefix-tokens", 1000, "shared system prompt length for the prefix-cache test, in words (0: skip)")
	prefixPairs := fs.Int("prefix-pairs", 2, "request pairs (each with its own system prompt) in the prefix-cache test; medians are reported")
	cold := fs.Bool("cold", true, "measure the first request's time to first token (the cold start with --model)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the concurrency levels to `file` (with --model it covers the server)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if (*model == "") == (*target == "") {
		fs.Usage()
		return fmt.Errorf("%w: give exactly one of --model and --url", errUsage)
	}
	streams, err := parseStreams(*streamsFlag)
	if err != nil {
		return fmt.Errorf("%w: --streams: %v", errUsage, err)
	}
	if *promptN <= 0 || *genN <= 0 || *prefixN < 0 || *prefixPairs <= 0 || *threads < 0 || *timeout <= 0 {
		return fmt.Errorf("%w: need --prompt-tokens and --gen-tokens > 0, --prefix-tokens and --threads >= 0, --prefix-pairs > 0, --timeout > 0", errUsage)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	rep := benchServeReport{Model: *model, Threads: *threads, PromptWords: *promptN, GenTokens: *genN}
	tg := &loadgen.Target{URL: *target, Key: firstNonEmpty(*key, env.Getenv("MAAS_ENDPOINT_KEY"))}
	if *model != "" {
		p, err := startBenchPlatform(ctx, *model, *threads, slices.Max(streams))
		if err != nil {
			return err
		}
		defer p.stop()
		tg.URL, tg.Key = p.url, p.key
	}
	rep.URL = tg.URL
	b := &serveBencher{tg: tg, metricsURL: metricsURL(tg.URL), gen: *genN, prompt: *promptN}

	if *cold {
		cs, err := b.coldStart(ctx)
		if err != nil {
			return fmt.Errorf("cold start: %w", err)
		}
		rep.ColdStart = &cs
	} else if _, err := b.one(ctx, "warm-up", 2, 2); err != nil {
		return fmt.Errorf("warm-up request: %w", err)
	}
	if *prefixN > 0 {
		pc, err := b.prefixCache(ctx, *prefixN, *prefixPairs)
		if err != nil {
			return fmt.Errorf("prefix cache: %w", err)
		}
		rep.PrefixCache = &pc
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("create CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	failed := 0
	for _, n := range streams {
		lv, err := loadgen.RunConcurrent(ctx, tg, n, func(int) loadgen.Request {
			return b.request(b.prompt, b.gen)
		})
		if err != nil {
			return fmt.Errorf("%d streams: %w", n, err)
		}
		s := benchLevel{Summary: loadgen.Summarize(lv)}
		failed += s.Failed
		rep.Levels = append(rep.Levels, s)
		if one := rep.Levels[0]; one.Streams == 1 {
			l := &rep.Levels[len(rep.Levels)-1]
			l.TPSVs1 = ratio(l.AggregateTPS, one.AggregateTPS)
			l.TTFTVs1 = ratio(l.TTFTMedianS, one.TTFTMedianS)
		}
	}

	if *asJSON {
		if err := json.NewEncoder(env.Stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(env)
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed (see first_error)", failed)
	}
	return nil
}

// benchServeReport is the --json output. Times are seconds, rates tokens/s.
type benchServeReport struct {
	Model       string           `json:"model,omitempty"`
	URL         string           `json:"url"`
	Threads     int              `json:"threads,omitempty"` // 0: all cores or unknown (--url)
	PromptWords int              `json:"prompt_words"`
	GenTokens   int              `json:"gen_tokens"`
	ColdStart   *coldStartResult `json:"cold_start,omitempty"`
	PrefixCache *prefixResult    `json:"prefix_cache,omitempty"`
	Levels      []benchLevel     `json:"levels"`
}

// benchLevel is one concurrency level; the ratios compare with the 1-stream
// level when it ran first (0 otherwise).
type benchLevel struct {
	loadgen.Summary
	TPSVs1  float64 `json:"aggregate_tokens_per_second_vs_1"`
	TTFTVs1 float64 `json:"ttft_median_vs_1"`
}

type coldStartResult struct {
	// Cold says whether the server counted a cold start for the first
	// request (maas_model_cold_starts_total); nil when /metrics is unreadable.
	Cold         *bool   `json:"cold"`
	PromptTokens int     `json:"prompt_tokens"`
	FirstTTFTS   float64 `json:"first_ttft_s"`
	WarmTTFTS    float64 `json:"warm_ttft_s"`
	// LoadS is the server's model load time for that start
	// (maas_model_load_seconds_total), when known.
	LoadS float64 `json:"load_s,omitempty"`
}

type prefixResult struct {
	PromptTokens int     `json:"prompt_tokens"`
	FirstTTFTS   float64 `json:"first_ttft_s"`
	SecondTTFTS  float64 `json:"second_ttft_s"`
	Speedup      float64 `json:"speedup"`
}

func (r *benchServeReport) print(env Env) {
	w := env.Stdout
	fmt.Fprintf(w, "serving %s", r.URL)
	if r.Model != "" {
		fmt.Fprintf(w, " (model %s, threads %d)", r.Model, r.Threads)
	}
	fmt.Fprintf(w, "; prompts of %d words, max_tokens %d, greedy, streaming\n", r.PromptWords, r.GenTokens)
	if c := r.ColdStart; c != nil {
		state := "unknown whether cold"
		if c.Cold != nil {
			state = map[bool]string{true: "cold", false: "model was already loaded"}[*c.Cold]
		}
		fmt.Fprintf(w, "cold start   first request TTFT %.3f s (%s", c.FirstTTFTS, state)
		if c.LoadS > 0 {
			fmt.Fprintf(w, ", load %.3f s", c.LoadS)
		}
		fmt.Fprintf(w, "), warm TTFT %.3f s, %d prompt tokens\n", c.WarmTTFTS, c.PromptTokens)
	}
	if p := r.PrefixCache; p != nil {
		fmt.Fprintf(w, "prefix cache %d-token prompt sharing its system turn: first TTFT %.3f s, second %.3f s (%.1fx)\n",
			p.PromptTokens, p.FirstTTFTS, p.SecondTTFTS, p.Speedup)
	}
	fmt.Fprintf(w, "%7s %12s %12s %10s %10s %8s %8s %7s\n", "streams", "agg tok/s", "stream tok/s", "TTFT p50", "TTFT p90", "x tok/s", "x TTFT", "failed")
	for _, l := range r.Levels {
		fmt.Fprintf(w, "%7d %12.2f %12.2f %9.3fs %9.3fs %8.2f %8.2f %7d\n", l.Streams, l.AggregateTPS, l.PerStreamTPS,
			l.TTFTMedianS, l.TTFTP90S, l.TPSVs1, l.TTFTVs1, l.Failed)
		if l.FirstError != "" {
			fmt.Fprintf(w, "        first error: %s\n", l.FirstError)
		}
	}
}

// serveBencher makes requests whose prompts share no prefix by accident:
// every prompt is drawn from a fresh seed.
type serveBencher struct {
	tg          *loadgen.Target
	metricsURL  string
	gen, prompt int
	mu          sync.Mutex
	seed        uint64
}

func (b *serveBencher) nextSeed() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seed++
	return b.seed
}

func (b *serveBencher) request(words, maxTokens int) loadgen.Request {
	return loadgen.Request{MaxTokens: maxTokens,
		Messages: []loadgen.Message{{Role: "user", Content: loadgen.Words(b.nextSeed(), words)}}}
}

// one sends a single request and fails unless it produced a first token.
func (b *serveBencher) one(ctx context.Context, what string, words, maxTokens int) (loadgen.Result, error) {
	return b.send(ctx, what, b.request(words, maxTokens))
}

func (b *serveBencher) send(ctx context.Context, what string, req loadgen.Request) (loadgen.Result, error) {
	r, err := b.tg.Stream(ctx, req)
	if err == nil && r.FirstToken <= 0 {
		err = errors.New("no token came back")
	}
	if err != nil {
		return r, fmt.Errorf("%s request: %w", what, err)
	}
	return r, nil
}

// coldStart times the first request, then a warm one of the same shape.
func (b *serveBencher) coldStart(ctx context.Context) (coldStartResult, error) {
	before, mErr := loadgen.Metrics(ctx, nil, b.metricsURL)
	first, err := b.one(ctx, "first", b.prompt, 4)
	if err != nil {
		return coldStartResult{}, err
	}
	after, mErr2 := loadgen.Metrics(ctx, nil, b.metricsURL)
	warm, err := b.one(ctx, "warm", b.prompt, 4)
	if err != nil {
		return coldStartResult{}, err
	}
	res := coldStartResult{PromptTokens: first.PromptTokens, FirstTTFTS: first.FirstToken.Seconds(), WarmTTFTS: warm.FirstToken.Seconds()}
	const coldKey, loadKey = "maas_model_cold_starts_total", "maas_model_load_seconds_total"
	if mErr == nil && mErr2 == nil {
		if c0, ok := before[coldKey]; ok {
			cold := after[coldKey] > c0
			res.Cold = &cold
			if cold {
				res.LoadS = after[loadKey] - before[loadKey]
			}
		}
	}
	return res, nil
}

// prefixCache sends two requests that share a system turn of n words and
// differ in a short question, pairs times over with different system turns,
// and reports the medians.
func (b *serveBencher) prefixCache(ctx context.Context, n, pairs int) (prefixResult, error) {
	var firsts, seconds []float64
	res := prefixResult{}
	for range pairs {
		system := loadgen.Words(b.nextSeed(), n)
		var r [2]loadgen.Result
		for i := range r {
			req := loadgen.Request{MaxTokens: 2, Messages: []loadgen.Message{{Role: "system", Content: system},
				{Role: "user", Content: loadgen.Words(b.nextSeed(), 8)}}}
			var err error
			if r[i], err = b.send(ctx, fmt.Sprintf("prefix %d", i+1), req); err != nil {
				return res, err
			}
		}
		firsts = append(firsts, r[0].FirstToken.Seconds())
		seconds = append(seconds, r[1].FirstToken.Seconds())
		res.PromptTokens = r[1].PromptTokens
	}
	res.FirstTTFTS = loadgen.Percentile(firsts, 50)
	res.SecondTTFTS = loadgen.Percentile(seconds, 50)
	res.Speedup = ratio(res.FirstTTFTS, res.SecondTTFTS)
	return res, nil
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// parseStreams reads "1,2,4": positive, at most 256 each.
func parseStreams(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 256 {
			return nil, fmt.Errorf("%q is not a stream count in 1..256", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no levels given")
	}
	return out, nil
}

// metricsURL is /metrics on the endpoint URL's host.
func metricsURL(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/metrics"
}

// benchPlatform is `maas up` running in this process on a temporary data
// directory.
type benchPlatform struct {
	url, key string
	stop     func()
}

// startBenchPlatform runs maas up with the model file and waits for its
// endpoint. Models load on their first request, so the model is cold.
func startBenchPlatform(ctx context.Context, model string, threads, maxSeqs int) (*benchPlatform, error) {
	if _, err := os.Stat(model); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	dir, err := os.MkdirTemp("", "maas-bench-serve-")
	if err != nil {
		return nil, fmt.Errorf("make data dir: %w", err)
	}
	out, logs := &lockedBuffer{}, &lockedBuffer{}
	upEnv := Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: logs, Getenv: func(string) string { return "" }}
	serveArgs := []string{"--max-seqs", strconv.Itoa(max(maxSeqs, 1)), "--max-queue", strconv.Itoa(max(64, 2*maxSeqs)),
		"--idle-unload", "24h"}
	if threads > 0 {
		serveArgs = append(serveArgs, "--threads", strconv.Itoa(threads))
	}
	args := append([]string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--model-file", model, "--"}, serveArgs...)
	upCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- runUp(upCtx, args, upEnv) }()
	p := &benchPlatform{stop: func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	}}
	uriRE := regexp.MustCompile(`Endpoint URL : (\S+)`)
	keyRE := regexp.MustCompile(`Key +: (\S+)`)
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	for {
		if s := out.String(); strings.Contains(s, "Press Ctrl-C") {
			uri, k := uriRE.FindStringSubmatch(s), keyRE.FindStringSubmatch(s)
			if uri == nil || k == nil {
				p.stop()
				return nil, fmt.Errorf("maas up printed no endpoint URL or key:\n%s", s)
			}
			p.url, p.key = uri[1], k[1]
			return p, nil
		}
		select {
		case err := <-done:
			done <- err
			p.stop()
			return nil, fmt.Errorf("start the platform: %v\n%s", err, logs.String())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-deadline.C:
			p.stop()
			return nil, fmt.Errorf("the platform did not deploy the model in 2 minutes:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lockedBuffer is a bytes.Buffer for one writer and one reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
