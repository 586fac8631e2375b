package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// fixture is a stand-in for the management API and one endpoint's data plane,
// with fixed data in the api/v1 and inference shapes, so that the app can be
// driven in a browser by TestBrowser. It answers 401 without the bearer token
// (or, on the data plane, without the endpoint key).
type fixture struct {
	token string
	mu    sync.Mutex
	eps   []map[string]any         // serverless endpoints of project p1
	projs []map[string]any         // projects; p1 in hub h1 first
	usage map[string]*fixtureUsage // by endpoint name
}

type fixtureUsage struct{ requests, prompt, completion int64 }

const (
	fixtureModelID = "azureml://registries/azureml/models/Phi-3-mini-4k-instruct"
	fixtureKey     = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // primary key, 32 characters
	fixtureReply   = "Hello from the fixture endpoint."
)

func newFixture(token string) *fixture {
	f := &fixture{token: token, usage: map[string]*fixtureUsage{"my-phi3": {3, 1900, 7200}}}
	f.eps = append(f.eps, fixtureEndpoint("my-phi3", "Succeeded"))
	f.projs = append(f.projs, map[string]any{"name": "p1", "hub": "h1", "location": "eastus2"})
	return f
}

func fixtureEndpoint(name, state string) map[string]any {
	return map[string]any{
		"id": "/hubs/h1/projects/p1/serverlessEndpoints/" + name, "name": name, "location": "eastus2",
		"sku": map[string]any{"name": "Consumption"},
		"properties": map[string]any{
			"modelSettings": map[string]any{"modelId": fixtureModelID}, "authMode": "Key",
			"provisioningState": state, "endpointState": "Online",
		},
		"systemData": map[string]any{"createdAt": "2026-11-27T08:00:00Z"},
	}
}

func (f *fixture) models() []map[string]any {
	return []map[string]any{
		{"name": "Phi-3-mini-4k-instruct", "catalogId": fixtureModelID, "parameters": "3.8B", "contextLength": 4096,
			"regions": []string{"eastus2", "swedencentral"}, "pricing": map[string]any{"inputPer1K": 0.00013, "outputPer1K": 0.00052},
			"lifecycleStage": "GenerallyAvailable", "capabilities": map[string]any{"systemRole": true}, "ready": true},
		{"name": "Phi-3-mini-128k-instruct", "catalogId": "azureml://registries/azureml/models/Phi-3-mini-128k-instruct", "parameters": "3.8B",
			"contextLength": 131072, "regions": []string{"eastus2", "swedencentral"}, "pricing": map[string]any{"inputPer1K": 0.00013, "outputPer1K": 0.00052},
			"lifecycleStage": "GenerallyAvailable", "ready": true},
		{"name": "Phi-3-small-8k-instruct", "catalogId": "azureml://registries/azureml/models/Phi-3-small-8k-instruct", "parameters": "7B",
			"contextLength": 8192, "regions": []string{"swedencentral"}, "pricing": map[string]any{"inputPer1K": 0.00015, "outputPer1K": 0.0006},
			"lifecycleStage": "GenerallyAvailable", "ready": false},
		{"name": "Phi-3.5-MoE-instruct", "catalogId": "azureml://registries/azureml/models/Phi-3.5-MoE-instruct", "parameters": "16x3.8B",
			"contextLength": 131072, "regions": []string{"eastus", "eastus2"}, "pricing": map[string]any{"inputPer1K": 0.00016, "outputPer1K": 0.00064},
			"lifecycleStage": "Deprecated", "capabilities": map[string]any{}, "ready": false},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// auth wraps a management handler with the bearer token check.
func (f *fixture) auth(next func(w http.ResponseWriter, r *http.Request) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			apiError(w, http.StatusUnauthorized, "Unauthorized", "missing or bad token")
			return
		}
		if v := next(w, r); v != nil {
			writeJSON(w, http.StatusOK, v)
		}
	}
}

func list(v ...any) map[string]any { return map[string]any{"value": v} }

// handler mounts the app at "/" and the fixture routes beside it.
func (f *fixture) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.Handle("GET /api/models", f.auth(func(http.ResponseWriter, *http.Request) any { return map[string]any{"value": f.models()} }))
	mux.Handle("GET /api/hubs", f.auth(func(http.ResponseWriter, *http.Request) any {
		return list(map[string]any{"name": "h1", "location": "eastus2"})
	}))
	mux.Handle("GET /api/projects", f.auth(func(http.ResponseWriter, *http.Request) any {
		f.mu.Lock()
		defer f.mu.Unlock()
		b, _ := json.Marshal(map[string]any{"value": f.projs})
		return json.RawMessage(b)
	}))
	mux.Handle("GET /api/regions", f.auth(func(http.ResponseWriter, *http.Request) any {
		return list(map[string]string{"name": "eastus2", "displayName": "East US 2"}, map[string]string{"name": "swedencentral", "displayName": "Sweden Central"})
	}))
	mux.Handle("PUT /api/hubs/h1/projects/{project}", f.auth(func(w http.ResponseWriter, r *http.Request) any {
		p := map[string]any{"name": r.PathValue("project"), "hub": "h1", "location": "eastus2"}
		f.mu.Lock()
		f.projs = append(f.projs, p)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, p)
		return nil
	}))
	mux.Handle("GET /api/projects/p1/serverlessEndpoints", f.auth(func(_ http.ResponseWriter, r *http.Request) any {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := make([]any, len(f.eps))
		for i, ep := range f.eps {
			props := ep["properties"].(map[string]any)
			props["inferenceEndpoint"] = map[string]any{"uri": "http://" + r.Host + "/serverless/eastus2/" + ep["name"].(string)}
			out[i] = ep
		}
		b, _ := json.Marshal(list(out...)) // under the lock: the maps are shared
		return json.RawMessage(b)
	}))
	mux.Handle("PUT /api/projects/p1/serverlessEndpoints/{name}", f.auth(func(w http.ResponseWriter, r *http.Request) any {
		var body struct {
			SKU        struct{ Name string }
			Properties struct{ ModelSettings struct{ ModelID string } }
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.SKU.Name != "Consumption" {
			apiError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("unexpected body (%v)", err))
			return nil
		}
		modelID := body.Properties.ModelSettings.ModelID
		known := false
		for _, m := range f.models() {
			known = known || m["catalogId"] == modelID
		}
		if !known {
			apiError(w, http.StatusBadRequest, "BadRequest", "unknown model "+modelID)
			return nil
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, ep := range f.eps {
			if ep["properties"].(map[string]any)["modelSettings"].(map[string]any)["modelId"] == modelID {
				apiError(w, http.StatusConflict, "Conflict", "the project already has an endpoint for "+modelID)
				return nil
			}
		}
		ep := fixtureEndpoint(r.PathValue("name"), "Succeeded")
		ep["properties"].(map[string]any)["modelSettings"] = map[string]any{"modelId": modelID}
		f.eps = append(f.eps, ep)
		writeJSON(w, http.StatusCreated, ep)
		return nil
	}))
	mux.Handle("POST /api/projects/p1/serverlessEndpoints/{name}/listKeys", f.auth(func(http.ResponseWriter, *http.Request) any {
		return map[string]string{"primaryKey": fixtureKey, "secondaryKey": strings.Repeat("b", 32)}
	}))
	mux.Handle("GET /api/projects/p1/serverlessEndpoints/{name}/quota", f.auth(func(http.ResponseWriter, *http.Request) any {
		return map[string]int64{"tokensPerMinute": 200000, "requestsPerMinute": 1000}
	}))
	mux.Handle("GET /api/projects/p1/usage", f.auth(func(w http.ResponseWriter, r *http.Request) any {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.URL.Query().Get("format") == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			fmt.Fprintln(w, "endpoint,requests,promptTokens,completionTokens")
			for name, u := range f.usage {
				fmt.Fprintf(w, "%s,%d,%d,%d\n", name, u.requests, u.prompt, u.completion)
			}
			return nil
		}
		var rows []map[string]any
		for name, u := range f.usage {
			in, out := float64(u.prompt)/1000*0.00013, float64(u.completion)/1000*0.00052
			rows = append(rows, map[string]any{"key": name, "requests": u.requests, "promptTokens": u.prompt,
				"completionTokens": u.completion, "totalTokens": u.prompt + u.completion,
				"inputCost": in, "outputCost": out, "totalCost": in + out})
		}
		return map[string]any{"project": "p1", "groupBy": "endpoint", "value": rows}
	}))
	mux.HandleFunc("POST /serverless/eastus2/{name}/chat/completions", f.chat)
	return mux
}

// chat answers fixtureReply word by word, streamed as SSE chunks when asked,
// with usage in the last chunk as Azure does for Phi-3.
func (f *fixture) chat(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("api-key") != fixtureKey {
		apiError(w, http.StatusUnauthorized, "Unauthorized", "bad key")
		return
	}
	var req struct {
		Messages []struct{ Role, Content string }
		Stream   bool
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		apiError(w, http.StatusBadRequest, "BadRequest", "messages required")
		return
	}
	usage := map[string]int{"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18}
	f.mu.Lock()
	u := f.usage[r.PathValue("name")]
	if u == nil {
		u = &fixtureUsage{}
		f.usage[r.PathValue("name")] = u
	}
	u.requests, u.prompt, u.completion = u.requests+1, u.prompt+12, u.completion+6
	f.mu.Unlock()
	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{"object": "chat.completion", "model": "Phi-3-mini-4k-instruct",
			"choices": []any{map[string]any{"index": 0, "message": map[string]string{"role": "assistant", "content": fixtureReply}, "finish_reason": "stop"}},
			"usage":   usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	chunk := func(delta map[string]string, finish any) map[string]any {
		return map[string]any{"object": "chat.completion.chunk", "model": "Phi-3-mini-4k-instruct",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]string{"role": "assistant", "content": ""}, nil))
	for i, word := range strings.SplitAfter(fixtureReply, " ") {
		if i > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		send(chunk(map[string]string{"content": word}, nil))
	}
	last := chunk(map[string]string{"content": ""}, "stop")
	last["usage"] = usage
	send(last)
	fmt.Fprint(w, "data: [DONE]\n\n")
}
