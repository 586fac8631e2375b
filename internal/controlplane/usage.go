package controlplane

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	apiv1 "maas/api/v1"
	"maas/internal/store"
)

// parseWhen accepts RFC 3339 times and YYYY-MM-DD dates (UTC midnight).
func parseWhen(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("query parameter %q must be an RFC 3339 time or a YYYY-MM-DD date, not %q", field, v)
}

func (cp *ControlPlane) getUsage(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := cp.projectFor(r, c, "", r.PathValue("project"))
	if err != nil {
		return err
	}
	if err := c.require(actRead, projectScope(p.Hub, p.Name)); err != nil {
		return err
	}
	q := r.URL.Query()
	uq := store.UsageQuery{Project: p.Name, Endpoint: q.Get("endpoint"), GroupBy: q.Get("groupBy")}
	switch uq.GroupBy {
	case "":
		uq.GroupBy = store.GroupByEndpoint
	case store.GroupByEndpoint, store.GroupByDay, store.GroupByModel:
	default:
		return badRequest("query parameter \"groupBy\" must be endpoint, day or model, not %q", uq.GroupBy)
	}
	if uq.From, err = parseWhen("from", q.Get("from")); err != nil {
		return err
	}
	if uq.To, err = parseWhen("to", q.Get("to")); err != nil {
		return err
	}
	rows, err := cp.st.QueryUsage(r.Context(), uq)
	if err != nil {
		return err
	}
	out := make([]apiv1.UsageRow, 0, len(rows))
	for _, x := range rows {
		out = append(out, apiv1.UsageRow{
			Key: x.Key, Requests: x.Requests, PromptTokens: x.PromptTokens, CompletionTokens: x.CompletionTokens,
			TotalTokens: x.PromptTokens + x.CompletionTokens, InputCost: x.InputCost, OutputCost: x.OutputCost,
			TotalCost: x.InputCost + x.OutputCost,
		})
	}
	format := q.Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
		format = "csv"
	}
	switch format {
	case "", "json":
		return writeJSON(w, http.StatusOK, apiv1.UsageReport{Project: p.Name, GroupBy: uq.GroupBy, Value: out})
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="usage-`+p.Name+`.csv"`)
		cw := csv.NewWriter(w)
		cw.Write([]string{uq.GroupBy, "requests", "promptTokens", "completionTokens", "totalTokens", "inputCost", "outputCost", "totalCost"})
		for _, x := range out {
			cw.Write([]string{x.Key, itoa(x.Requests), itoa(x.PromptTokens), itoa(x.CompletionTokens), itoa(x.TotalTokens),
				ftoa(x.InputCost), ftoa(x.OutputCost), ftoa(x.TotalCost)})
		}
		cw.Flush()
		return cw.Error()
	}
	return badRequest("query parameter \"format\" must be json or csv, not %q", format)
}

func itoa(v int64) string   { return strconv.FormatInt(v, 10) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
