package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"maas/internal/engine"
	"maas/internal/engine/gguf"
	"maas/internal/engine/sample"
)

// runGenerate generates text from a prompt with the built-in engine:
//
//	maas generate --model FILE (--prompt TEXT | --tokens IDS) [--chat] [--ctx N]
//	    [--max-tokens N] [--temperature T] [--seed S] [--ignore-eos] [--json]
//
// --temperature 0 is greedy (ties to the lower id). Without --json the text
// streams to stdout and timings go to stderr; with --json one object
// {"ids":[...],"text":"...",...} is printed at the end.
func runGenerate(ctx context.Context, args []string, env Env) error {
	fs := newFlags("generate", env)
	model := fs.String("model", "", "phi3 GGUF `file` (required)")
	prompt := fs.String("prompt", "", "prompt `text` (BOS added, special-token text parsed)")
	tokens := fs.String("tokens", "", "prompt as comma-separated token `ids`, used as given")
	chatMode := fs.Bool("chat", false, "wrap --prompt as one user turn in the Phi-3 chat format")
	ctxLen := fs.Int("ctx", 4096, "context size of the sequence in tokens (prompt + generated); the default is capped at the model's")
	maxTokens := fs.Int("max-tokens", 128, "most tokens to generate")
	temp := fs.Float64("temperature", 0.8, "sampling temperature; 0 is greedy")
	topK := fs.Int("top-k", 0, "keep the K most likely tokens (0: off)")
	topP := fs.Float64("top-p", 1, "nucleus sampling mass (1: off)")
	seed := fs.Int64("seed", -1, "sampling seed (-1: random)")
	ignoreEOS := fs.Bool("ignore-eos", false, "do not stop at end-of-generation tokens")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	asJSON := fs.Bool("json", false, "print one JSON object with ids, text and timings")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: maas generate --model FILE (--prompt TEXT | --tokens IDS) [--chat] [--ctx N]\n"+
			"         [--max-tokens N] [--temperature T] [--seed S] [--ignore-eos] [--json]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *model == "" || (*prompt == "") == (*tokens == "") {
		fs.Usage()
		return fmt.Errorf("%w: --model and exactly one of --prompt or --tokens are required", errUsage)
	}
	if *chatMode && *tokens != "" {
		return fmt.Errorf("%w: --chat needs --prompt", errUsage)
	}
	if *ctxLen <= 0 || *maxTokens <= 0 {
		return fmt.Errorf("%w: --ctx and --max-tokens must be > 0", errUsage)
	}
	if *temp < 0 || math.IsNaN(*temp) {
		return fmt.Errorf("%w: --temperature must be >= 0", errUsage)
	}

	ctxSet := false
	fs.Visit(func(f *flag.Flag) { ctxSet = ctxSet || f.Name == "ctx" })
	if !ctxSet {
		*ctxLen = min(*ctxLen, modelContext(*model))
	}

	loadStart := time.Now()
	eng, err := engine.Load(*model, engine.Options{Threads: *threads, ContextLen: *ctxLen, MaxSeqs: 1, MaxQueue: 1})
	if err != nil {
		return err
	}
	defer eng.Close()
	loadTime := time.Since(loadStart)

	var ids []int32
	switch {
	case *tokens != "":
		ids, err = parseGenerateIDs(*tokens)
		if err != nil {
			return fmt.Errorf("%w: --tokens: %v", errUsage, err)
		}
	case *chatMode:
		ids, err = eng.RenderChat([]engine.Message{{Role: "user", Content: *prompt}}, eng.SupportsSystemRole())
		if err != nil {
			return err
		}
	default:
		ids = eng.TokenizePrompt(*prompt)
	}

	req := engine.Request{
		Prompt:           ids,
		MaxTokens:        *maxTokens,
		IgnoreEOS:        *ignoreEOS,
		TrimLeadingSpace: *chatMode,
		Sampling: sample.Params{
			Temperature: float32(*temp), TopK: *topK, TopP: float32(*topP), Seed: *seed,
		},
	}
	st, err := eng.Generate(ctx, req)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	var text strings.Builder
	var out []int32
	var final engine.Event
	for {
		ev, err := st.Recv(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		out = append(out, ev.Tokens...)
		text.WriteString(ev.Text)
		if !*asJSON && ev.Text != "" {
			fmt.Fprint(env.Stdout, ev.Text)
		}
		if ev.Done {
			final = ev
		}
	}
	if final.FinishReason == engine.FinishError {
		return fmt.Errorf("generate: %w", final.Err)
	}
	promptTime := final.TimeToFirstToken
	genTime := final.TotalTime - final.TimeToFirstToken
	rate := func(n int, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return math.Round(float64(n)/d.Seconds()*100) / 100
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
	genTokens := max(final.CompletionTokens-1, 0) // the first token comes out of the prompt pass
	if !*asJSON {
		fmt.Fprintln(env.Stdout)
		fmt.Fprintf(env.Stderr, "load %.0f ms; prompt %d tokens in %.0f ms (%.2f tok/s); generated %d tokens, %.2f tok/s; finish %s\n",
			ms(loadTime), final.PromptTokens, ms(promptTime), rate(final.PromptTokens, promptTime),
			final.CompletionTokens, rate(genTokens, genTime), final.FinishReason)
		return nil
	}
	if out == nil {
		out = []int32{}
	}
	res := struct {
		IDs              []int32 `json:"ids"`
		Text             string  `json:"text"`
		PromptIDs        []int32 `json:"prompt_ids"`
		PromptTokens     int     `json:"prompt_tokens"`
		CompletionTokens int     `json:"completion_tokens"`
		FinishReason     string  `json:"finish_reason"`
		LoadMS           float64 `json:"load_ms"`
		PromptMS         float64 `json:"prompt_ms"`
		GenerationMS     float64 `json:"generation_ms"`
		PromptTokPerSec  float64 `json:"prompt_tokens_per_second"`
		GenTokPerSec     float64 `json:"generation_tokens_per_second"`
	}{
		IDs: out, Text: text.String(), PromptIDs: ids,
		PromptTokens: final.PromptTokens, CompletionTokens: final.CompletionTokens, FinishReason: final.FinishReason,
		LoadMS: ms(loadTime), PromptMS: ms(promptTime), GenerationMS: ms(genTime),
		PromptTokPerSec: rate(final.PromptTokens, promptTime), GenTokPerSec: rate(genTokens, genTime),
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// modelContext returns the training context length in a GGUF file's
// metadata, or a large number when it cannot be read (Load reports why).
func modelContext(path string) int {
	const unknown = 1 << 30
	f, err := gguf.Open(path)
	if err != nil {
		return unknown
	}
	defer f.Close()
	arch, _ := f.String("general.architecture")
	n, ok := f.Uint(arch + ".context_length")
	if !ok || n == 0 || n > unknown {
		return unknown
	}
	return int(n)
}

// parseGenerateIDs parses "1,2,3" (spaces allowed) into token ids.
func parseGenerateIDs(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad token id %q", f)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no token ids")
	}
	return ids, nil
}
