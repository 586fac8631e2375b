package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"maas/api/inference"
)

// runChat talks to a serverless endpoint: one-shot when the message is given
// as arguments, otherwise a conversation read line by line from stdin.
func runChat(ctx context.Context, args []string, env Env) error {
	fs := newFlags("chat", env)
	endpoint := fs.String("endpoint", env.Getenv("MAAS_ENDPOINT"), "endpoint URI, e.g. http://127.0.0.1:8080/serverless/eastus2/my-phi (env MAAS_ENDPOINT)")
	key := fs.String("key", env.Getenv("MAAS_ENDPOINT_KEY"), "endpoint key (env MAAS_ENDPOINT_KEY)")
	stream := fs.Bool("stream", false, "stream tokens as they are generated")
	system := fs.String("system", "", "system message")
	maxTokens := fs.Int("max-tokens", 0, "most tokens per answer (0: the model's limit)")
	temperature := fs.Float64("temperature", -1, "sampling temperature in [0, 2] (-1: the model's default)")
	seed := fs.Int64("seed", -1, "sampling seed (-1: none)")
	apiVersion := fs.String("api-version", "2024-05-01-preview", "api-version query parameter")
	timeout := fs.Duration("timeout", 10*time.Minute, "limit for one answer")
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, "Usage: maas chat --endpoint URL --key KEY [--stream] [flags] [MESSAGE...]\n\n"+
			"With MESSAGE, sends it and prints the answer; without, reads one message per line from stdin\n"+
			"(/reset forgets the conversation, /exit or end of input stops).\n\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *endpoint == "" || *key == "" {
		fs.Usage()
		return fmt.Errorf("%w: --endpoint and --key are required", errUsage)
	}
	if *temperature > 2 {
		return fmt.Errorf("%w: --temperature must be at most 2", errUsage)
	}
	c := &chatClient{
		url:     strings.TrimRight(*endpoint, "/") + "/chat/completions",
		key:     *key,
		stream:  *stream,
		timeout: *timeout,
		out:     env.Stdout,
		errOut:  env.Stderr,
	}
	if *apiVersion != "" {
		c.url += "?api-version=" + url.QueryEscape(*apiVersion)
	}
	base := inference.ChatCompletionRequest{Stream: *stream}
	if *maxTokens > 0 {
		base.MaxTokens = maxTokens
	}
	if *temperature >= 0 {
		base.Temperature = temperature
	}
	if *seed >= 0 {
		base.Seed = seed
	}
	var history []inference.ChatRequestMessage
	if *system != "" {
		history = append(history, inference.ChatRequestMessage{Role: "system", Content: inference.MessageContent{Text: *system}})
	}
	start := len(history)

	if fs.NArg() > 0 {
		msgs := append(history, inference.ChatRequestMessage{Role: "user", Content: inference.MessageContent{Text: strings.Join(fs.Args(), " ")}})
		_, err := c.send(ctx, base, msgs)
		return err
	}
	sc := bufio.NewScanner(env.Stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for {
		fmt.Fprint(env.Stderr, "> ")
		if !sc.Scan() {
			fmt.Fprintln(env.Stderr)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "/exit", "/quit":
			return nil
		case "/reset":
			history = history[:start]
			continue
		}
		history = append(history, inference.ChatRequestMessage{Role: "user", Content: inference.MessageContent{Text: line}})
		answer, err := c.send(ctx, base, history)
		if err != nil {
			history = history[:len(history)-1]
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "error: %v\n", err)
			continue
		}
		history = append(history, inference.ChatRequestMessage{Role: "assistant", Content: inference.MessageContent{Text: answer}})
	}
}

// chatClient sends chat completions to one endpoint.
type chatClient struct {
	url     string
	key     string
	stream  bool
	timeout time.Duration
	out     io.Writer
	errOut  io.Writer
}

// send posts one request, prints the answer (as it streams, with --stream)
// and a usage line on stderr, and returns the answer.
func (c *chatClient) send(ctx context.Context, req inference.ChatCompletionRequest, msgs []inference.ChatRequestMessage) (string, error) {
	req.Messages = msgs
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("call %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", responseError(resp)
	}
	if !c.stream {
		var cc inference.ChatCompletion
		if err := json.NewDecoder(resp.Body).Decode(&cc); err != nil {
			return "", fmt.Errorf("decode response: %w", err)
		}
		if len(cc.Choices) == 0 {
			return "", errors.New("the response has no choices")
		}
		answer := cc.Choices[0].Message.Content
		fmt.Fprintln(c.out, answer)
		c.printUsage(cc.Usage, cc.Choices[0].FinishReason)
		return answer, nil
	}
	return c.readStream(resp.Body)
}

// readStream prints the deltas of a chat completion event stream.
func (c *chatClient) readStream(r io.Reader) (string, error) {
	var answer strings.Builder
	var usage *inference.Usage
	finish := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			fmt.Fprintln(c.out)
			c.printUsage(usage, finish)
			return answer.String(), nil
		}
		var chunk struct {
			inference.ChatCompletionChunk
			Error *inference.ErrorDetail `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return answer.String(), fmt.Errorf("decode event %q: %w", data, err)
		}
		if chunk.Error != nil {
			return answer.String(), fmt.Errorf("the endpoint failed mid-stream: %s", chunk.Error.Message)
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Content != nil {
				fmt.Fprint(c.out, *ch.Delta.Content)
				answer.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	if err := sc.Err(); err != nil {
		return answer.String(), fmt.Errorf("read event stream: %w", err)
	}
	return answer.String(), errors.New("the event stream ended without [DONE]")
}

func (c *chatClient) printUsage(u *inference.Usage, finish string) {
	if u == nil {
		return
	}
	fmt.Fprintf(c.errOut, "[%d prompt + %d completion tokens, finish: %s]\n", u.PromptTokens, u.CompletionTokens, finish)
}

// responseError turns an error response into an error with its message.
func responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var er inference.ErrorResponse
	if json.Unmarshal(b, &er) == nil && er.Error != nil && er.Error.Message != "" {
		msg := fmt.Sprintf("endpoint answered %d %s: %s", resp.StatusCode, er.Error.Code, er.Error.Message)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			msg += " (retry after " + ra + " s)"
		}
		return errors.New(msg)
	}
	return fmt.Errorf("endpoint answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
}
