package contentsafety

import (
	"context"
	"fmt"

	"maas/internal/gateway"
)

// Chain rates text with each filter in order and returns the worst severity
// per category. It stops at the first filter that flags the text (severity
// gateway.FilterSeverity or above), so a blocklist placed first spares a
// service call; an error of any filter is the chain's error.
func Chain(filters ...gateway.ContentFilter) gateway.ContentFilter {
	if len(filters) == 1 {
		return filters[0]
	}
	return chain(filters)
}

type chain []gateway.ContentFilter

func (c chain) Analyze(ctx context.Context, text string) ([]gateway.CategorySeverity, error) {
	var order []string
	worst := make(map[string]int)
	for i, f := range c {
		res, err := f.Analyze(ctx, text)
		if err != nil {
			return nil, fmt.Errorf("content filter %d of %d: %w", i+1, len(c), err)
		}
		for _, r := range res {
			if s, ok := worst[r.Category]; !ok || r.Severity > s {
				if !ok {
					order = append(order, r.Category)
				}
				worst[r.Category] = r.Severity
			}
		}
		if len(gateway.Flagged(res)) > 0 {
			break
		}
	}
	out := make([]gateway.CategorySeverity, len(order))
	for i, cat := range order {
		out[i] = gateway.CategorySeverity{Category: cat, Severity: worst[cat]}
	}
	return out, nil
}
