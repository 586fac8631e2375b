package contentsafety

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"maas/internal/gateway"
)

const textList = `# operator blocklist
Violence: kill you
violence:   stab

self-harm: Self Harm
HATE: Vermin
`

func TestBlocklistMatching(t *testing.T) {
	b, err := ParseBlocklist([]byte(textList))
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 4 {
		t.Fatalf("Len = %d", b.Len())
	}
	for _, c := range []struct {
		text string
		want string // flagged categories
	}{
		{"I will KILL YOU!", "[Violence]"},
		{"kill\n\tyou", "[Violence]"},
		{"kill, you", "[Violence]"},
		{"they kill yours", "[]"},     // whole words only
		{"skill you have", "[]"},      // no match inside a word
		{"don't stab.", "[Violence]"}, // punctuation around a word
		{"stabbing", "[]"},
		{"self-harm is discussed", "[SelfHarm]"},
		{"selfharm", "[]"},
		{"vermin! and stab", "[Hate Violence]"},
		{"", "[]"},
	} {
		res, err := b.Analyze(context.Background(), c.text)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 4 {
			t.Errorf("%q: %d categories", c.text, len(res))
		}
		if got := fmt.Sprint(gateway.Flagged(res)); got != c.want {
			t.Errorf("%q: flagged %s, want %s", c.text, got, c.want)
		}
	}
	for _, r := range mustAnalyze(t, b, "kill you") {
		if r.Category == gateway.CategoryViolence && r.Severity != gateway.SeverityHigh {
			t.Errorf("severity %d, want high", r.Severity)
		}
	}
	if m := b.Match("Stab and then KILL  you"); m["Violence"] != "kill you" && m["Violence"] != "stab" {
		t.Errorf("Match = %v", m)
	}
}

func mustAnalyze(t *testing.T, b *Blocklist, text string) []gateway.CategorySeverity {
	t.Helper()
	res, err := b.Analyze(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBlocklistJSONAndUnicode(t *testing.T) {
	b, err := ParseBlocklist([]byte(` {"Sexual": ["Été"], "self_harm": ["überdosis nehmen"], "Hate": []}`))
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2 {
		t.Fatalf("Len = %d", b.Len())
	}
	for _, c := range []struct{ text, want string }{
		{"un ÉTÉ chaud", "[Sexual]"},
		{"l'été", "[Sexual]"},
		{"étés", "[]"},
		{"Überdosis  nehmen", "[SelfHarm]"},
	} {
		if got := fmt.Sprint(gateway.Flagged(mustAnalyze(t, b, c.text))); got != c.want {
			t.Errorf("%q: flagged %s, want %s", c.text, got, c.want)
		}
	}
}

func TestBlocklistErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Violence kill", "line 1: want \"Category: term\""},
		{"# c\nGore: blood", "line 2: unknown category \"Gore\""},
		{"Hate: !!!", "has no letters or digits"},
		{"# only comments\n\n", "no terms"},
		{"", "no terms"},
		{`{"Hate": "x"}`, "decode JSON blocklist"},
		{`{"Gore": ["x"]}`, "unknown category"},
	} {
		if _, err := ParseBlocklist([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	p := filepath.Join(t.TempDir(), "list.txt")
	if _, err := LoadBlocklist(p); err == nil || !strings.Contains(err.Error(), "read blocklist") {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(p, []byte("Violence: stab\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBlocklist(p)
	if err != nil || b.Len() != 1 {
		t.Errorf("LoadBlocklist: %v", err)
	}
}

type errFilter struct{}

func (errFilter) Analyze(context.Context, string) ([]gateway.CategorySeverity, error) {
	return nil, errors.New("down")
}

type countFilter struct {
	n   int
	res []gateway.CategorySeverity
}

func (f *countFilter) Analyze(context.Context, string) ([]gateway.CategorySeverity, error) {
	f.n++
	return f.res, nil
}

func TestChain(t *testing.T) {
	b, err := ParseBlocklist([]byte("Violence: stab"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &countFilter{res: []gateway.CategorySeverity{
		{Category: "Hate", Severity: 2}, {Category: "Violence", Severity: 2}, {Category: "Sexual", Severity: 4}}}
	ch := Chain(b, svc)
	ctx := context.Background()
	// A blocklist hit spares the service call.
	res, err := ch.Analyze(ctx, "stab")
	if err != nil || svc.n != 0 || fmt.Sprint(gateway.Flagged(res)) != "[Violence]" {
		t.Errorf("hit: %v %v, service called %d times", res, err, svc.n)
	}
	// Otherwise the worst of both counts.
	res, err = ch.Analyze(ctx, "calm")
	if err != nil || svc.n != 1 {
		t.Fatalf("miss: %v, service called %d times", err, svc.n)
	}
	if got := severities(res); got != "Hate=2 SelfHarm=0 Sexual=4 Violence=2" {
		t.Errorf("severities %s", got)
	}
	if _, err := Chain(b, errFilter{}).Analyze(ctx, "calm"); err == nil || !strings.Contains(err.Error(), "content filter 2 of 2: down") {
		t.Errorf("error %v", err)
	}
	if Chain(b) != gateway.ContentFilter(b) {
		t.Errorf("a chain of one is not the filter itself")
	}
}
