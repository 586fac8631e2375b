// Package loadgen drives a chat-completions endpoint (Azure AI Model
// Inference or OpenAI compatible) with streaming requests and measures what
// a client sees: time to first token, generated tokens and their rate. It is
// the client half of `maas bench serve`; it knows nothing of the server.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"maas/api/inference"
)

// APIVersion is the api-version query parameter sent with every request.
const APIVersion = "2024-05-01-preview"

// Target is one endpoint. URL is the endpoint's base URL (what `maas up`
// prints as "Endpoint URL", e.g. http://host/serverless/eastus2/phi-3);
// "/chat/completions" is appended. Key goes in "Authorization: Bearer".
type Target struct {
	URL    string
	Key    string
	Client *http.Client // nil: http.DefaultClient
}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one streaming chat completion, greedy (temperature 0), with a
// fixed max_tokens.
type Request struct {
	Messages  []Message
	MaxTokens int
}

// Result is what one request measured, client side. Durations count from
// Start, the moment before the request was sent.
type Result struct {
	Start time.Time
	// FirstToken is the time to the first chunk that carries generated text
	// or a finish reason (the role-only opening chunk does not count); 0 when
	// none came.
	FirstToken time.Duration
	// Total is the time to the end of the stream ([DONE] or EOF).
	Total time.Duration
	// PromptTokens and CompletionTokens are the server's usage when it sent
	// one; otherwise CompletionTokens counts content chunks and UsageSeen is
	// false.
	PromptTokens     int
	CompletionTokens int
	UsageSeen        bool
	Chunks           int // chunks with text
	FinishReason     string
	Text             string
}

// DecodeRate is the stream's generation rate after its first token, in
// tokens/s: (CompletionTokens-1) / (Total-FirstToken). It is 0 with fewer
// than two tokens.
func (r Result) DecodeRate() float64 {
	d := (r.Total - r.FirstToken).Seconds()
	if r.CompletionTokens < 2 || r.FirstToken <= 0 || d <= 0 {
		return 0
	}
	return float64(r.CompletionTokens-1) / d
}

// StatusError is a non-200 answer.
type StatusError struct {
	Status  int
	Code    string
	Message string
}

func (e *StatusError) Error() string {
	switch {
	case e.Code != "":
		return fmt.Sprintf("HTTP %d: %s: %s", e.Status, e.Code, e.Message)
	case e.Message != "":
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// chatBody is the wire request; nothing beyond the standard parameters.
type chatBody struct {
	Messages    []Message `json:"messages"`
	MaxTokens   int       `json:"max_tokens"`
	Temperature float64   `json:"temperature"`
	Stream      bool      `json:"stream"`
}

// Stream sends req with "stream": true and reads the server-sent events to
// the end. A cancelled ctx aborts the request and returns ctx's error.
func (t *Target) Stream(ctx context.Context, req Request) (Result, error) {
	if len(req.Messages) == 0 || req.MaxTokens <= 0 {
		return Result{}, errors.New("loadgen: a request needs messages and max_tokens > 0")
	}
	body, err := json.Marshal(chatBody{Messages: req.Messages, MaxTokens: req.MaxTokens, Stream: true})
	if err != nil {
		return Result{}, fmt.Errorf("encode request: %w", err)
	}
	u := strings.TrimRight(t.URL, "/") + "/chat/completions?api-version=" + APIVersion
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("build request for %s: %w", u, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "text/event-stream")
	if t.Key != "" {
		hr.Header.Set("Authorization", "Bearer "+t.Key)
	}
	client := t.Client
	if client == nil {
		client = http.DefaultClient
	}
	res := Result{Start: time.Now()}
	resp, err := client.Do(hr)
	if err != nil {
		return res, fmt.Errorf("POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return res, statusError(resp)
	}
	if err := readEvents(resp.Body, &res); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, fmt.Errorf("read stream from %s: %w", u, err)
	}
	return res, nil
}

// statusError reads an error body in the Azure/OpenAI shape.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &StatusError{Status: resp.StatusCode}
	var er inference.ErrorResponse
	if json.Unmarshal(b, &er) == nil && er.Error != nil {
		e.Code, e.Message = er.Error.Code, er.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(b))
	}
	return e
}

// streamChunk is a chat.completion.chunk or an in-stream error event.
type streamChunk struct {
	inference.ChatCompletionChunk
	Error *inference.ErrorDetail `json:"error"`
}

// readEvents parses "data:" lines until [DONE] or EOF, filling res.
func readEvents(r io.Reader, res *Result) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var text strings.Builder
	done := false
	for !done && sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // comments, event:, id:, blank separators
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			done = true
			break
		}
		var c streamChunk
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("decode event %.80q: %w", data, err)
		}
		if c.Error != nil {
			return fmt.Errorf("server error in stream: %s: %s", c.Error.Code, c.Error.Message)
		}
		now := time.Since(res.Start)
		for _, ch := range c.Choices {
			content := ch.Delta.Content != nil && *ch.Delta.Content != ""
			if content {
				res.Chunks++
				text.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				res.FinishReason = *ch.FinishReason
			}
			if res.FirstToken == 0 && (content || ch.FinishReason != nil) {
				res.FirstToken = now
			}
		}
		if c.Usage != nil {
			res.PromptTokens = int(c.Usage.PromptTokens)
			res.CompletionTokens = int(c.Usage.CompletionTokens)
			res.UsageSeen = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	res.Total = time.Since(res.Start)
	res.Text = text.String()
	if !res.UsageSeen {
		res.CompletionTokens = res.Chunks
	}
	if res.FinishReason == "" && !done {
		return errors.New("stream ended without a finish reason or [DONE]")
	}
	return nil
}
