package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"

	"maas/internal/snapshot"
)

// FuzzChatBody sends arbitrary bodies and extra-parameters modes to the chat
// and completion routes: the gateway must answer with a status of its own,
// never panic, and write a usage record only for answers that ran the model.
func FuzzChatBody(f *testing.F) {
	f.Add(hello, "", false)
	f.Add(`{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"n":2,"logprobs":true,"top_logprobs":3}`, "pass-through", false)
	f.Add(`{"messages":[{"role":"user","content":"x"}],"stop":["a","b"],"logit_bias":{"5":1},"stream":true}`, "drop", false)
	f.Add(`{"messages":null,"max_tokens":-1}`, "error", false)
	f.Add(`{"messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999}`, "", false)
	f.Add(`[]`, "", false)
	f.Add(`{"messages":[{"role":"user"}],"tools":[],"tool_choice":{"type":"function"}}`, "ignore", false)
	f.Add(`{"prompt":["a"],"logprobs":2,"n":2,"stream":true}`, "pass-through", true)
	m := &fakeModel{ctxLen: 64, reply: strings.Fields("a b c d e")}
	ep := &snapshot.Endpoint{ID: "ep-1", Name: "phi", Region: "eastus2", Online: true, TokensPerMinute: 1e15, RequestsPerMinute: 1e15,
		Model: snapshot.Model{Name: testModel}, Keys: [2]snapshot.KeyHash{snapshot.HashKey(testKey)}}
	h := &snapshot.Holder{}
	h.Store(snapshot.New(1, []*snapshot.Endpoint{ep}))
	usage := &sink{}
	g, err := New(Options{Holder: h, Backend: fakeBackend{m}, Usage: usage, Logger: discardLogger(), MaxBodyBytes: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, mode string, completion bool) {
		path := testEndpoint + "/chat/completions"
		if completion {
			path = testEndpoint + "/completions"
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("api-key", testKey)
		req.Header.Set("extra-parameters", mode)
		w := httptest.NewRecorder()
		before := len(usage.all())
		g.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 413, 422:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if after := len(usage.all()); (w.Code == 200) != (after == before+1) {
			t.Fatalf("status %d wrote %d usage records", w.Code, after-before)
		}
		if w.Code != 200 && w.Header().Get("x-ms-error-code") == "" {
			t.Fatalf("error without x-ms-error-code: %d %s", w.Code, w.Body)
		}
	})
}
