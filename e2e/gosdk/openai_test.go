package gosdk

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

type target struct {
	url, key, uri string
}

func env(t *testing.T) target {
	t.Helper()
	tg := target{os.Getenv("MAAS_E2E_URL"), os.Getenv("MAAS_E2E_KEY"), os.Getenv("MAAS_E2E_ENDPOINT_URI")}
	if tg.url == "" || tg.key == "" || tg.uri == "" {
		t.Skip("MAAS_E2E_URL, MAAS_E2E_KEY and MAAS_E2E_ENDPOINT_URI are not set; e2e/run.sh sets them")
	}
	return tg
}

func client(base, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithRequestTimeout(2*time.Minute))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

func params(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are a helpful assistant."),
			openai.UserMessage("What is the capital of France?"),
		},
		MaxTokens:   openai.Int(12),
		Temperature: openai.Float(0),
		Seed:        openai.Int(7),
	}
}

func checkUsage(t *testing.T, u openai.CompletionUsage, maxCompletion int64) {
	t.Helper()
	if u.PromptTokens <= 0 || u.CompletionTokens <= 0 || u.CompletionTokens > maxCompletion ||
		u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage = %+v", u)
	}
}

// TestChatNonStreaming calls the endpoint URI as pasted, plus /v1, the way
// the OpenAI SDK is pointed at a serverless endpoint.
func TestChatNonStreaming(t *testing.T) {
	tg := env(t)
	c := client(strings.TrimRight(tg.uri, "/")+"/v1", tg.key)
	var raw *http.Response
	resp, err := c.Chat.Completions.New(ctx(t), params("ignored-on-endpoint-routes"), option.WithResponseInto(&raw))
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	if resp.Object != "chat.completion" || resp.ID == "" || resp.Created == 0 || resp.Model == "" || len(resp.Choices) != 1 {
		t.Errorf("response = %+v", resp)
	}
	ch := resp.Choices[0]
	if ch.Message.Role != "assistant" || (ch.FinishReason != "stop" && ch.FinishReason != "length") {
		t.Errorf("choice = %+v", ch)
	}
	checkUsage(t, resp.Usage, 12)
	for _, h := range []string{"x-request-id", "apim-request-id", "x-ratelimit-remaining-tokens", "x-ratelimit-limit-requests"} {
		if raw.Header.Get(h) == "" {
			t.Errorf("response header %s missing", h)
		}
	}
	t.Logf("model %s answered %q (%d+%d tokens)", resp.Model, ch.Message.Content, resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
}

// TestChatStreamingMatchesNonStreaming streams the same greedy request and
// checks the chunks add up to the non-streamed answer, with usage at the end.
func TestChatStreamingMatchesNonStreaming(t *testing.T) {
	tg := env(t)
	c := client(strings.TrimRight(tg.uri, "/")+"/v1", tg.key)
	want, err := c.Chat.Completions.New(ctx(t), params("x"))
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	p := params("x")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(ctx(t), p)
	acc := openai.ChatCompletionAccumulator{}
	chunks := 0
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Object != "chat.completion.chunk" {
			t.Errorf("chunk object %q", chunk.Object)
		}
		acc.AddChunk(chunk)
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if chunks < 3 {
		t.Errorf("%d chunks: want a role chunk, deltas and a final chunk", chunks)
	}
	got := acc.ChatCompletion
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != want.Choices[0].Message.Content ||
		got.Choices[0].FinishReason != want.Choices[0].FinishReason {
		t.Errorf("streamed %+v, non-streamed %+v", got.Choices, want.Choices)
	}
	checkUsage(t, got.Usage, 12)
	if got.Usage.CompletionTokens != want.Usage.CompletionTokens || got.Usage.PromptTokens != want.Usage.PromptTokens {
		t.Errorf("streamed usage %+v, non-streamed %+v", got.Usage, want.Usage)
	}
}

// TestGlobalRoutesSelectEndpointByKey uses the server-wide /v1 with the
// endpoint name as the model.
func TestGlobalRoutesSelectEndpointByKey(t *testing.T) {
	tg := env(t)
	c := client(strings.TrimRight(tg.url, "/")+"/v1", tg.key)
	page, err := c.Models.List(ctx(t))
	if err != nil {
		t.Fatalf("list models: %v", err)
	}
	if len(page.Data) != 1 || !strings.HasSuffix(strings.TrimRight(tg.uri, "/"), "/"+page.Data[0].ID) {
		t.Fatalf("models = %+v for endpoint %s", page.Data, tg.uri)
	}
	resp, err := c.Chat.Completions.New(ctx(t), params(page.Data[0].ID))
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	checkUsage(t, resp.Usage, 12)
	_, err = c.Chat.Completions.New(ctx(t), params("no-such-endpoint"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("a model the key cannot use: %v", err)
	}
}

func TestWrongKeyIsUnauthorized(t *testing.T) {
	tg := env(t)
	c := client(strings.TrimRight(tg.uri, "/")+"/v1", "not-a-key")
	_, err := c.Chat.Completions.New(ctx(t), params("x"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %v", err)
	}
}
