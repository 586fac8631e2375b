package contentsafety

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBlocklist rates a 4,000-character text against 1,000 terms.
func BenchmarkBlocklist(b *testing.B) {
	var list strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&list, "Violence: term%d phrase\n", i)
	}
	bl, err := ParseBlocklist([]byte(list.String()))
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog, term7 again. ", 70)[:4000]
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := bl.Analyze(context.Background(), text); err != nil {
			b.Fatal(err)
		}
	}
}
