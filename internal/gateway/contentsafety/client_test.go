package contentsafety

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"maas/internal/gateway"
)

// fakeService is the text:analyze API: it rates each text by the words in
// sev (category -> word -> severity) and records the requests.
type fakeService struct {
	t      *testing.T
	sev    map[string]map[string]int
	status int    // != 0: answer with this status and body
	body   string // raw answer instead of a rating

	mu   sync.Mutex
	reqs []analyzeRequest
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/contentsafety/text:analyze" || r.URL.Query().Get("api-version") != "2023-10-01" {
		http.Error(w, `{"error":{"code":"NotFound","message":"no such route"}}`, http.StatusNotFound)
		return
	}
	if r.Header.Get("Ocp-Apim-Subscription-Key") != "secret-key" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":"401","message":"Access denied due to invalid subscription key."}}`)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad content type", http.StatusUnsupportedMediaType)
		return
	}
	var req analyzeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.status != 0 {
		w.WriteHeader(f.status)
	}
	if f.body != "" {
		fmt.Fprint(w, f.body)
		return
	}
	type rating struct {
		Category string `json:"category"`
		Severity int    `json:"severity"`
	}
	var out struct {
		BlocklistsMatch    []any    `json:"blocklistsMatch"`
		CategoriesAnalysis []rating `json:"categoriesAnalysis"`
	}
	out.BlocklistsMatch = []any{}
	for _, cat := range req.Categories {
		s := 0
		for _, w := range strings.Fields(strings.ToLower(req.Text)) {
			s = max(s, f.sev[cat][w])
		}
		out.CategoriesAnalysis = append(out.CategoriesAnalysis, rating{cat, s})
	}
	json.NewEncoder(w).Encode(out)
}

func (f *fakeService) requests() []analyzeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]analyzeRequest(nil), f.reqs...)
}

func newService(t *testing.T) (*fakeService, *Client) {
	f := &fakeService{t: t, sev: map[string]map[string]int{
		"Violence": {"fight": 2, "kill": 6},
		"Hate":     {"hateful": 4},
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL+"/", "secret-key", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func severities(res []gateway.CategorySeverity) string {
	var b strings.Builder
	for _, r := range res {
		fmt.Fprintf(&b, "%s=%d ", r.Category, r.Severity)
	}
	return strings.TrimSpace(b.String())
}

func TestClientAnalyze(t *testing.T) {
	f, c := newService(t)
	res, err := c.Analyze(context.Background(), "they kill and fight hateful")
	if err != nil {
		t.Fatal(err)
	}
	if got := severities(res); got != "Hate=4 SelfHarm=0 Sexual=0 Violence=6" {
		t.Errorf("severities %s", got)
	}
	if got := gateway.Flagged(res); fmt.Sprint(got) != "[Hate Violence]" {
		t.Errorf("flagged %v", got)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Text != "they kill and fight hateful" || reqs[0].OutputType != "FourSeverityLevels" ||
		fmt.Sprint(reqs[0].Categories) != "[Hate SelfHarm Sexual Violence]" {
		t.Errorf("requests %+v", reqs)
	}
	res, err = c.Analyze(context.Background(), "a fight")
	if err != nil || gateway.Flagged(res) != nil || severities(res) != "Hate=0 SelfHarm=0 Sexual=0 Violence=2" {
		t.Errorf("low severity: %s %v", severities(res), err)
	}
	// Blank text is safe without a call.
	res, err = c.Analyze(context.Background(), " \n")
	if err != nil || len(res) != 4 || gateway.Flagged(res) != nil || len(f.requests()) != 2 {
		t.Errorf("blank text: %v %v, %d calls", res, err, len(f.requests()))
	}
}

func TestClientSplitsLongText(t *testing.T) {
	f, c := newService(t)
	text := strings.Repeat("calm words ", 1500) + "kill " + strings.Repeat("é", 12000)
	res, err := c.Analyze(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gateway.Flagged(res)) != "[Violence]" {
		t.Errorf("a term in a later piece was missed: %s", severities(res))
	}
	reqs := f.requests()
	var joined strings.Builder
	for _, r := range reqs {
		if n := utf8.RuneCountInString(r.Text); n > MaxTextRunes {
			t.Errorf("piece of %d runes", n)
		}
		joined.WriteString(r.Text)
	}
	if len(reqs) != 4 || joined.String() != text {
		t.Errorf("%d pieces; joined equal: %v", len(reqs), joined.String() == text)
	}
	// The first cut is at a space: no word is split.
	if !strings.HasSuffix(reqs[0].Text, " ") {
		t.Errorf("first piece ends %q", reqs[0].Text[len(reqs[0].Text)-10:])
	}
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"service error", `{"error":{"code":"InvalidRequestBody","message":"The text is too long."}}`, 400, "status 400: InvalidRequestBody: The text is too long."},
		{"throttled", `Too many requests`, 429, "status 429: Too many requests"},
		{"not JSON", `<html>`, 200, "decode answer"},
		{"missing category", `{"categoriesAnalysis":[{"category":"Hate","severity":0}]}`, 200, "lacks category SelfHarm"},
		{"bad severity", `{"categoriesAnalysis":[{"category":"Hate","severity":9},{"category":"SelfHarm","severity":0},{"category":"Sexual","severity":0},{"category":"Violence","severity":0}]}`, 200, "no severity in 0..7"},
		{"null severity", `{"categoriesAnalysis":[{"category":"Hate"},{"category":"SelfHarm","severity":0},{"category":"Sexual","severity":0},{"category":"Violence","severity":0}]}`, 200, "no severity"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, cl := newService(t)
			f.status, f.body = c.status, c.body
			if _, err := cl.Analyze(ctx, "hello"); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		f, _ := newService(t)
		srv := httptest.NewServer(f)
		defer srv.Close()
		cl, err := NewClient(srv.URL, "nope", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Analyze(ctx, "hello"); err == nil || !strings.Contains(err.Error(), "status 401") || strings.Contains(err.Error(), "nope") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		_, cl := newService(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := cl.Analyze(cctx, "hello"); err == nil {
			t.Error("no error")
		}
	})
	t.Run("service down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		cl, _ := NewClient(srv.URL, "k", nil)
		if _, err := cl.Analyze(ctx, "hello"); err == nil {
			t.Error("no error")
		}
	})
	for _, bad := range []string{"", "localhost:5000", "ftp://host", "http://", "http://host/?x=1"} {
		if _, err := NewClient(bad, "k", nil); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		text string
		n    int
		want string
	}{
		{"abc", 3, "[abc]"},
		{"abcd", 3, "[abc d]"},
		{"ab cd ef", 4, "[ab  cd  ef]"},
		{"ééééé", 2, "[éé éé é]"},
	} {
		if got := fmt.Sprint(split(c.text, c.n)); got != c.want {
			t.Errorf("split(%q, %d) = %s, want %s", c.text, c.n, got, c.want)
		}
	}
}
