package controlplane_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	apiv1 "maas/api/v1"
	"maas/internal/snapshot"
)

func TestUsageAPI(t *testing.T) {
	e := newEnv(t)
	e.addHubProject("h", "p", "eastus2")
	day := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	rec := func(id, ep, model string, at time.Time, in, out int64) snapshot.UsageRecord {
		return snapshot.UsageRecord{RequestID: id, Time: at, Hub: "h", Project: "p", Endpoint: ep, Model: model, Region: "eastus2",
			PromptTokens: in, CompletionTokens: out, Status: 200, InputCost: float64(in) / 1000 * 0.00013, OutputCost: float64(out) / 1000 * 0.00052}
	}
	err := e.st.AppendUsage(context.Background(), []snapshot.UsageRecord{
		rec("1", "a", "m1", day, 1000, 100), rec("2", "a", "m1", day.Add(24*time.Hour), 2000, 200), rec("3", "b", "m2", day, 500, 50),
	})
	if err != nil {
		t.Fatal(err)
	}
	var rep apiv1.UsageReport
	e.call(adminToken, "GET", "/api/projects/p/usage", nil, http.StatusOK, &rep)
	if rep.GroupBy != "endpoint" || len(rep.Value) != 2 || rep.Value[0].Key != "a" || rep.Value[0].Requests != 2 ||
		rep.Value[0].TotalTokens != 3300 || rep.Value[0].PromptTokens != 3000 {
		t.Fatalf("by endpoint = %+v", rep)
	}
	if d := rep.Value[0].TotalCost - (3*0.00013 + 0.3*0.00052); d > 1e-12 || d < -1e-12 {
		t.Fatalf("total cost = %v", rep.Value[0].TotalCost)
	}
	e.call(adminToken, "GET", "/api/projects/p/usage?groupBy=day", nil, http.StatusOK, &rep)
	if len(rep.Value) != 2 || rep.Value[0].Key != "2026-05-04" || rep.Value[0].Requests != 2 {
		t.Fatalf("by day = %+v", rep.Value)
	}
	e.call(adminToken, "GET", "/api/projects/p/usage?groupBy=model&endpoint=a&from=2026-05-05", nil, http.StatusOK, &rep)
	if len(rep.Value) != 1 || rep.Value[0].Key != "m1" || rep.Value[0].Requests != 1 {
		t.Fatalf("filtered by model = %+v", rep.Value)
	}
	e.call(adminToken, "GET", "/api/projects/p/usage?to=2026-05-04T12:00:00Z", nil, http.StatusOK, &rep)
	if len(rep.Value) != 0 {
		t.Fatalf("to is exclusive: %+v", rep.Value)
	}
	e.wantError(adminToken, "GET", "/api/projects/p/usage?groupBy=week", nil, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "GET", "/api/projects/p/usage?from=yesterday", nil, http.StatusBadRequest, "BadRequest")
	e.wantError(adminToken, "GET", "/api/projects/none/usage", nil, http.StatusNotFound, "NotFound")

	for _, viaHeader := range []bool{false, true} {
		url := e.srv.URL + "/api/projects/p/usage?format=csv"
		if viaHeader {
			url = e.srv.URL + "/api/projects/p/usage"
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if viaHeader {
			req.Header.Set("Accept", "text/csv")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || len(rows) != 3 || rows[0][0] != "endpoint" || rows[1][0] != "a" || rows[1][1] != "2" || rows[1][4] != "3300" {
			t.Fatalf("csv = %q, %v", body, err)
		}
	}
}
