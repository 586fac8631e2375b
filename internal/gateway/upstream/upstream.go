// Package upstream serves endpoints whose catalog model has an Upstream URL
// by proxying to an OpenAI-compatible server (vLLM, llama.cpp server). It is
// a gateway.Backend: the gateway still authenticates, checks, meters and
// shapes responses; this package only streams from the upstream.
package upstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"maas/internal/gateway"
	"maas/internal/snapshot"
)

// Backend proxies to OpenAI-compatible servers.
type Backend struct {
	client *http.Client
	apiKey string
}

// New returns a Backend that calls upstreams with client (nil:
// http.DefaultClient), sending apiKey as a bearer token when not empty.
func New(client *http.Client, apiKey string) *Backend {
	if client == nil {
		client = http.DefaultClient
	}
	return &Backend{client: client, apiKey: apiKey}
}

// Model implements gateway.Backend.
func (b *Backend) Model(_ context.Context, ep *snapshot.Endpoint) (gateway.Model, error) {
	if ep.Model.Upstream == "" {
		return nil, fmt.Errorf("upstream model for %q: %w: no upstream URL", ep.Name, gateway.ErrModelUnavailable)
	}
	name := ep.Model.UpstreamModel
	if name == "" {
		name = ep.Model.Name
	}
	ctxLen := ep.Model.ContextLength
	if ctxLen <= 0 {
		ctxLen = 4096
	}
	return &model{b: b, base: BaseURL(ep.Model.Upstream), name: name, ctxLen: ctxLen}, nil
}

// BaseURL normalizes an upstream URL to its OpenAI base ending in /v1.
func BaseURL(u string) string {
	u = strings.TrimRight(u, "/")
	if !strings.HasSuffix(u, "/v1") {
		u += "/v1"
	}
	return u
}

type model struct {
	b      *Backend
	base   string
	name   string
	ctxLen int
}

func (m *model) ContextLength() int { return m.ctxLen }

// Prompt estimates the prompt's tokens (about 4 bytes a token plus 4 per
// turn); the upstream's usage gives the real count at the end.
func (m *model) Prompt(msgs []gateway.ChatMessage, _ bool) (gateway.Prompt, error) {
	n := 2
	for _, msg := range msgs {
		n += 4 + estimate(msg.Content)
	}
	return gateway.Prompt{Count: n}, nil
}

func (m *model) PromptText(text string) (gateway.Prompt, error) {
	return gateway.Prompt{Count: 1 + estimate(text)}, nil
}

func estimate(s string) int { return (len(s) + 3) / 4 }

// Generate implements gateway.Model with one streamed upstream call.
func (m *model) Generate(ctx context.Context, req gateway.GenRequest) (gateway.GenStream, error) {
	chat := req.Messages != nil
	body := map[string]any{}
	for k, v := range req.Extra {
		body[k] = v
	}
	body["model"] = m.name
	body["max_tokens"] = req.MaxTokens
	body["temperature"] = req.Temperature
	body["top_p"] = req.TopP
	body["stream"] = true
	body["stream_options"] = map[string]any{"include_usage": true}
	if req.Seed != nil {
		body["seed"] = *req.Seed
	}
	if len(req.Stop) > 0 {
		body["stop"] = req.Stop
	}
	if req.PresencePenalty != 0 {
		body["presence_penalty"] = req.PresencePenalty
	}
	if req.FrequencyPenalty != 0 {
		body["frequency_penalty"] = req.FrequencyPenalty
	}
	if len(req.LogitBias) > 0 {
		lb := make(map[string]float32, len(req.LogitBias))
		for id, v := range req.LogitBias {
			lb[strconv.Itoa(int(id))] = v
		}
		body["logit_bias"] = lb
	}
	path := "/completions"
	if chat {
		path = "/chat/completions"
		msgs := make([]map[string]string, len(req.Messages))
		for i, msg := range req.Messages {
			msgs[i] = map[string]string{"role": msg.Role, "content": msg.Content}
		}
		body["messages"] = msgs
		if req.Logprobs {
			body["logprobs"] = true
			body["top_logprobs"] = req.TopLogprobs
		}
	} else {
		body["prompt"] = req.Text
		if req.Logprobs {
			body["logprobs"] = req.TopLogprobs
		}
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode upstream request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, m.base+path, bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("build upstream request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	if m.b.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+m.b.apiKey)
	}
	resp, err := m.b.client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("call upstream %s: %w", m.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		err := fmt.Errorf("upstream %s answered %d: %s", m.base, resp.StatusCode, bytes.TrimSpace(msg))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			return nil, fmt.Errorf("%w: %v", gateway.ErrQueueFull, err)
		}
		return nil, err
	}
	return &stream{body: resp.Body, sc: newScanner(resp.Body), chat: chat, promptCount: req.Prompt.Count}, nil
}

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	return sc
}

// stream turns the upstream's SSE chunks into gateway events.
type stream struct {
	body        io.ReadCloser
	sc          *bufio.Scanner
	chat        bool
	promptCount int
	finish      string
	usage       *gateway.Usage
	tokens      int
	done        bool
}

// chunk is the part of an OpenAI chat or text completion chunk we read.
type chunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
		Logprobs     *struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				TopLogprobs []struct {
					Token   string  `json:"token"`
					Logprob float64 `json:"logprob"`
				} `json:"top_logprobs"`
			} `json:"content"`
		} `json:"logprobs"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// Recv implements gateway.GenStream.
func (s *stream) Recv() (gateway.Event, error) {
	if s.done {
		return gateway.Event{}, io.EOF
	}
	for s.sc.Scan() {
		line := s.sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // comments, event names, blank separators
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			return s.final(), nil
		}
		var c chunk
		if err := json.Unmarshal(data, &c); err != nil {
			s.close()
			return gateway.Event{}, fmt.Errorf("decode upstream chunk %q: %w", truncate(data), err)
		}
		if len(c.Error) > 0 && string(c.Error) != "null" {
			s.close()
			return gateway.Event{}, fmt.Errorf("upstream error: %s", truncate(c.Error))
		}
		if c.Usage != nil {
			s.usage = &gateway.Usage{PromptTokens: c.Usage.PromptTokens, CompletionTokens: c.Usage.CompletionTokens}
		}
		if len(c.Choices) == 0 {
			continue
		}
		ch := c.Choices[0]
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			s.finish = *ch.FinishReason
		}
		text := ch.Delta.Content
		if !s.chat {
			text = ch.Text
		}
		ev := gateway.Event{Text: text}
		if ch.Logprobs != nil {
			for _, lp := range ch.Logprobs.Content {
				t := gateway.TokenLogprob{Token: lp.Token, Logprob: lp.Logprob}
				for _, alt := range lp.TopLogprobs {
					t.Top = append(t.Top, gateway.TopLogprob{Token: alt.Token, Logprob: alt.Logprob})
				}
				ev.Logprobs = append(ev.Logprobs, t)
			}
		}
		switch {
		case len(ev.Logprobs) > 0:
			ev.Tokens = len(ev.Logprobs)
		case text != "":
			ev.Tokens = 1 // one chunk per token is what OpenAI-compatible servers send
		}
		s.tokens += ev.Tokens
		if ev.Text != "" || ev.Tokens > 0 {
			return ev, nil
		}
	}
	err := s.sc.Err()
	s.close()
	if err != nil {
		return gateway.Event{}, fmt.Errorf("read upstream stream: %w", err)
	}
	if s.finish != "" {
		return s.final(), nil // ended without [DONE] but finished
	}
	return gateway.Event{}, errors.New("upstream stream ended before it finished")
}

func (s *stream) final() gateway.Event {
	s.close()
	u := gateway.Usage{PromptTokens: s.promptCount, CompletionTokens: s.tokens}
	if s.usage != nil {
		u = *s.usage
	}
	finish := s.finish
	if finish == "" {
		finish = "stop"
	}
	return gateway.Event{Done: true, Finish: finish, Usage: u}
}

func (s *stream) close() {
	if !s.done {
		s.done = true
		s.body.Close()
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "..."
	}
	return string(b)
}
