package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"maas/api/inference"
	"maas/internal/snapshot"
)

// chatInput is a decoded chat request plus what the schema keeps apart.
type chatInput struct {
	inference.ChatCompletionRequest
	maxCompletionTokens *int           // OpenAI's newer name for max_tokens
	pass                map[string]any // pass-through fields for an upstream model
}

func chatSchema(in *chatInput, s surface) schema {
	req := &in.ChatCompletionRequest
	std := map[string]any{
		"messages":          &req.Messages,
		"model":             &req.Model,
		"frequency_penalty": &req.FrequencyPenalty,
		"presence_penalty":  &req.PresencePenalty,
		"max_tokens":        &req.MaxTokens,
		"seed":              &req.Seed,
		"stop":              &req.Stop,
		"stream":            &req.Stream,
		"stream_options":    &req.StreamOptions,
		"temperature":       &req.Temperature,
		"top_p":             &req.TopP,
		"response_format":   &req.ResponseFormat,
		"tools":             &req.Tools,
		"tool_choice":       &req.ToolChoice,
	}
	extras := map[string]any{
		"logit_bias":   &req.LogitBias,
		"logprobs":     &req.Logprobs,
		"top_logprobs": &req.TopLogprobs,
		"n":            &req.N,
	}
	if s == surfaceOpenAI {
		for k, v := range extras {
			std[k] = v
		}
		extras = nil
		std["user"] = &req.User
		std["max_completion_tokens"] = &in.maxCompletionTokens
	}
	return schema{std: std, extras: extras}
}

// parseChat decodes and validates a chat request against the endpoint's model.
func (c *call) parseChat() (*chatInput, *apiError) {
	mode, e := parseExtraMode(c.r)
	if e != nil {
		return nil, e
	}
	fields, e := c.readBody()
	if e != nil {
		return nil, e
	}
	in := &chatInput{}
	in.pass, e = decode(fields, chatSchema(in, c.surface), mode, c.ep.Model.Upstream != "")
	if e != nil {
		return nil, e
	}
	req := &in.ChatCompletionRequest
	if in.maxCompletionTokens != nil {
		if req.MaxTokens != nil {
			return nil, badField("max_completion_tokens", "Set max_tokens or max_completion_tokens, not both.")
		}
		req.MaxTokens = in.maxCompletionTokens
	}
	if e := c.checkModelName(req.Model); e != nil {
		return nil, e
	}
	if e := checkMessages(req.Messages, c.ep.Model); e != nil {
		return nil, e
	}
	if e := checkSampling(samplingOf(req), c.g.opts.MaxChoices); e != nil {
		return nil, e
	}
	if req.TopLogprobs != nil {
		if *req.TopLogprobs < 0 || *req.TopLogprobs > 20 {
			return nil, invalidValue("invalid_value", "top_logprobs must be between 0 and 20.", *req.TopLogprobs, "top_logprobs")
		}
		if req.Logprobs == nil || !*req.Logprobs {
			return nil, invalidValue("invalid_value", "top_logprobs requires logprobs to be true.", *req.TopLogprobs, "top_logprobs")
		}
	}
	if e := checkCapabilities(req, c.ep.Model); e != nil {
		return nil, e
	}
	return in, nil
}

// checkModelName: on the global /v1 routes "model" may name the endpoint (or
// its model); on an endpoint's own routes it is ignored, as on Azure.
func (c *call) checkModelName(model string) *apiError {
	if model == "" || c.r.PathValue("name") != "" || c.surface != surfaceOpenAI {
		return nil
	}
	if _, _, host := c.g.hostEndpoint(c.r); host {
		return nil
	}
	if model == c.ep.Name || strings.EqualFold(model, c.ep.Model.Name) {
		return nil
	}
	e := errf(http.StatusNotFound, "model_not_found",
		"The model %q does not exist or this key cannot use it; this key opens endpoint %q.", model, c.ep.Name)
	e.param = "model"
	return e
}

func checkMessages(msgs []inference.ChatRequestMessage, m snapshot.Model) *apiError {
	if msgs == nil {
		return badField("messages", "'messages' is required.")
	}
	if len(msgs) == 0 {
		return invalidValue("invalid_value", "'messages' must hold at least one message.", []any{}, "messages")
	}
	for i, msg := range msgs {
		switch msg.Role {
		case inference.RoleSystem, inference.RoleUser, inference.RoleAssistant:
		case inference.RoleTool:
			if !m.Tools {
				return notSupported(msg.Role, "messages", i, "role")
			}
		default:
			return invalidValue("invalid_value", fmt.Sprintf("messages[%d].role must be system, user, assistant or tool.", i),
				msg.Role, "messages", i, "role")
		}
		if len(msg.ToolCalls) > 0 && string(msg.ToolCalls) != "null" && !m.Tools {
			return notSupported(json.RawMessage(msg.ToolCalls), "messages", i, "tool_calls")
		}
		for j, part := range msg.Content.Parts {
			switch part.Type {
			case "text":
			case "image", "image_url":
				return notSupported(part.Type, "messages", i, "content", j, "type")
			default:
				return invalidValue("invalid_value", fmt.Sprintf("messages[%d].content[%d].type must be text, image or image_url.", i, j),
					part.Type, "messages", i, "content", j, "type")
			}
		}
	}
	return nil
}

// sampling is what chat and text completion requests share.
type sampling struct {
	temperature, topP, presence, frequency *float64
	maxTokens, n                           *int
	stop                                   []string
	logitBias                              map[string]float64
}

func samplingOf(r *inference.ChatCompletionRequest) sampling {
	return sampling{r.Temperature, r.TopP, r.PresencePenalty, r.FrequencyPenalty, r.MaxTokens, r.N, r.Stop, r.LogitBias}
}

func checkSampling(s sampling, maxChoices int) *apiError {
	if v := s.temperature; v != nil && (*v < 0 || *v > 2) {
		return invalidValue("invalid_value", "temperature must be between 0 and 2.", *v, "temperature")
	}
	if v := s.topP; v != nil && (*v <= 0 || *v > 1) {
		return invalidValue("invalid_value", "top_p must be greater than 0 and at most 1.", *v, "top_p")
	}
	if v := s.presence; v != nil && (*v < -2 || *v > 2) {
		return invalidValue("invalid_value", "presence_penalty must be between -2 and 2.", *v, "presence_penalty")
	}
	if v := s.frequency; v != nil && (*v < -2 || *v > 2) {
		return invalidValue("invalid_value", "frequency_penalty must be between -2 and 2.", *v, "frequency_penalty")
	}
	if v := s.maxTokens; v != nil && *v < 1 {
		return invalidValue("invalid_value", "max_tokens must be at least 1.", *v, "max_tokens")
	}
	if v := s.n; v != nil && (*v < 1 || *v > maxChoices) {
		return invalidValue("invalid_value", fmt.Sprintf("n must be between 1 and %d.", maxChoices), *v, "n")
	}
	if len(s.stop) > 16 {
		return invalidValue("invalid_value", "stop holds at most 16 sequences.", len(s.stop), "stop")
	}
	for i, st := range s.stop {
		if st == "" {
			return invalidValue("invalid_value", "stop sequences must not be empty.", st, "stop", i)
		}
	}
	for k, v := range s.logitBias {
		if id, err := strconv.ParseInt(k, 10, 32); err != nil || id < 0 {
			return invalidValue("invalid_value", "logit_bias keys must be token ids.", k, "logit_bias", k)
		}
		if v < -100 || v > 100 {
			return invalidValue("invalid_value", "logit_bias values must be between -100 and 100.", v, "logit_bias", k)
		}
	}
	return nil
}

// checkCapabilities refuses what the catalog says the model cannot do.
func checkCapabilities(req *inference.ChatCompletionRequest, m snapshot.Model) *apiError {
	if present(req.Tools) && !m.Tools {
		var v any
		_ = json.Unmarshal(req.Tools, &v)
		return notSupported(v, "tools")
	}
	if present(req.ToolChoice) && !m.Tools {
		var v any
		_ = json.Unmarshal(req.ToolChoice, &v)
		if v != "none" {
			return notSupported(v, "tool_choice")
		}
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object", "json_schema":
			if !m.JSONMode {
				return notSupported(rf.Type, "response_format")
			}
		default:
			return invalidValue("invalid_value", "response_format.type must be text or json_object.", rf.Type, "response_format", "type")
		}
	}
	return nil
}

func present(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != "[]"
}

// foldMessages flattens content to text and, for models without a system
// role, turns system turns into user turns.
func foldMessages(msgs []inference.ChatRequestMessage, systemRole bool) []ChatMessage {
	out := make([]ChatMessage, 0, len(msgs))
	for _, m := range msgs {
		role := m.Role
		if role == inference.RoleSystem && !systemRole {
			role = inference.RoleUser
		}
		text := m.Content.Text
		if m.Content.Parts != nil {
			var b strings.Builder
			for _, p := range m.Content.Parts {
				b.WriteString(p.Text)
			}
			text = b.String()
		}
		out = append(out, ChatMessage{Role: role, Content: text})
	}
	return out
}

// budget returns max_tokens for a prompt of n tokens, checked against the
// context length; nil max means "up to the context length".
func budget(ctxLen, n int, max *int) (int, *apiError) {
	if n >= ctxLen {
		e := errf(http.StatusBadRequest, "context_length_exceeded",
			"This model's maximum context length is %d tokens. However, your prompt has %d tokens.", ctxLen, n)
		e.param = "messages"
		return 0, e
	}
	if max == nil {
		return ctxLen - n, nil
	}
	if n+*max > ctxLen {
		e := errf(http.StatusBadRequest, "context_length_exceeded",
			"This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the prompt, %d for the completion).",
			ctxLen, n+*max, n, *max)
		e.param = "max_tokens"
		return 0, e
	}
	return *max, nil
}

// genRequest fills the sampling part of a GenRequest.
func genRequest(s sampling, seed *int64, pass map[string]any) GenRequest {
	g := GenRequest{Temperature: 1, TopP: 1, Seed: seed, Stop: s.stop, Extra: pass}
	if s.temperature != nil {
		g.Temperature = *s.temperature
	}
	if s.topP != nil {
		g.TopP = *s.topP
	}
	if s.presence != nil {
		g.PresencePenalty = *s.presence
	}
	if s.frequency != nil {
		g.FrequencyPenalty = *s.frequency
	}
	if len(s.logitBias) > 0 {
		g.LogitBias = make(map[int32]float32, len(s.logitBias))
		for k, v := range s.logitBias {
			id, _ := strconv.ParseInt(k, 10, 32)
			g.LogitBias[int32(id)] = float32(v)
		}
	}
	return g
}

// serveChat answers POST /chat/completions.
func (g *Gateway) serveChat(c *call) *apiError {
	in, e := c.parseChat()
	if e != nil {
		return e
	}
	model, e := c.model()
	if e != nil {
		return e
	}
	req := &in.ChatCompletionRequest
	msgs := foldMessages(req.Messages, c.ep.Model.SystemRole)
	prompt, err := model.Prompt(msgs, c.ep.Model.SystemRole)
	if err != nil {
		return errf(http.StatusBadRequest, "invalid_request_error", "The messages cannot be rendered for this model: %v.", err)
	}
	if prompt.Count == 0 {
		prompt.Count = len(prompt.Tokens)
	}
	maxTokens, e := budget(model.ContextLength(), prompt.Count, req.MaxTokens)
	if e != nil {
		return e
	}
	gen := genRequest(samplingOf(req), req.Seed, in.pass)
	gen.Prompt, gen.Messages, gen.MaxTokens = prompt, msgs, maxTokens
	if req.Logprobs != nil && *req.Logprobs {
		gen.Logprobs = true
		if req.TopLogprobs != nil {
			gen.TopLogprobs = *req.TopLogprobs
		}
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
		resp:         &chatResponder{id: completionID("chatcmpl-"), created: c.start.Unix(), model: c.ep.Model.Name},
	})
}

// model gets the endpoint's model from the backend.
func (c *call) model() (Model, *apiError) {
	m, err := c.g.opts.Backend.Model(c.r.Context(), c.ep)
	if errors.Is(err, ErrQueueFull) || c.r.Context().Err() != nil {
		return nil, c.generateError(err)
	}
	if err != nil {
		c.log.Error("get model", "model", c.ep.Model.Name, "error", err)
		e := errf(http.StatusServiceUnavailable, "model_unavailable", "The model %q cannot be served right now.", c.ep.Model.Name)
		e.retryAfter = 5 * time.Second
		return nil, e
	}
	return m, nil
}

// chatResponder shapes chat completion responses.
type chatResponder struct {
	id      string
	created int64
	model   string
}

func (r *chatResponder) chunk(choices []inference.ChunkChoice, usage *inference.Usage) *inference.ChatCompletionChunk {
	return &inference.ChatCompletionChunk{ID: r.id, Object: inference.ObjectChatCompletionChunk, Created: r.created,
		Model: r.model, Choices: choices, Usage: usage}
}

func (r *chatResponder) roleChunk(i int) any {
	empty := ""
	return r.chunk([]inference.ChunkChoice{{Index: i, Delta: inference.ChunkDelta{Role: inference.RoleAssistant, Content: &empty}}}, nil)
}

func (r *chatResponder) deltaChunk(i int, ev Event) any {
	text := ev.Text
	ch := inference.ChunkChoice{Index: i, Delta: inference.ChunkDelta{Content: &text}}
	if len(ev.Logprobs) > 0 {
		ch.Logprobs = chatLogprobs(ev.Logprobs)
	}
	return r.chunk([]inference.ChunkChoice{ch}, nil)
}

func (r *chatResponder) finishChunk(i int, finish string, usage *inference.Usage) any {
	empty := ""
	return r.chunk([]inference.ChunkChoice{{Index: i, Delta: inference.ChunkDelta{Content: &empty}, FinishReason: &finish}}, usage)
}

func (r *chatResponder) usageChunk(usage inference.Usage) any {
	return r.chunk([]inference.ChunkChoice{}, &usage)
}

func (r *chatResponder) final(choices []choice, usage inference.Usage) any {
	out := &inference.ChatCompletion{ID: r.id, Object: inference.ObjectChatCompletion, Created: r.created, Model: r.model, Usage: &usage}
	for i := range choices {
		ch := &choices[i]
		cc := inference.ChatChoice{Index: i, FinishReason: ch.finish,
			Message: inference.ChatResponseMessage{Role: inference.RoleAssistant, Content: ch.text.String()}}
		if ch.logprobs != nil {
			cc.Logprobs = chatLogprobs(ch.logprobs)
		}
		out.Choices = append(out.Choices, cc)
	}
	return out
}

func chatLogprobs(lps []TokenLogprob) *inference.Logprobs {
	out := &inference.Logprobs{Content: make([]inference.TokenLogprob, len(lps))}
	for i, lp := range lps {
		t := inference.TokenLogprob{Token: lp.Token, Logprob: lp.Logprob, Bytes: byteList(lp.Token), TopLogprobs: []inference.TopLogprob{}}
		for _, alt := range lp.Top {
			t.TopLogprobs = append(t.TopLogprobs, inference.TopLogprob{Token: alt.Token, Logprob: alt.Logprob, Bytes: byteList(alt.Token)})
		}
		out.Content[i] = t
	}
	return out
}

func byteList(s string) []int {
	b := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = int(s[i])
	}
	return b
}
