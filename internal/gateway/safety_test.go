package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"maas/api/inference"
	"maas/internal/snapshot"
)

// fakeFilter rates whole words: each word in sev gets that severity under
// Violence. It records every text it rated.
type fakeFilter struct {
	sev      map[string]int
	failFrom int // > 0: this call and every later one fail

	mu    sync.Mutex
	texts []string
}

func (f *fakeFilter) Analyze(_ context.Context, text string) ([]CategorySeverity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.texts = append(f.texts, text)
	if f.failFrom > 0 && len(f.texts) >= f.failFrom {
		return nil, errors.New("content safety service down")
	}
	worst := SeveritySafe
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !isWordRune(r) }) {
		worst = max(worst, f.sev[w])
	}
	return []CategorySeverity{{CategoryHate, 0}, {CategorySelfHarm, 0}, {CategorySexual, 0}, {CategoryViolence, worst}}, nil
}

func (f *fakeFilter) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.texts...)
}

// withFilter turns content safety on for the test endpoint with f.
func withFilter(f *fakeFilter) envOption {
	return func(o *Options, ep *snapshot.Endpoint, _ *fakeModel) {
		o.ContentFilter = f
		ep.ContentSafety = true
	}
}

func newFilter() *fakeFilter {
	return &fakeFilter{sev: map[string]int{"badword": SeverityHigh, "meh": SeverityLow}}
}

const badPrompt = `{"messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"Say BadWord please"}]}`

func TestPromptFiltered(t *testing.T) {
	f := newFilter()
	e := newEnv(t, withFilter(f))
	resp, body := e.do("POST", testEndpoint+"/chat/completions?api-version=2024-05-01-preview", badPrompt)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "content_filter" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	// The spec's nested shape: code, message, param, status and type (null).
	var raw map[string]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	er := raw["error"]
	typ, hasType := er["type"]
	if er["code"] != "content_filter" || er["param"] != "prompt" || er["status"] != float64(400) || !hasType || typ != nil ||
		!strings.Contains(er["message"].(string), "Violence") {
		t.Errorf("error body = %s", body)
	}
	if e.model.started != 0 {
		t.Errorf("the model generated for a filtered prompt")
	}
	if got := f.calls(); len(got) != 1 || got[0] != "Be kind.\nSay BadWord please" {
		t.Errorf("filter saw %q", got)
	}
	// Blocked content is still charged: the prompt tokens, status 400.
	recs := e.usage.all()
	if len(recs) != 1 || recs[0].Status != 400 || recs[0].FinishReason != "content_filter" || recs[0].PromptTokens != 12 ||
		recs[0].CompletionTokens != 0 || recs[0].InputCost == 0 {
		t.Errorf("records = %+v", recs)
	}
	// Text completions are filtered too; a low severity passes.
	resp, body = e.do("POST", testEndpoint+"/completions", `{"prompt":"a badword here"}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"code":"content_filter"`) {
		t.Errorf("completions: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"meh"}]}`)
	if resp.StatusCode != 200 {
		t.Errorf("low severity: %d %s", resp.StatusCode, body)
	}
	_, metrics := e.do("GET", "/metrics", "")
	want := `maas_content_filtered_total{endpoint="eastus2/phi",kind="prompt",category="Violence"} 2`
	if !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %q:\n%s", want, metrics)
	}
}

func TestCompletionFilteredNonStreaming(t *testing.T) {
	f := newFilter()
	e := newEnv(t, withFilter(f), func(_ *Options, _ *snapshot.Endpoint, m *fakeModel) {
		m.reply = strings.Fields("fine words then badword and more")
	})
	resp, body := e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"logprobs":true}`,
		"extra-parameters", "pass-through")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	c := decodeJSON[inference.ChatCompletion](t, body)
	if len(c.Choices) != 1 || c.Choices[0].FinishReason != "content_filter" || c.Choices[0].Message.Content != "" ||
		c.Choices[0].Logprobs != nil || strings.Contains(string(body), "badword") {
		t.Errorf("response = %s", body)
	}
	if c.Usage == nil || c.Usage.CompletionTokens != 6 {
		t.Errorf("usage = %+v", c.Usage)
	}
	if got := f.calls(); len(got) != 2 || got[1] != "fine words then badword and more" {
		t.Errorf("filter saw %q", got)
	}
	recs := e.usage.all()
	if len(recs) != 1 || recs[0].Status != 200 || recs[0].FinishReason != "content_filter" || recs[0].CompletionTokens != 6 {
		t.Errorf("records = %+v", recs)
	}
	_, metrics := e.do("GET", "/metrics", "")
	want := `maas_content_filtered_total{endpoint="eastus2/phi",kind="completion",category="Violence"} 1`
	if !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %q", want)
	}
	// A clean completion is untouched.
	e.model.reply = strings.Fields("all fine here")
	_, body = e.do("POST", testEndpoint+"/completions", `{"prompt":"Hi"}`)
	cc := decodeJSON[inference.Completion](t, body)
	if len(cc.Choices) != 1 || cc.Choices[0].Text != "all fine here" || *cc.Choices[0].FinishReason != "stop" {
		t.Errorf("clean completion = %s", body)
	}
}

// streamText joins the streamed content of choice 0 and returns its finish
// reason and the usage seen.
func streamText(t *testing.T, body []byte) (text, finish string, usage *inference.Usage, last string) {
	t.Helper()
	evs := sseEvents(t, body)
	for _, d := range evs {
		if d == "[DONE]" || strings.Contains(d, `"error"`) {
			continue
		}
		c := decodeJSON[inference.ChatCompletionChunk](t, []byte(d))
		if c.Usage != nil {
			usage = c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				text += *ch.Delta.Content
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	return text, finish, usage, evs[len(evs)-1]
}

func TestCompletionFilteredStreaming(t *testing.T) {
	f := newFilter()
	reply := strings.Fields(strings.Repeat("fine ", 60) + "badword " + strings.Repeat("after ", 200))
	e := newEnv(t, withFilter(f), func(_ *Options, _ *snapshot.Endpoint, m *fakeModel) { m.reply = reply })
	resp, body := e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	text, finish, usage, last := streamText(t, body)
	if strings.Contains(string(body), "badword") || strings.Contains(string(body), "after") {
		t.Fatalf("flagged text was sent: %s", body)
	}
	// The first check (after 200 bytes) passed the text before it.
	if !strings.HasPrefix(text, "fine fine") || strings.Trim(strings.ReplaceAll(text, "fine", ""), " ") != "" {
		t.Errorf("streamed text %q", text)
	}
	if finish != "content_filter" || last != "[DONE]" {
		t.Errorf("finish %q, last event %q", finish, last)
	}
	// Generation stopped soon after the flag; what ran is charged.
	recs := e.usage.all()
	if len(recs) != 1 || recs[0].Status != 200 || recs[0].FinishReason != "content_filter" ||
		recs[0].CompletionTokens >= int64(len(reply)) || recs[0].CompletionTokens < 61 {
		t.Fatalf("records = %+v", recs)
	}
	if usage == nil || usage.CompletionTokens != recs[0].CompletionTokens {
		t.Errorf("usage chunk %+v, record %d", usage, recs[0].CompletionTokens)
	}
	// Every check after the first saw the held text with the text before it.
	calls := f.calls()
	if len(calls) < 3 || !strings.HasPrefix(calls[1], "fine fine") {
		t.Errorf("filter calls %q", calls)
	}
}

// pieceModel streams fixed pieces of text verbatim, one token each.
type pieceModel struct{ pieces []string }

func (m *pieceModel) ContextLength() int { return 4096 }
func (m *pieceModel) Prompt([]ChatMessage, bool) (Prompt, error) {
	return Prompt{Tokens: make([]int32, 4), Count: 4}, nil
}
func (m *pieceModel) PromptText(string) (Prompt, error) {
	return Prompt{Tokens: make([]int32, 4), Count: 4}, nil
}
func (m *pieceModel) Generate(ctx context.Context, _ GenRequest) (GenStream, error) {
	return &pieceStream{m: m, ctx: ctx}, nil
}

type pieceStream struct {
	m   *pieceModel
	ctx context.Context
	i   int
}

func (s *pieceStream) Recv() (Event, error) {
	switch {
	case s.i > len(s.m.pieces):
		return Event{}, io.EOF
	case s.ctx.Err() != nil:
		s.i = len(s.m.pieces) + 1
		return Event{Done: true, Finish: "cancelled"}, nil
	case s.i == len(s.m.pieces):
		s.i++
		return Event{Done: true, Finish: "stop", Usage: Usage{PromptTokens: 4, CompletionTokens: len(s.m.pieces)}}, nil
	}
	s.i++
	return Event{Text: s.m.pieces[s.i-1], Tokens: 1}, nil
}

type pieceBackend struct{ m *pieceModel }

func (b pieceBackend) Model(context.Context, *snapshot.Endpoint) (Model, error) { return b.m, nil }

// A word cut across two checks is held until it is whole: "bad" is never
// sent although the check that saw it passed. Text is held and released by
// whole events, so the rest of the event that holds "bad" goes too.
func TestStreamingHoldsCutWords(t *testing.T) {
	f := newFilter()
	pm := &pieceModel{pieces: []string{"Hello there my fri", "end. You are a bad", "word person", " indeed."}}
	e := newEnv(t, withFilter(f), func(o *Options, _ *snapshot.Endpoint, _ *fakeModel) {
		o.Backend, o.FilterChunk = pieceBackend{pm}, 10
	})
	_, body := e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`)
	text, finish, _, _ := streamText(t, body)
	if text != "Hello there my fri" || finish != "content_filter" {
		t.Errorf("streamed %q, finish %q", text, finish)
	}
	// The same pieces without the flagged word stream whole.
	pm.pieces = []string{"Hello there my fri", "end. You are a go", "od person", " indeed."}
	_, body = e.do("POST", testEndpoint+"/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`)
	text, finish, _, _ = streamText(t, body)
	if text != "Hello there my friend. You are a good person indeed." || finish != "stop" {
		t.Errorf("streamed %q, finish %q", text, finish)
	}
}

func TestFilterSkipped(t *testing.T) {
	t.Run("openai routes", func(t *testing.T) {
		f := newFilter()
		e := newEnv(t, withFilter(f))
		for _, path := range []string{testEndpoint + "/v1/chat/completions", "/v1/chat/completions"} {
			if resp, body := e.do("POST", path, badPrompt); resp.StatusCode != 200 {
				t.Errorf("%s: %d %s", path, resp.StatusCode, body)
			}
		}
		if resp, body := e.do("POST", testEndpoint+"/v1/completions", `{"prompt":"badword"}`); resp.StatusCode != 200 {
			t.Errorf("/v1/completions: %d %s", resp.StatusCode, body)
		}
		if n := len(f.calls()); n != 0 {
			t.Errorf("filter called %d times", n)
		}
	})
	t.Run("content safety disabled", func(t *testing.T) {
		f := newFilter()
		e := newEnv(t, withFilter(f), func(_ *Options, ep *snapshot.Endpoint, _ *fakeModel) { ep.ContentSafety = false })
		if resp, body := e.do("POST", testEndpoint+"/chat/completions", badPrompt); resp.StatusCode != 200 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
		if n := len(f.calls()); n != 0 {
			t.Errorf("filter called %d times", n)
		}
	})
	t.Run("no filter configured", func(t *testing.T) {
		e := newEnv(t, func(_ *Options, ep *snapshot.Endpoint, _ *fakeModel) { ep.ContentSafety = true })
		if resp, body := e.do("POST", testEndpoint+"/chat/completions", badPrompt); resp.StatusCode != 200 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestFilterOutage(t *testing.T) {
	t.Run("prompt", func(t *testing.T) {
		f := newFilter()
		f.failFrom = 1
		e := newEnv(t, withFilter(f))
		resp, body := e.do("POST", testEndpoint+"/chat/completions", hello)
		if resp.StatusCode != 503 || resp.Header.Get("x-ms-error-code") != "content_filter_unavailable" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
		if e.model.started != 0 || len(e.usage.all()) != 0 {
			t.Errorf("model started %d, records %+v", e.model.started, e.usage.all())
		}
		_, metrics := e.do("GET", "/metrics", "")
		if !strings.Contains(string(metrics), `maas_content_filter_errors_total{endpoint="eastus2/phi"} 1`) {
			t.Errorf("metrics:\n%s", metrics)
		}
	})
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("completion, stream=", stream), func(t *testing.T) {
			f := newFilter()
			f.failFrom = 2 // the prompt passes; the completion cannot be rated
			e := newEnv(t, withFilter(f))
			resp, body := e.do("POST", testEndpoint+"/chat/completions",
				fmt.Sprintf(`{"messages":[{"role":"user","content":"Hi"}],"stream":%v}`, stream))
			if strings.Contains(string(body), "Paris") {
				t.Errorf("unrated text was sent: %s", body)
			}
			if stream {
				evs := sseEvents(t, body)
				if resp.StatusCode != 200 || !strings.Contains(evs[len(evs)-1], `"code":"content_filter_unavailable"`) ||
					strings.Contains(string(body), "[DONE]") {
					t.Errorf("stream: %s", body)
				}
			} else if resp.StatusCode != 503 || resp.Header.Get("x-ms-error-code") != "content_filter_unavailable" {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
			if recs := e.usage.all(); len(recs) != 1 || recs[0].Status != 503 || recs[0].CompletionTokens != 7 {
				t.Errorf("records = %+v", recs)
			}
		})
	}
}

func TestSafetyHelpers(t *testing.T) {
	got := Flagged([]CategorySeverity{{"Violence", 6}, {"Hate", 4}, {"Sexual", 2}, {"Violence", 4}, {"SelfHarm", 0}})
	if fmt.Sprint(got) != "[Hate Violence]" {
		t.Errorf("Flagged = %v", got)
	}
	if Flagged([]CategorySeverity{{"Hate", 3}}) != nil {
		t.Errorf("severity 3 flagged")
	}
	for _, c := range []struct {
		s    string
		want int
	}{{"", 0}, {"abc", 0}, {"ab cd", 3}, {"ab, ", 4}, {"été", 0}, {"é té", 3}} {
		if got := lastWordBreak(c.s); got != c.want {
			t.Errorf("lastWordBreak(%q) = %d, want %d", c.s, got, c.want)
		}
	}
	text := "skill and more words"
	if w := tailWindow(text, 1, 10); w != "and more words" {
		t.Errorf("tailWindow cut a word: %q", w)
	}
	if w := tailWindow(text, 0, 10); w != text {
		t.Errorf("tailWindow from 0 = %q", w)
	}
	if w := tailWindow("ééé abc", 1, 7); w != "abc" {
		t.Errorf("tailWindow inside a rune = %q", w)
	}
	if w := tailWindow("abcdef", 2, 3); w != "cdef" {
		t.Errorf("tailWindow with no break before the limit = %q", w)
	}
}

// Each choice is checked and stopped on its own; usage comes once, at the end.
func TestCompletionFilteredSeveralChoices(t *testing.T) {
	f := newFilter()
	e := newEnv(t, withFilter(f), func(_ *Options, _ *snapshot.Endpoint, m *fakeModel) {
		m.reply = strings.Fields(strings.Repeat("fine ", 50) + "badword " + strings.Repeat("after ", 100))
	})
	_, body := e.do("POST", testEndpoint+"/chat/completions",
		`{"messages":[{"role":"user","content":"Hi"}],"stream":true,"n":2}`, "extra-parameters", "pass-through")
	if strings.Contains(string(body), "badword") || strings.Contains(string(body), "after") {
		t.Fatalf("flagged text was sent: %s", body)
	}
	finishes, usages := map[int]string{}, 0
	for _, d := range sseEvents(t, body) {
		if d == "[DONE]" {
			continue
		}
		c := decodeJSON[inference.ChatCompletionChunk](t, []byte(d))
		if c.Usage != nil {
			usages++
		}
		for _, ch := range c.Choices {
			if ch.FinishReason != nil {
				finishes[ch.Index] = *ch.FinishReason
			}
		}
	}
	if finishes[0] != "content_filter" || finishes[1] != "content_filter" || usages != 1 {
		t.Errorf("finishes %v, usage chunks %d", finishes, usages)
	}
	if recs := e.usage.all(); len(recs) != 1 || recs[0].FinishReason != "content_filter" || recs[0].CompletionTokens >= 2*151 {
		t.Errorf("records = %+v", recs)
	}
}
