package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestNoExternalURLs: the app works offline and loads nothing from a CDN.
func TestNoExternalURLs(t *testing.T) {
	h := testHandler(t)
	files := map[string][]byte{"index.html": h.index.body}
	for n, a := range h.assets {
		files[n] = a.body
	}
	ext := regexp.MustCompile(`(?i)(?:[a-z][a-z0-9+.-]*:)?//[a-z0-9-]+(?:\.[a-z0-9-]+)+|@import|\burl\(\s*['"]?[a-z]+:`)
	for n, b := range files {
		for _, m := range ext.FindAll(b, -1) {
			t.Errorf("%s: external reference %q", n, m)
		}
	}
}

// TestNoHTMLFromStrings: all text reaches the DOM through textContent or
// Text nodes; nothing parses markup from strings.
func TestNoHTMLFromStrings(t *testing.T) {
	h := testHandler(t)
	bad := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|createContextualFragment|DOMParser`)
	n := 0
	for name, a := range h.assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		n++
		for _, m := range bad.FindAll(a.body, -1) {
			t.Errorf("%s uses %s", name, m)
		}
	}
	if n == 0 {
		t.Fatal("no JavaScript assets found")
	}
}

// documentedRoutes are the management routes of issue 3 (control plane) and
// the usage report of issue 4 (metering), as net/http patterns, plus the
// read-only list routes the control plane added (GET /api/projects, GET
// /api/regions, GET .../quota) and the model import of `maas models import`.
func documentedRoutes() []string {
	return []string{
		"GET /api/models",
		"GET /api/models/{name}",
		"PUT /api/models/{name}",
		"DELETE /api/models/{name}",
		"POST /api/models/{name}/import",
		"GET /api/regions",
		"GET /api/projects",
		"GET /api/hubs",
		"PUT /api/hubs/{hub}",
		"GET /api/hubs/{hub}",
		"DELETE /api/hubs/{hub}",
		"GET /api/hubs/{hub}/projects",
		"PUT /api/hubs/{hub}/projects/{project}",
		"GET /api/hubs/{hub}/projects/{project}",
		"DELETE /api/hubs/{hub}/projects/{project}",
		"GET /api/projects/{project}/serverlessEndpoints",
		"PUT /api/projects/{project}/serverlessEndpoints/{name}",
		"GET /api/projects/{project}/serverlessEndpoints/{name}",
		"PATCH /api/projects/{project}/serverlessEndpoints/{name}",
		"DELETE /api/projects/{project}/serverlessEndpoints/{name}",
		"POST /api/projects/{project}/serverlessEndpoints/{name}/listKeys",
		"POST /api/projects/{project}/serverlessEndpoints/{name}/regenerateKeys",
		"GET /api/projects/{project}/serverlessEndpoints/{name}/quota",
		"PUT /api/projects/{project}/serverlessEndpoints/{name}/quota",
		"GET /api/projects/{project}/usage",
		"POST /api/principals",
		"GET /api/principals",
		"GET /api/principals/{id}",
		"DELETE /api/principals/{id}",
		"PUT /api/roleAssignments/{id}",
		"GET /api/roleAssignments",
		"GET /api/roleAssignments/{id}",
		"DELETE /api/roleAssignments/{id}",
	}
}

// documentedQuery lists the query parameters each route accepts.
func documentedQuery() map[string][]string {
	return map[string][]string{
		"GET /api/projects/{project}/usage": {"endpoint", "from", "to", "groupBy", "format"},
	}
}

// apiCall is one api.<method>(`/api/...`) call in the JavaScript.
type apiCall struct {
	file, method, path, query string
}

var jsMethod = map[string]string{"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "del": "DELETE", "blob": "GET"}

// apiCalls finds every management API call in the app's JavaScript. It also
// returns every /api/ string literal that is not the path of such a call,
// since those would be fetches the route check cannot see.
func apiCalls(t *testing.T, h *handler) (calls []apiCall, stray []string) {
	t.Helper()
	call := regexp.MustCompile("api\\.(get|post|put|patch|del|blob)\\(\\s*([`'\"])(/api/[^`'\"]*)[`'\"]")
	lit := regexp.MustCompile("[`'\"](/api(?:/[^`'\"]*)?)[`'\"]")
	placeholder := regexp.MustCompile(`\$\{[^}]*\}`)
	for name, a := range h.assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		src := string(a.body)
		seen := map[int]bool{}
		for _, m := range call.FindAllStringSubmatchIndex(src, -1) {
			method := jsMethod[src[m[2]:m[3]]]
			raw := src[m[6]:m[7]]
			seen[m[6]] = true
			p, q, _ := strings.Cut(raw, "?")
			p = placeholder.ReplaceAllString(p, "x")
			calls = append(calls, apiCall{file: name, method: method, path: p, query: q})
		}
		for _, m := range lit.FindAllStringSubmatchIndex(src, -1) {
			if !seen[m[2]] {
				stray = append(stray, name+": "+src[m[2]:m[3]])
			}
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].method+calls[i].path < calls[j].method+calls[j].path })
	return calls, stray
}

// TestAPICallsAreDocumented: every /api path the app calls, with its method,
// is one of the documented management routes.
func TestAPICallsAreDocumented(t *testing.T) {
	h := testHandler(t)
	mux := http.NewServeMux()
	for _, p := range documentedRoutes() {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	calls, stray := apiCalls(t, h)
	for _, s := range stray {
		t.Errorf("/api path outside an api.<method>() call: %s", s)
	}
	if len(calls) < 10 {
		t.Fatalf("found %d API calls in the JavaScript; the parser is broken", len(calls))
	}
	query := documentedQuery()
	for _, c := range calls {
		req := httptest.NewRequest(c.method, c.path, nil)
		_, pattern := mux.Handler(req)
		if pattern == "" {
			t.Errorf("%s: %s %s is not a documented route", c.file, c.method, c.path)
			continue
		}
		if c.query == "" {
			continue
		}
		// A query built in code (${...}) is checked by the names the JS sets.
		if strings.Contains(c.query, "${") {
			if query[pattern] == nil {
				t.Errorf("%s: %s %s sends a query, but %q documents none", c.file, c.method, c.path, pattern)
			}
			continue
		}
		for _, kv := range strings.Split(c.query, "&") {
			k, _, _ := strings.Cut(kv, "=")
			if !contains(query[pattern], k) {
				t.Errorf("%s: %s %s: query parameter %q is not documented", c.file, c.method, c.path, k)
			}
		}
	}
	// The usage query names set by usageQuery must be documented too.
	src := string(h.assets["js/api.js"].body)
	for _, m := range regexp.MustCompile(`q\.set\('([^']+)'`).FindAllStringSubmatch(src, -1) {
		if !contains(query["GET /api/projects/{project}/usage"], m[1]) {
			t.Errorf("usage query parameter %q is not documented", m[1])
		}
	}
}

// TestAPICallParser makes sure the route check can fail.
func TestAPICallParser(t *testing.T) {
	h := &handler{assets: map[string]*asset{"js/x.js": newAsset([]byte(
		"api.get(`/api/projects/${e(p)}/serverlessEndpoints`);\n"+
			"api.post(`/api/projects/${e(p)}/serverlessEndpoints/${e(n)}/deleteEverything`, {});\n"+
			"fetch('/api/secret');\n"), "text/javascript")}}
	calls, stray := apiCalls(t, h)
	if len(calls) != 2 || calls[0].path != "/api/projects/x/serverlessEndpoints" || calls[1].method != "POST" {
		t.Errorf("calls = %+v", calls)
	}
	if len(stray) != 1 || !strings.Contains(stray[0], "/api/secret") {
		t.Errorf("stray = %v", stray)
	}
	mux := http.NewServeMux()
	for _, p := range documentedRoutes() {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	if _, p := mux.Handler(httptest.NewRequest(calls[1].method, calls[1].path, nil)); p != "" {
		t.Errorf("undocumented %s matched pattern %q", calls[1].path, p)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
