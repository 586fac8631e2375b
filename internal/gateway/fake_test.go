package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"maas/internal/snapshot"
)

// fakeModel is a deterministic model: a prompt token per word (plus 3 per
// message), and a reply of fixed words, one token each.
type fakeModel struct {
	ctxLen    int
	reply     []string
	queueFull bool
	failAfter int           // > 0: Generate calls after this many fail with ErrQueueFull
	failAt    int           // > 0: Recv fails when this many tokens were generated
	hold      chan struct{} // when set, each token waits for a receive from it (or cancellation)

	mu        sync.Mutex
	lastMsgs  []ChatMessage
	lastReq   GenRequest
	seeds     []int64       // seed of each generation, -1 for none
	cancelled chan struct{} // closed when a held generation sees its context end
	started   int
}

type fakeBackend struct{ m *fakeModel }

func (b fakeBackend) Model(context.Context, *snapshot.Endpoint) (Model, error) { return b.m, nil }

func (b fakeBackend) QueueLengths() map[string]int {
	return map[string]int{"Phi-3-mini-4k-instruct": 0}
}

func (m *fakeModel) ContextLength() int { return m.ctxLen }

func (m *fakeModel) Prompt(msgs []ChatMessage, systemRole bool) (Prompt, error) {
	m.mu.Lock()
	m.lastMsgs = msgs
	m.mu.Unlock()
	n := 1
	for _, msg := range msgs {
		if msg.Role == "system" && !systemRole {
			return Prompt{}, io.ErrUnexpectedEOF
		}
		n += 3 + len(strings.Fields(msg.Content))
	}
	return Prompt{Tokens: make([]int32, n), Count: n}, nil
}

func (m *fakeModel) PromptText(text string) (Prompt, error) {
	n := 1 + len(strings.Fields(text))
	return Prompt{Tokens: make([]int32, n), Count: n}, nil
}

func (m *fakeModel) Generate(ctx context.Context, req GenRequest) (GenStream, error) {
	if m.queueFull {
		return nil, ErrQueueFull
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter > 0 && m.started >= m.failAfter {
		return nil, ErrQueueFull
	}
	m.lastReq = req
	m.started++
	seed := int64(-1)
	if req.Seed != nil {
		seed = *req.Seed
	}
	m.seeds = append(m.seeds, seed)
	return &fakeStream{m: m, ctx: ctx, req: req}, nil
}

type fakeStream struct {
	m    *fakeModel
	ctx  context.Context
	req  GenRequest
	i    int
	done bool
}

func (s *fakeStream) Recv() (Event, error) {
	if s.done {
		return Event{}, io.EOF
	}
	final := func(finish string) (Event, error) {
		s.done = true
		return Event{Done: true, Finish: finish, Usage: Usage{PromptTokens: s.req.Prompt.Count, CompletionTokens: s.i}}, nil
	}
	if s.i >= len(s.m.reply) {
		return final("stop")
	}
	if s.i >= s.req.MaxTokens {
		return final("length")
	}
	if s.m.hold != nil {
		select {
		case <-s.m.hold:
		case <-s.ctx.Done():
			if s.m.cancelled != nil {
				close(s.m.cancelled)
			}
			return final("cancelled")
		}
	}
	if s.ctx.Err() != nil {
		return final("cancelled")
	}
	if s.m.failAt > 0 && s.i == s.m.failAt {
		s.done = true
		return Event{}, errors.New("kernel exploded")
	}
	w := s.m.reply[s.i]
	if s.i > 0 {
		w = " " + w
	}
	s.i++
	ev := Event{Text: w, Tokens: 1}
	if s.req.Logprobs {
		lp := TokenLogprob{Token: w, Logprob: -0.5}
		for k := 0; k < s.req.TopLogprobs; k++ {
			lp.Top = append(lp.Top, TopLogprob{Token: w, Logprob: -0.5 - float64(k)})
		}
		ev.Logprobs = []TokenLogprob{lp}
	}
	return ev, nil
}

// sink collects usage records.
type sink struct {
	mu   sync.Mutex
	recs []snapshot.UsageRecord
}

func (s *sink) Record(r snapshot.UsageRecord) {
	s.mu.Lock()
	s.recs = append(s.recs, r)
	s.mu.Unlock()
}

func (s *sink) all() []snapshot.UsageRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]snapshot.UsageRecord(nil), s.recs...)
}

const (
	testKey      = "k1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	testKey2     = "k2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	otherKey     = "k3cccccccccccccccccccccccccccccc"
	testModel    = "Phi-3-mini-4k-instruct"
	testEndpoint = "/serverless/eastus2/phi"
)

type env struct {
	t     *testing.T
	srv   *httptest.Server
	gw    *Gateway
	model *fakeModel
	usage *sink
	ep    *snapshot.Endpoint
}

type envOption func(*Options, *snapshot.Endpoint, *fakeModel)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	m := &fakeModel{ctxLen: 4096, reply: strings.Fields("Paris is the capital of France .")}
	ep := &snapshot.Endpoint{
		ID: "ep-1", Name: "phi", Region: "eastus2", Hub: "hub1", Project: "proj1", Online: true,
		Model: snapshot.Model{Name: testModel, ContextLength: 4096, InputPer1K: 0.13, OutputPer1K: 0.52, Provider: "Microsoft"},
		Keys:  [2]snapshot.KeyHash{snapshot.HashKey(testKey), snapshot.HashKey(testKey2)},
	}
	other := &snapshot.Endpoint{
		ID: "ep-2", Name: "other", Region: "eastus2", Project: "proj2", Online: true,
		Model: snapshot.Model{Name: testModel, ContextLength: 4096},
		Keys:  [2]snapshot.KeyHash{snapshot.HashKey(otherKey)},
	}
	u := &sink{}
	o := Options{Holder: &snapshot.Holder{}, Backend: fakeBackend{m}, Usage: u,
		Logger: discardLogger()}
	for _, f := range opts {
		f(&o, ep, m)
	}
	o.Holder.Store(snapshot.New(1, []*snapshot.Endpoint{ep, other}))
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, gw: g, model: m, usage: u, ep: ep}
}

// do sends a request with the test key and returns the response and body.
func (e *env) do(method, path, body string, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", testKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func decodeJSON[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// sseEvents splits a data-only SSE body into its data payloads.
func sseEvents(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not a data line", line)
		}
		out = append(out, data)
	}
	return out
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
