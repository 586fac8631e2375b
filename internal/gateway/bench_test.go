package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"maas/internal/snapshot"
)

// benchGateway is a gateway over the fake model with logs discarded, for
// measuring the gateway's own cost per request (no network).
func benchGateway(b *testing.B) *Gateway {
	b.Helper()
	m := &fakeModel{ctxLen: 4096, reply: strings.Fields("Paris is the capital of France .")}
	ep := &snapshot.Endpoint{ID: "ep-1", Name: "phi", Region: "eastus2", Online: true, TokensPerMinute: 1e15, RequestsPerMinute: 1e15,
		Model: snapshot.Model{Name: testModel}, Keys: [2]snapshot.KeyHash{snapshot.HashKey(testKey)}}
	h := &snapshot.Holder{}
	h.Store(snapshot.New(1, []*snapshot.Endpoint{ep}))
	g, err := New(Options{Holder: h, Backend: fakeBackend{m}, Usage: &sink{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func benchRequest(b *testing.B, g *Gateway, body string) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", testEndpoint+"/chat/completions", strings.NewReader(body))
		req.Header.Set("api-key", testKey)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkChat measures one non-streamed chat request of 7 tokens through
// auth, parsing, quota, generation with the fake model, JSON and metering.
func BenchmarkChat(b *testing.B) {
	benchRequest(b, benchGateway(b), hello)
}

// BenchmarkChatStream is the same request streamed as 9 server-sent events.
func BenchmarkChatStream(b *testing.B) {
	benchRequest(b, benchGateway(b), `{"messages":[{"role":"user","content":"Hi"}],"stream":true}`)
}
