package contentsafety

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode"

	"maas/internal/gateway"
)

// Blocklist rates text by an operator's terms: a text that holds a term of
// a category is rated high (6) in that category, else safe (0). Matching
// ignores case and compares whole words: "kill" matches "Kill!" but not
// "skill"; a term of several words matches them in order with any spaces
// or punctuation between ("self harm" matches "self-harm"). It is
// immutable and safe for concurrent use.
type Blocklist struct {
	byFirst map[string][]term // first word -> terms starting with it
	n       int
}

type term struct {
	words    []string // lower-case
	category string
}

// LoadBlocklist reads a blocklist file (see ParseBlocklist).
func LoadBlocklist(path string) (*Blocklist, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read blocklist: %w", err)
	}
	b, err := ParseBlocklist(data)
	if err != nil {
		return nil, fmt.Errorf("blocklist %s: %w", path, err)
	}
	return b, nil
}

// ParseBlocklist reads terms per category in one of two forms. JSON: an
// object from category to a list of terms,
//
//	{"Violence": ["kill you"], "Hate": ["slur"]}
//
// Text: one "Category: term" per line; blank lines and lines starting
// with # are skipped. Categories are Hate, SelfHarm, Sexual and Violence
// (case, '-', '_' and spaces ignored). A list without terms is an error.
func ParseBlocklist(data []byte) (*Blocklist, error) {
	b := &Blocklist{byFirst: make(map[string][]term)}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var m map[string][]string
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, fmt.Errorf("decode JSON blocklist: %w", err)
		}
		for cat, terms := range m {
			for _, t := range terms {
				if err := b.add(cat, t); err != nil {
					return nil, err
				}
			}
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for line := 1; sc.Scan(); line++ {
			s := strings.TrimSpace(sc.Text())
			if s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			cat, t, ok := strings.Cut(s, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: want \"Category: term\", got %q", line, s)
			}
			if err := b.add(cat, t); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read blocklist: %w", err)
		}
	}
	if b.n == 0 {
		return nil, fmt.Errorf("blocklist has no terms")
	}
	return b, nil
}

// add files one term under its category.
func (b *Blocklist) add(category, text string) error {
	cat, err := categoryName(category)
	if err != nil {
		return err
	}
	w := words(text)
	if len(w) == 0 {
		return fmt.Errorf("term %q has no letters or digits", strings.TrimSpace(text))
	}
	b.byFirst[w[0]] = append(b.byFirst[w[0]], term{words: w, category: cat})
	b.n++
	return nil
}

// categoryName maps a spelling of a category to its canonical name.
func categoryName(s string) (string, error) {
	key := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
	for _, c := range gateway.Categories() {
		if strings.ToLower(c) == key {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown category %q: use Hate, SelfHarm, Sexual or Violence", strings.TrimSpace(s))
}

// Len is the number of terms.
func (b *Blocklist) Len() int { return b.n }

// Analyze implements gateway.ContentFilter; it never fails.
func (b *Blocklist) Analyze(_ context.Context, text string) ([]gateway.CategorySeverity, error) {
	hit := b.Match(text)
	out := make([]gateway.CategorySeverity, 0, 4)
	for _, c := range gateway.Categories() {
		sev := gateway.SeveritySafe
		if _, ok := hit[c]; ok {
			sev = gateway.SeverityHigh
		}
		out = append(out, gateway.CategorySeverity{Category: c, Severity: sev})
	}
	return out, nil
}

// Match returns, per category found in text, the first term that matched
// (its words joined by single spaces).
func (b *Blocklist) Match(text string) map[string]string {
	hit := make(map[string]string)
	w := words(text)
	for i := range w {
		for _, t := range b.byFirst[w[i]] {
			if _, done := hit[t.category]; done || len(t.words) > len(w)-i {
				continue
			}
			if equalWords(t.words, w[i:i+len(t.words)]) {
				hit[t.category] = strings.Join(t.words, " ")
			}
		}
	}
	return hit
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// words splits s into lower-case runs of letters, digits and marks.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}
