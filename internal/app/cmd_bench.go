package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"maas/internal/engine/gguf"
	"maas/internal/engine/phi3"
)

// runBench measures prompt processing and generation speed on a phi3 GGUF,
// like llama-bench:
//
//	maas bench --model FILE [--threads N] [--prompt-tokens P] [--gen-tokens G]
//	    [--repetitions R] [--json] [--cpuprofile FILE] [--keep-page-cache]
//
// Each repetition evaluates P random tokens as one batch on a fresh cache
// (prompt tokens/s), then generates G tokens one at a time, greedily, on top
// of it (generation tokens/s). The medians of R repetitions are reported,
// with the peak resident memory of the process. --json prints
// {"prompt_tokens_per_second":..,"gen_tokens_per_second":..,"peak_rss_bytes":..,...}.
func runBench(ctx context.Context, args []string, env Env) error {
	if len(args) > 0 && args[0] == "serve" {
		return runBenchServe(ctx, args[1:], env)
	}
	fs := newFlags("bench", env)
	model := fs.String("model", "", "phi3 GGUF `file` (required)")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	promptN := fs.Int("prompt-tokens", 128, "prompt length in tokens (0: skip the prompt test)")
	genN := fs.Int("gen-tokens", 32, "tokens to generate (0: skip the generation test)")
	reps := fs.Int("repetitions", 3, "repetitions; medians are reported")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to `file`")
	keepCache := fs.Bool("keep-page-cache", false, "use the model file's page cache as it is (by default, as in serve, a file cached in 4 KiB pages is read again for 2 MiB pages)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *model == "" {
		fs.Usage()
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if *promptN < 0 || *genN < 0 || *promptN+*genN == 0 || *reps <= 0 || *threads < 0 {
		return fmt.Errorf("%w: need --prompt-tokens/--gen-tokens >= 0 (not both 0), --repetitions > 0, --threads >= 0", errUsage)
	}

	loadStart := time.Now()
	gf, err := gguf.Open(*model)
	if err != nil {
		return fmt.Errorf("load %s: %w", *model, err)
	}
	defer gf.Close()
	// As engine.Load does for serving: weights resident, on 2 MiB pages
	// where the page cache can hold them so.
	pages, perr := gf.Prefault(!*keepCache)
	m, err := phi3.New(gf, phi3.Options{Threads: *threads, MaxBatch: max(*promptN, 1)})
	if err != nil {
		return fmt.Errorf("load %s: %w", *model, err)
	}
	defer m.Close()
	loadTime := time.Since(loadStart)
	pageInfo := pages.String()
	if perr != nil {
		pageInfo = perr.Error()
	}
	ctxLen := *promptN + *genN + 1
	if ctxLen > m.Config.ContextLength {
		return fmt.Errorf("%w: prompt + generated tokens (%d) exceed the model's context of %d", errUsage, ctxLen-1, m.Config.ContextLength)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: create CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var promptRates, genRates []float64
	// One warm-up pass (page-in of the mapped weights, scratch growth) is not
	// counted.
	for rep := -1; rep < *reps; rep++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		pr, gr, err := benchOnce(m, rng, *promptN, *genN, ctxLen)
		if err != nil {
			return err
		}
		if rep < 0 {
			continue
		}
		if *promptN > 0 {
			promptRates = append(promptRates, pr)
		}
		if *genN > 0 {
			genRates = append(genRates, gr)
		}
	}
	res := benchResult{
		Model:         *model,
		Threads:       *threads,
		PromptTokens:  *promptN,
		GenTokens:     *genN,
		Repetitions:   *reps,
		PromptTPS:     median(promptRates),
		GenTPS:        median(genRates),
		PeakRSSBytes:  peakRSS(),
		LoadSeconds:   loadTime.Seconds(),
		Pages:         pageInfo,
		HugeFraction:  pages.HugeFraction(),
		PromptTPSRuns: promptRates,
		GenTPSRuns:    genRates,
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		return enc.Encode(res)
	}
	fmt.Fprintf(env.Stdout, "model %s, threads %d, load %.2fs (%s)\n", *model, *threads, res.LoadSeconds, res.Pages)
	if *promptN > 0 {
		fmt.Fprintf(env.Stdout, "prompt   pp%-5d %8.2f tokens/s (median of %d)\n", *promptN, res.PromptTPS, *reps)
	}
	if *genN > 0 {
		fmt.Fprintf(env.Stdout, "generate tg%-5d %8.2f tokens/s (median of %d)\n", *genN, res.GenTPS, *reps)
	}
	fmt.Fprintf(env.Stdout, "peak RSS %.1f MiB\n", float64(res.PeakRSSBytes)/(1<<20))
	return nil
}

type benchResult struct {
	Model         string    `json:"model"`
	Threads       int       `json:"threads"`
	PromptTokens  int       `json:"prompt_tokens"`
	GenTokens     int       `json:"gen_tokens"`
	Repetitions   int       `json:"repetitions"`
	PromptTPS     float64   `json:"prompt_tokens_per_second"`
	GenTPS        float64   `json:"gen_tokens_per_second"`
	PeakRSSBytes  int64     `json:"peak_rss_bytes"`
	LoadSeconds   float64   `json:"load_seconds"`
	Pages         string    `json:"pages"`
	HugeFraction  float64   `json:"huge_page_fraction"`
	PromptTPSRuns []float64 `json:"prompt_tokens_per_second_runs"`
	GenTPSRuns    []float64 `json:"gen_tokens_per_second_runs"`
}

// benchOnce runs one prompt of p random tokens and g greedy decode steps on a
// fresh cache and returns both rates in tokens/s.
func benchOnce(m *phi3.Model, rng *rand.Rand, p, g, ctxLen int) (promptTPS, genTPS float64, err error) {
	c, err := m.NewCache(ctxLen)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: new cache: %w", err)
	}
	caches := []*phi3.Cache{c}
	vocab := m.Config.Vocab
	next := int32(1) // BOS
	if p > 0 {
		b := phi3.Batch{Tokens: make([]int32, p), Pos: make([]int32, p), Seq: make([]int, p), Logits: make([]bool, p)}
		for i := range p {
			b.Tokens[i] = int32(rng.IntN(vocab))
			b.Pos[i] = int32(i)
		}
		b.Tokens[0] = 1
		b.Logits[p-1] = true
		start := time.Now()
		logits, err := m.Forward(b, caches)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: prompt: %w", err)
		}
		promptTPS = float64(p) / time.Since(start).Seconds()
		next = argmax(logits[:vocab])
	}
	if g > 0 {
		b := phi3.Batch{Tokens: make([]int32, 1), Pos: make([]int32, 1), Seq: make([]int, 1), Logits: []bool{true}}
		start := time.Now()
		for i := range g {
			b.Tokens[0], b.Pos[0] = next, int32(p+i)
			logits, err := m.Forward(b, caches)
			if err != nil {
				return 0, 0, fmt.Errorf("bench: decode step %d: %w", i, err)
			}
			next = argmax(logits[:vocab])
		}
		genTPS = float64(g) / time.Since(start).Seconds()
	}
	return promptTPS, genTPS, nil
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes, or
// 0 where /proc is unavailable.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				kb, err := strconv.ParseInt(fields[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}
