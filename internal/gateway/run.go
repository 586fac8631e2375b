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
	// Content filtering (safety.go).
	pending    []Event // streamed text held back until a check passes it
	pendingLen int     // bytes of text in pending
	unchecked  int     // bytes of text since the last check
	filtered   bool    // flagged: nothing more is shown; ends with content_filter
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
	filter := c.filtering()
	if filter {
		if e := c.checkPrompt(p, reserved); e != nil {
			return e
		}
	}
	ctx, cancel := context.WithCancel(c.r.Context())
	defer cancel()
	// All choices start, or none: a choice that cannot start (queue full)
	// fails the request, after the started ones are stopped and metered.
	// Each choice has its own context so that the filter can stop one.
	streams := make([]GenStream, 0, p.n)
	ctxs := make([]context.Context, 0, p.n)
	cancels := make([]context.CancelFunc, 0, p.n)
	var startErr *apiError
	for i := 0; i < p.n; i++ {
		req := p.req
		if req.Seed != nil && i > 0 {
			seed := *req.Seed + int64(i) // choices differ, yet each is reproducible
			req.Seed = &seed
		}
		sctx, scancel := context.WithCancel(ctx)
		s, err := p.model.Generate(sctx, req)
		if err != nil {
			scancel()
			cancel()
			startErr = c.generateError(err)
			if len(streams) == 0 {
				c.settle(reserved, 0)
				return startErr
			}
			break
		}
		streams = append(streams, s)
		ctxs = append(ctxs, sctx)
		cancels = append(cancels, scancel)
	}
	events := make(chan tagged, 16*len(streams))
	for i, s := range streams {
		go pump(ctxs[i], i, s, events)
	}
	g := &generation{c: c, p: p, ctx: ctx, cancel: cancel, cancels: cancels, filter: filter, choices: make([]choice, p.n)}
	if p.stream && startErr == nil && ctx.Err() == nil {
		g.sse = startSSE(c.w)
		for i := range streams {
			if v := p.resp.roleChunk(i); v != nil {
				g.send(v)
			}
		}
	}
	for open := len(streams); open > 0; {
		if g.handle(<-events, open) {
			open--
		}
	}
	if filter && g.sse == nil && startErr == nil && g.streamErr == nil && ctx.Err() == nil {
		g.checkCompletions()
	}
	usage := totals(g.choices, p.req.Prompt.Count)
	status := g.status(startErr)
	// Meter before the last bytes go out, so the response ends at once.
	c.settle(reserved, usage.TotalTokens)
	c.finishUsage(p, g.choices, usage, status, g.firstToken)
	g.respond(usage, startErr)
	return nil
}

// generation is the state of one generate call while events arrive.
type generation struct {
	c          *call
	p          genPlan
	ctx        context.Context      // every choice's parent
	cancel     context.CancelFunc   // stops every choice
	cancels    []context.CancelFunc // stop one choice
	filter     bool                 // completions are checked by the content filter
	choices    []choice
	sse        *sseWriter // nil unless streaming
	writeErr   error      // the client stopped reading
	streamErr  error      // a choice failed
	filterErr  error      // the content filter failed: the response is 503 content_filter_unavailable
	firstToken time.Time
}

// send writes one event unless writing already failed; a failed write stops
// the generation.
func (g *generation) send(v any) {
	if g.sse == nil || g.writeErr != nil {
		return
	}
	if g.writeErr = g.sse.event(v); g.writeErr != nil {
		g.cancel()
	}
}

// handle takes one event; it reports whether its choice ended. open counts
// the choices still running, this one included.
func (g *generation) handle(t tagged, open int) bool {
	ch := &g.choices[t.i]
	if t.err != nil {
		if ch.finish == "" {
			ch.finish = "error"
			g.streamErr = t.err
		}
		return true
	}
	ev := t.ev
	ch.tokens += ev.Tokens
	if g.firstToken.IsZero() && (ev.Tokens > 0 || ev.Text != "") {
		g.firstToken = g.c.g.opts.Now()
	}
	if (ev.Text != "" || len(ev.Logprobs) > 0) && !ch.filtered && g.filterErr == nil {
		ch.text.WriteString(ev.Text)
		ch.logprobs = append(ch.logprobs, ev.Logprobs...)
		if g.filter && g.sse != nil {
			g.hold(t.i, ev)
		} else {
			g.send(g.p.resp.deltaChunk(t.i, ev))
		}
	}
	if !ev.Done {
		return false
	}
	u := ev.Usage
	ch.usage = &u
	ch.finish = ev.Finish
	if ch.finish == "" {
		ch.finish = inference.FinishStop
	}
	if g.filter && g.sse != nil && !ch.filtered && g.filterErr == nil && ch.finish != "cancelled" {
		g.check(t.i, true)
	}
	switch {
	case g.filterErr != nil:
		ch.finish = "error"
		return true
	case ch.filtered:
		ch.finish = inference.FinishContentFilter
	}
	if ch.finish != "cancelled" {
		// Usage goes on the last finish chunk (Azure's Phi-3 form) unless
		// the client asked for OpenAI's separate usage chunk: SDKs that sum
		// usage over chunks (openai-go's accumulator) must see it once.
		var usage *inference.Usage
		if open == 1 && g.streamErr == nil && g.filterErr == nil && !g.p.includeUsage {
			tot := totals(g.choices, g.p.req.Prompt.Count)
			usage = &tot
		}
		g.send(g.p.resp.finishChunk(t.i, ch.finish, usage))
	}
	return true
}

// failedGeneration is the error of a generation that broke mid-way.
func failedGeneration() *apiError {
	return errf(http.StatusInternalServerError, "internal_error", "The model failed while generating.")
}

// status is the request's outcome for the usage record.
func (g *generation) status(startErr *apiError) int {
	switch {
	case g.c.r.Context().Err() != nil || g.writeErr != nil:
		return 499 // client closed the request
	case startErr != nil: // never with a stream: it starts only when all choices did
		return startErr.status
	case g.filterErr != nil:
		return http.StatusServiceUnavailable
	case g.streamErr != nil:
		return failedGeneration().status
	}
	return http.StatusOK
}

// respond ends the response: the end of the event stream, the JSON body or
// the error.
func (g *generation) respond(usage inference.Usage, startErr *apiError) {
	c := g.c
	if g.streamErr != nil {
		c.log.Error("generation failed", "error", g.streamErr)
	}
	failed := failedGeneration()
	unavailable := errFilterUnavailable()
	switch {
	case c.r.Context().Err() != nil || g.writeErr != nil:
	case g.sse != nil && g.filterErr != nil:
		_ = g.sse.event(inference.ErrorResponse{Error: &inference.ErrorDetail{Code: unavailable.code, Message: unavailable.message, Status: unavailable.status}})
	case g.filterErr != nil:
		writeError(c.w, unavailable)
	case g.sse != nil && g.streamErr != nil:
		_ = g.sse.event(inference.ErrorResponse{Error: &inference.ErrorDetail{Code: failed.code, Message: failed.message, Status: failed.status}})
	case g.sse != nil:
		if g.p.includeUsage {
			_ = g.sse.event(g.p.resp.usageChunk(usage))
		}
		_ = g.sse.done()
	case startErr != nil:
		writeError(c.w, startErr)
	case g.streamErr != nil:
		writeError(c.w, failed)
	default:
		writeJSON(c.w, http.StatusOK, g.p.resp.final(g.choices, usage))
	}
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
