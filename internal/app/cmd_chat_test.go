package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"maas/internal/gateway"
	"maas/internal/snapshot"
)

// echoModel answers with the words of the last message, one token each.
type echoModel struct{ last []gateway.ChatMessage }

func (m *echoModel) Model(context.Context, *snapshot.Endpoint) (gateway.Model, error) { return m, nil }
func (m *echoModel) ContextLength() int                                               { return 4096 }
func (m *echoModel) PromptText(s string) (gateway.Prompt, error) {
	return gateway.Prompt{Count: 1}, nil
}
func (m *echoModel) Prompt(msgs []gateway.ChatMessage, _ bool) (gateway.Prompt, error) {
	m.last = msgs
	return gateway.Prompt{Count: 3 * len(msgs)}, nil
}

func (m *echoModel) Generate(ctx context.Context, req gateway.GenRequest) (gateway.GenStream, error) {
	words := strings.Fields("echo: " + req.Messages[len(req.Messages)-1].Content)
	return &echoStream{words: words, prompt: req.Prompt.Count}, nil
}

type echoStream struct {
	words  []string
	i      int
	prompt int
}

func (s *echoStream) Recv() (gateway.Event, error) {
	if s.i == len(s.words) {
		s.i++
		return gateway.Event{Done: true, Finish: "stop", Usage: gateway.Usage{PromptTokens: s.prompt, CompletionTokens: len(s.words)}}, nil
	}
	if s.i > len(s.words) {
		return gateway.Event{}, io.EOF
	}
	w := s.words[s.i]
	if s.i > 0 {
		w = " " + w
	}
	s.i++
	return gateway.Event{Text: w, Tokens: 1}, nil
}

func chatServer(t *testing.T) (*httptest.Server, *echoModel) {
	t.Helper()
	m := &echoModel{}
	h := &snapshot.Holder{}
	h.Store(snapshot.New(1, []*snapshot.Endpoint{{ID: "e", Name: "phi", Region: "eastus2", Online: true,
		Model: snapshot.Model{Name: "Phi-3-mini-4k-instruct"}, Keys: [2]snapshot.KeyHash{snapshot.HashKey("secret")}}}))
	g, err := gateway.New(gateway.Options{Holder: h, Backend: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, m
}

func runChatCmd(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	code := Main(context.Background(), append([]string{"chat"}, args...), env)
	return out.String(), errOut.String(), code
}

func TestChatOneShot(t *testing.T) {
	srv, _ := chatServer(t)
	for _, stream := range []string{"--stream=false", "--stream"} {
		out, errOut, code := runChatCmd(t, "", "--endpoint", srv.URL+"/serverless/eastus2/phi", "--key", "secret", stream, "hello", "there")
		if code != 0 || out != "echo: hello there\n" || !strings.Contains(errOut, "[3 prompt + 3 completion tokens, finish: stop]") {
			t.Errorf("%s: code %d out %q err %q", stream, code, out, errOut)
		}
	}
}

func TestChatConversationKeepsHistory(t *testing.T) {
	srv, m := chatServer(t)
	out, errOut, code := runChatCmd(t, "first\n\nsecond\n/reset\nthird\n",
		"--endpoint", srv.URL+"/serverless/eastus2/phi/", "--key", "secret", "--stream", "--system", "be kind")
	if code != 0 || out != "echo: first\necho: second\necho: third\n" {
		t.Fatalf("code %d out %q err %q", code, out, errOut)
	}
	// After /reset only the system message and "third" were sent.
	if len(m.last) != 2 || m.last[0].Content != "be kind" || m.last[1].Content != "third" {
		t.Errorf("last request = %+v", m.last)
	}
}

func TestChatErrors(t *testing.T) {
	srv, _ := chatServer(t)
	_, errOut, code := runChatCmd(t, "", "--endpoint", srv.URL+"/serverless/eastus2/phi", "--key", "wrong", "hi")
	if code != 1 || !strings.Contains(errOut, "401 unauthorized: Access token is missing or invalid") {
		t.Errorf("wrong key: code %d err %q", code, errOut)
	}
	_, _, code = runChatCmd(t, "", "hi")
	if code != 2 {
		t.Errorf("missing flags: code %d", code)
	}
}
