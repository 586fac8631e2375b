package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"maas/internal/engine"
	"maas/internal/engine/lifecycle"
	"maas/internal/engine/sample"
	"maas/internal/gateway"
	"maas/internal/snapshot"
)

// engineBackend serves endpoints whose model is a local GGUF file with the
// built-in engine. Models are loaded on first use and unloaded when idle by a
// lifecycle.Manager; every endpoint of the same file shares one instance (and
// so one continuous batch).
type engineBackend struct {
	mgr *lifecycle.Manager
}

// engineLoader returns the lifecycle Loader that maps a GGUF file and starts
// its scheduler. It logs how the weights are paged in, and a file whose
// page cache was read again without getting 2 MiB pages (a filesystem
// without large folios) is not read again on later loads.
func engineLoader(opts engine.Options, logger *slog.Logger) lifecycle.Loader {
	var mu sync.Mutex
	keep := map[string]bool{}
	return func(ctx context.Context, spec lifecycle.Spec) (lifecycle.Instance, error) {
		o := opts
		mu.Lock()
		o.KeepPageCache = o.KeepPageCache || keep[spec.Path]
		mu.Unlock()
		e, err := engine.Load(spec.Path, o)
		if err != nil {
			return nil, err
		}
		st, perr := e.PageStats()
		if st.Relaid && st.HugeFraction() < 0.5 {
			mu.Lock()
			keep[spec.Path] = true
			mu.Unlock()
		}
		if logger != nil {
			if perr != nil {
				logger.Warn("model weights not prefaulted", "model", spec.Path, "error", perr)
			} else {
				logger.Info("model weights resident", "model", spec.Path, "pages", st.String())
			}
		}
		return e, nil
	}
}

// Model acquires the endpoint's model for the lifetime of the request: the
// lease is released when the request's context ends, so a model is never
// unloaded under a running request.
func (b *engineBackend) Model(ctx context.Context, ep *snapshot.Endpoint) (gateway.Model, error) {
	if ep.Model.File == "" {
		return nil, fmt.Errorf("%w: endpoint %s has no local weights", gateway.ErrModelUnavailable, ep.Name)
	}
	inst, release, err := b.mgr.Acquire(ctx, lifecycle.Spec{Key: ep.Model.File, Path: ep.Model.File,
		IdleTimeout: ep.Model.IdleTimeout})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, lifecycle.ErrCapacity) {
			return nil, fmt.Errorf("%w: %v", gateway.ErrQueueFull, err)
		}
		return nil, fmt.Errorf("%w: %v", gateway.ErrModelUnavailable, err)
	}
	context.AfterFunc(ctx, release)
	return &engineModel{e: inst.(*engine.Engine), tenant: ep.ID}, nil
}

// QueueLengths reports waiting requests per loaded model file, for /metrics.
func (b *engineBackend) QueueLengths() map[string]int {
	out := map[string]int{}
	for _, st := range b.mgr.Status() {
		if e, ok := st.Instance.(*engine.Engine); ok {
			out[st.Key] = e.Stats().Queued
		}
	}
	return out
}

// engineModel adapts one loaded engine to the gateway's Model.
type engineModel struct {
	e      *engine.Engine
	tenant string // endpoint id: the scheduler shares slots fairly between endpoints
}

func (m *engineModel) ContextLength() int { return m.e.ContextLength() }

func (m *engineModel) Prompt(msgs []gateway.ChatMessage, systemRole bool) (gateway.Prompt, error) {
	em := make([]engine.Message, len(msgs))
	for i, msg := range msgs {
		em[i] = engine.Message{Role: msg.Role, Content: msg.Content}
	}
	ids, err := m.e.RenderChat(em, systemRole && m.e.SupportsSystemRole())
	if err != nil {
		return gateway.Prompt{}, err
	}
	return gateway.Prompt{Tokens: ids, Count: len(ids)}, nil
}

func (m *engineModel) PromptText(text string) (gateway.Prompt, error) {
	ids := m.e.TokenizePrompt(text)
	return gateway.Prompt{Tokens: ids, Count: len(ids)}, nil
}

func (m *engineModel) Generate(ctx context.Context, req gateway.GenRequest) (gateway.GenStream, error) {
	seed := int64(-1)
	if req.Seed != nil {
		seed = *req.Seed & (1<<63 - 1)
	}
	s, err := m.e.Generate(ctx, engine.Request{
		Prompt:    req.Prompt.Tokens,
		MaxTokens: req.MaxTokens,
		Sampling: sample.Params{
			Temperature:      float32(req.Temperature),
			TopP:             float32(req.TopP),
			Seed:             seed,
			PresencePenalty:  float32(req.PresencePenalty),
			FrequencyPenalty: float32(req.FrequencyPenalty),
			LogitBias:        req.LogitBias,
			Logprobs:         req.Logprobs || req.TopLogprobs > 0,
			TopLogprobs:      req.TopLogprobs,
		},
		Stop:             req.Stop,
		TrimLeadingSpace: req.Messages != nil,
		Tenant:           m.tenant,
	})
	if err != nil {
		if errors.Is(err, engine.ErrQueueFull) {
			return nil, fmt.Errorf("%w: %v", gateway.ErrQueueFull, err)
		}
		return nil, err
	}
	return &engineStream{ctx: ctx, s: s, m: m}, nil
}

// engineStream converts the scheduler's events to the gateway's.
type engineStream struct {
	ctx  context.Context
	s    *engine.Stream
	m    *engineModel
	done bool
}

func (st *engineStream) Recv() (gateway.Event, error) {
	if st.done {
		return gateway.Event{}, io.EOF
	}
	ev, err := st.s.Recv(st.ctx)
	if err != nil {
		return gateway.Event{}, err
	}
	out := gateway.Event{Text: ev.Text, Tokens: len(ev.Tokens)}
	if len(ev.Logprobs) > 0 {
		tok := st.m.e.Tokenizer()
		out.Logprobs = make([]gateway.TokenLogprob, len(ev.Logprobs))
		for i, r := range ev.Logprobs {
			lp := gateway.TokenLogprob{Token: tok.Piece(r.ID), Logprob: float64(r.Logprob)}
			for _, t := range r.Top {
				lp.Top = append(lp.Top, gateway.TopLogprob{Token: tok.Piece(t.ID), Logprob: float64(t.Logprob)})
			}
			out.Logprobs[i] = lp
		}
	}
	if !ev.Done {
		return out, nil
	}
	st.done = true
	if ev.FinishReason == engine.FinishError {
		return gateway.Event{}, fmt.Errorf("generate: %w", ev.Err)
	}
	out.Done = true
	out.Finish = ev.FinishReason
	out.Usage = gateway.Usage{PromptTokens: ev.PromptTokens, CompletionTokens: ev.CompletionTokens}
	out.TTFT = ev.TimeToFirstToken
	return out, nil
}
