package gateway

import (
	"net/http"

	"maas/api/inference"
)

// completionInput is a decoded legacy text completion request.
type completionInput struct {
	inference.CompletionRequest
	echo *bool
	pass map[string]any
}

func completionSchema(in *completionInput, s surface) schema {
	req := &in.CompletionRequest
	std := map[string]any{
		"prompt":            &req.Prompt,
		"model":             &req.Model,
		"max_tokens":        &req.MaxTokens,
		"temperature":       &req.Temperature,
		"top_p":             &req.TopP,
		"stop":              &req.Stop,
		"stream":            &req.Stream,
		"stream_options":    &req.StreamOptions,
		"seed":              &req.Seed,
		"presence_penalty":  &req.PresencePenalty,
		"frequency_penalty": &req.FrequencyPenalty,
	}
	extras := map[string]any{
		"logit_bias": &req.LogitBias,
		"logprobs":   &req.Logprobs,
		"n":          &req.N,
	}
	if s == surfaceOpenAI {
		for k, v := range extras {
			std[k] = v
		}
		extras = nil
		std["user"] = &req.User
		std["echo"] = &in.echo
	}
	return schema{std: std, extras: extras}
}

func (c *call) parseCompletion() (*completionInput, *apiError) {
	mode, e := parseExtraMode(c.r)
	if e != nil {
		return nil, e
	}
	fields, e := c.readBody()
	if e != nil {
		return nil, e
	}
	if _, ok := fields["prompt"]; !ok {
		return nil, badField("prompt", "'prompt' is required.")
	}
	in := &completionInput{}
	in.pass, e = decode(fields, completionSchema(in, c.surface), mode, c.ep.Model.Upstream != "")
	if e != nil {
		return nil, e
	}
	req := &in.CompletionRequest
	if e := c.checkModelName(req.Model); e != nil {
		return nil, e
	}
	if in.echo != nil && *in.echo {
		return nil, notSupported(true, "echo")
	}
	s := sampling{req.Temperature, req.TopP, req.PresencePenalty, req.FrequencyPenalty, req.MaxTokens, req.N, req.Stop, req.LogitBias}
	if e := checkSampling(s, c.g.opts.MaxChoices); e != nil {
		return nil, e
	}
	if v := req.Logprobs; v != nil && (*v < 0 || *v > 5) {
		return nil, invalidValue("invalid_value", "logprobs must be between 0 and 5.", *v, "logprobs")
	}
	return in, nil
}

// serveCompletion answers POST /completions (legacy text completion).
func (g *Gateway) serveCompletion(c *call) *apiError {
	in, e := c.parseCompletion()
	if e != nil {
		return e
	}
	model, e := c.model()
	if e != nil {
		return e
	}
	req := &in.CompletionRequest
	prompt, err := model.PromptText(string(req.Prompt))
	if err != nil {
		return errf(http.StatusBadRequest, "invalid_request_error", "The prompt cannot be tokenized: %v.", err)
	}
	if prompt.Count == 0 {
		prompt.Count = len(prompt.Tokens)
	}
	// Legacy default: 16 tokens.
	if req.MaxTokens == nil {
		def := min(16, max(1, model.ContextLength()-prompt.Count))
		req.MaxTokens = &def
	}
	maxTokens, e := budget(model.ContextLength(), prompt.Count, req.MaxTokens)
	if e != nil {
		return e
	}
	s := sampling{req.Temperature, req.TopP, req.PresencePenalty, req.FrequencyPenalty, req.MaxTokens, req.N, req.Stop, req.LogitBias}
	gen := genRequest(s, req.Seed, in.pass)
	gen.Prompt, gen.Text, gen.MaxTokens = prompt, string(req.Prompt), maxTokens
	if req.Logprobs != nil {
		gen.Logprobs, gen.TopLogprobs = true, *req.Logprobs
	}
	n := 1
	if req.N != nil {
		n = *req.N
	}
	return c.generate(genPlan{
		model:        model,
		req:          gen,
		n:            n,
		stream:       req.Stream,
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		resp:         &completionResponder{id: completionID("cmpl-"), created: c.start.Unix(), model: c.ep.Model.Name},
	})
}

// completionResponder shapes text completion responses.
type completionResponder struct {
	id      string
	created int64
	model   string
}

func (r *completionResponder) body(choices []inference.CompletionChoice, usage *inference.Usage) *inference.Completion {
	return &inference.Completion{ID: r.id, Object: inference.ObjectTextCompletion, Created: r.created, Model: r.model,
		Choices: choices, Usage: usage}
}

func (r *completionResponder) roleChunk(int) any { return nil }

func (r *completionResponder) deltaChunk(i int, ev Event) any {
	ch := inference.CompletionChoice{Index: i, Text: ev.Text}
	if len(ev.Logprobs) > 0 {
		ch.Logprobs = legacyLogprobs(ev.Logprobs)
	}
	return r.body([]inference.CompletionChoice{ch}, nil)
}

func (r *completionResponder) finishChunk(i int, finish string, usage *inference.Usage) any {
	return r.body([]inference.CompletionChoice{{Index: i, FinishReason: &finish}}, usage)
}

func (r *completionResponder) usageChunk(usage inference.Usage) any {
	return r.body([]inference.CompletionChoice{}, &usage)
}

func (r *completionResponder) final(choices []choice, usage inference.Usage) any {
	out := r.body(nil, &usage)
	for i := range choices {
		finish := choices[i].finish
		ch := inference.CompletionChoice{Index: i, Text: choices[i].text.String(), FinishReason: &finish}
		if choices[i].logprobs != nil {
			ch.Logprobs = legacyLogprobs(choices[i].logprobs)
		}
		out.Choices = append(out.Choices, ch)
	}
	return out
}

func legacyLogprobs(lps []TokenLogprob) *inference.CompletionLogprobs {
	out := &inference.CompletionLogprobs{}
	off := 0
	for _, lp := range lps {
		out.Tokens = append(out.Tokens, lp.Token)
		out.TokenLogprobs = append(out.TokenLogprobs, lp.Logprob)
		top := make(map[string]float64, len(lp.Top))
		for _, alt := range lp.Top {
			top[alt.Token] = alt.Logprob
		}
		out.TopLogprobs = append(out.TopLogprobs, top)
		out.TextOffset = append(out.TextOffset, off)
		off += len(lp.Token)
	}
	return out
}
