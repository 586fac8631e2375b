package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"maas/api/inference"
	"maas/internal/snapshot"
)

// responder shapes one surface's responses (chat or text completion).
type responder interface {
	// roleChunk is the first streamed chunk of choice i; nil for none.
	roleChunk(i int) any
	// deltaChunk carries new text of choice i.
	deltaChunk(i int, ev Event) any
	// finishChunk ends choice i; usage, when not nil, is the request's total.
	finishChunk(i int, finish string, usage *inference.Usage) any
	// usageChunk is the OpenAI-style final chunk (stream_options.include_usage).
	usageChunk(usage inference.Usage) any
	// final is the non-streaming body.
	final(choices []choice, usage inference.Usage) any
}

// choice accumulates one generated answer.
type choice struct {
	text     strings.Builder
	logprobs []TokenLogprob
	finish   string
	tokens   int    // completion tokens counted from events
	usage    *Usage // from the final event, when there was one
}

// genPlan is a generation that passed every check.
type genPlan struct {
	model        Model
	req          GenRequest
	n            int  // choices
	stream       bool // server-sent events
	includeUsage bool // stream_options.include_usage
	resp         responder
}

// tagged is an event of choice i, or the error that ended it.
type tagged struct {
	i   int
	ev  Event
	err error
}

// reserve takes the request's worst case from the endpoint's quota.
func (c *call) reserve(n int64) *apiError {
	d, err := c.g.opts.Limiter.Reserve(c.r.Context(), c.ep.ID, c.lim, n)
	if err != nil {
		c.log.Error("reserve quota", "error", err)
		e := errf(http.StatusServiceUnavailable, "rate_limiter_unavailable", "The rate limiter is unavailable; try again shortly.")
		e.retryAfter = time.Second
		return e
	}
	setQuotaHeaders(c.w.Header(), d.Quota)
	if d.Allowed {
		return nil
	}
	c.g.metrics.observeRateLimited(c.ep.Region+"/"+c.ep.Name, d.Exceeded)
	e := errf(http.StatusTooManyRequests, "too_many_requests",
		"You have hit your assigned rate limit and your request need to be paced: this request needs %d tokens, "+
			"and the endpoint allows %d tokens and %d requests per minute (%s exhausted). Retry after %s.",
		n, c.lim.TokensPerMinute, c.lim.RequestsPerMinute, d.Exceeded, fmtReset(d.RetryAfter))
	e.retryAfter = d.RetryAfter
	return e
}

// settle gives back what a request reserved beyond its real use.
func (c *call) settle(reserved, used int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.r.Context()), 2*time.Second)
	defer cancel()
	if err := c.g.opts.Limiter.Settle(ctx, c.ep.ID, c.lim, reserved, used); err != nil {
		c.log.Warn("settle quota", "error", err)
	}
}

// generate reserves quota, runs the plan and writes the response. It writes
// exactly one usage record when at least one generation started.
func (c *call) generate(p genPlan) *apiError {
	reserved := int64(p.req.Prompt.Count) + int64(p.req.MaxTokens)*int64(p.n)
	if e := c.reserve(reserved); e != nil {
		return e
	}
	ctx, cancel := context.WithCancel(c.r.Context())
	defer cancel()
	// All choices start, or none: a choice that cannot start (queue full)
	// fails the request, after the started ones are stopped and metered.
	streams := make([]GenStream, 0, p.n)
	var startErr *apiError
	for i := 0; i < p.n; i++ {
		s, err := p.model.Generate(ctx, p.req)
		if err != nil {
			cancel()
			startErr = c.generateError(err)
			if len(streams) == 0 {
				c.settle(reserved, 0)
				return startErr
			}
			break
		}
		streams = append(streams, s)
	}
	events := make(chan tagged, 16*len(streams))
	for i, s := range streams {
		go pump(ctx, i, s, events)
	}

	choices := make([]choice, p.n)
	var sse *sseWriter
	var writeErr error
	if p.stream && startErr == nil && ctx.Err() == nil {
		sse = startSSE(c.w)
		for i := range streams {
			if v := p.resp.roleChunk(i); v != nil && writeErr == nil {
				writeErr = sse.event(v)
			}
		}
	}
	var firstToken time.Time
	var streamErr error
	open := len(streams)
	for open > 0 {
		t := <-events
		ch := &choices[t.i]
		if t.err != nil {
			open--
			if ch.finish == "" {
				ch.finish = "error"
				streamErr = t.err
			}
			continue
		}
		ev := t.ev
		ch.tokens += ev.Tokens
		if firstToken.IsZero() && (ev.Tokens > 0 || ev.Text != "") {
			firstToken = c.g.opts.Now()
		}
		if ev.Text != "" || len(ev.Logprobs) > 0 {
			ch.text.WriteString(ev.Text)
			ch.logprobs = append(ch.logprobs, ev.Logprobs...)
			if sse != nil && writeErr == nil {
				if writeErr = sse.event(p.resp.deltaChunk(t.i, ev)); writeErr != nil {
					cancel()
				}
			}
		}
		if !ev.Done {
			continue
		}
		open--
		u := ev.Usage
		ch.usage = &u
		ch.finish = ev.Finish
		if ch.finish == "" {
			ch.finish = inference.FinishStop
		}
		if sse != nil && writeErr == nil && ch.finish != "cancelled" {
			// Usage goes on the last finish chunk (Azure's Phi-3 form) unless
			// the client asked for OpenAI's separate usage chunk: SDKs that
			// sum usage over chunks (openai-go's accumulator) must see it once.
			var usage *inference.Usage
			if open == 0 && streamErr == nil && !p.includeUsage {
				tot := totals(choices, p.req.Prompt.Count)
				usage = &tot
			}
			if writeErr = sse.event(p.resp.finishChunk(t.i, ch.finish, usage)); writeErr != nil {
				cancel()
			}
		}
	}
	usage := totals(choices, p.req.Prompt.Count)
	clientGone := c.r.Context().Err() != nil || writeErr != nil
	status := http.StatusOK
	if streamErr != nil {
		c.log.Error("generation failed", "error", streamErr)
	}
	failed := errf(http.StatusInternalServerError, "internal_error", "The model failed while generating.")
	switch {
	case clientGone:
		status = 499 // client closed the request
	case sse != nil && streamErr != nil:
		status = failed.status
		_ = sse.event(inference.ErrorResponse{Error: &inference.ErrorDetail{Code: failed.code, Message: failed.message, Status: failed.status}})
	case sse != nil:
		if p.includeUsage {
			_ = sse.event(p.resp.usageChunk(usage))
		}
		_ = sse.done()
	case startErr != nil:
		status = startErr.status
		writeError(c.w, startErr)
	case streamErr != nil:
		status = failed.status
		writeError(c.w, failed)
	default:
		writeJSON(c.w, http.StatusOK, p.resp.final(choices, usage))
	}
	c.settle(reserved, usage.TotalTokens)
	c.finishUsage(p, choices, usage, status, firstToken)
	return nil
}

// pump forwards one stream's events until its final event or error.
func pump(ctx context.Context, i int, s GenStream, out chan<- tagged) {
	for {
		ev, err := s.Recv()
		if err == io.EOF {
			err = errors.New("stream ended without a final event")
		}
		if err != nil {
			if ctx.Err() != nil {
				// Cancelled: report it as a finished, cut-off choice.
				out <- tagged{i: i, ev: Event{Done: true, Finish: "cancelled"}}
				return
			}
			out <- tagged{i: i, err: err}
			return
		}
		out <- tagged{i: i, ev: ev}
		if ev.Done {
			return
		}
	}
}

// totals sums usage over choices: the prompt once, completions of all.
func totals(choices []choice, promptCount int) inference.Usage {
	prompt := int64(promptCount)
	var completion int64
	for i := range choices {
		ch := &choices[i]
		if ch.usage != nil {
			if i == 0 && ch.usage.PromptTokens > 0 {
				prompt = int64(ch.usage.PromptTokens)
			}
			if ch.usage.CompletionTokens > 0 || ch.tokens == 0 {
				completion += int64(ch.usage.CompletionTokens)
				continue
			}
		}
		completion += int64(ch.tokens)
	}
	return inference.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

// generateError maps a failure to start generating.
func (c *call) generateError(err error) *apiError {
	if errors.Is(err, ErrQueueFull) {
		c.g.metrics.observeRateLimited(c.ep.Region+"/"+c.ep.Name, "queue")
		e := errf(http.StatusServiceUnavailable, "server_busy", "The model is busy; its queue is full. Retry shortly.")
		e.retryAfter = time.Second
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errf(499, "client_closed_request", "The client closed the request.")
	}
	c.log.Error("start generation", "error", err)
	return errf(http.StatusInternalServerError, "internal_error", "The model could not start generating.")
}

// finishUsage writes the usage record and the generation metrics.
func (c *call) finishUsage(p genPlan, choices []choice, usage inference.Usage, status int, firstToken time.Time) {
	end := c.g.opts.Now()
	var ttft, decode time.Duration
	if !firstToken.IsZero() {
		ttft = firstToken.Sub(c.start)
		decode = end.Sub(firstToken)
	}
	finish := choices[0].finish
	if status == 499 {
		finish = "cancelled"
	}
	m := c.ep.Model
	rec := snapshot.UsageRecord{
		RequestID:        c.id,
		Time:             c.start.UTC(),
		Hub:              c.ep.Hub,
		Project:          c.ep.Project,
		EndpointID:       c.ep.ID,
		Endpoint:         c.ep.Name,
		Region:           c.ep.Region,
		Model:            m.Name,
		PromptTokens:     usage.PromptTokens,
		CompletionTokens: usage.CompletionTokens,
		Status:           status,
		FinishReason:     finish,
		Stream:           p.stream,
		TimeToFirstToken: ttft,
		Duration:         end.Sub(c.start),
		InputCost:        float64(usage.PromptTokens) / 1000 * m.InputPer1K,
		OutputCost:       float64(usage.CompletionTokens) / 1000 * m.OutputPer1K,
	}
	if c.g.opts.Usage != nil {
		c.g.opts.Usage.Record(rec)
	}
	c.g.metrics.observeGeneration(c.ep.Region+"/"+c.ep.Name, m.Name, usage.PromptTokens, usage.CompletionTokens, ttft, decode)
	c.log.Info("generation", "prompt_tokens", usage.PromptTokens, "completion_tokens", usage.CompletionTokens,
		"finish_reason", finish, "ttft_ms", ttft.Milliseconds(), "stream", p.stream)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := newJSONEncoder(w)
	_ = enc.Encode(v)
}
