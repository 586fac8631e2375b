package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func testHandler(t *testing.T) *handler {
	t.Helper()
	h, err := newHandler(staticFS)
	if err != nil {
		t.Fatalf("newHandler: %v", err)
	}
	return h
}

func TestIndex(t *testing.T) {
	h := testHandler(t)
	rec := get(t, h, "GET", "/", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`id="view"`, `/assets/` + h.build + `/js/app.js`, `/assets/` + h.build + `/css/app.css`} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	if strings.Contains(body, buildPlaceholder) {
		t.Errorf("index still holds the placeholder %s", buildPlaceholder)
	}
	checkHeader(t, rec, "Content-Type", "text/html; charset=utf-8")
	checkHeader(t, rec, "Cache-Control", "no-cache")
	checkHeader(t, rec, "X-Content-Type-Options", "nosniff")
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want script-src 'self'", csp)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("index has no ETag")
	}
	rec = get(t, h, "GET", "/", map[string]string{"If-None-Match": etag})
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("revalidation: status %d, %d body bytes; want 304 and none", rec.Code, rec.Body.Len())
	}
	rec = get(t, h, "GET", "/", map[string]string{"If-None-Match": `"other"`})
	if rec.Code != http.StatusOK {
		t.Errorf("stale ETag: status %d, want 200", rec.Code)
	}
	rec = get(t, h, "HEAD", "/", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD /: status %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

func checkHeader(t *testing.T, rec *httptest.ResponseRecorder, name, want string) {
	t.Helper()
	if got := rec.Header().Get(name); got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func TestRoutes(t *testing.T) {
	h := testHandler(t)
	index := get(t, h, "GET", "/", nil).Body.String()
	tests := []struct {
		name, method, path string
		status             int
		index              bool // body is index.html
	}{
		{"root", "GET", "/", 200, true},
		{"catalog page", "GET", "/catalog", 200, true},
		{"endpoints with query", "GET", "/endpoints?deploy=Phi-3-mini-4k-instruct", 200, true},
		{"unknown page", "GET", "/no/such/page", 200, true},
		{"trailing slash", "GET", "/usage/", 200, true},
		{"missing file", "GET", "/favicon.ico", 404, false},
		{"missing asset", "GET", "/assets/" + h.build + "/js/nope.js", 404, false},
		{"asset without build", "GET", "/assets/app.js", 404, false},
		{"traversal", "GET", "/assets/" + h.build + "/../web.go", 404, false},
		{"api is not ours", "GET", "/api/models", 404, false},
		{"api root", "GET", "/api", 404, false},
		{"openai route", "GET", "/v1/models", 404, false},
		{"data plane", "POST", "/serverless/eastus2/x/chat/completions", 404, false},
		{"metrics", "GET", "/metrics", 404, false},
		{"post to page", "POST", "/catalog", 405, false},
		{"delete root", "DELETE", "/", 405, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.method, tc.path, nil)
			if rec.Code != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
			}
			if got := rec.Body.String() == index; got != tc.index {
				t.Errorf("%s %s: body is index.html = %v, want %v", tc.method, tc.path, got, tc.index)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("405 without Allow: GET, HEAD")
			}
		})
	}
}

func TestAssets(t *testing.T) {
	h := testHandler(t)
	wantType := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
	}
	if len(h.assets) < 8 {
		t.Fatalf("only %d assets embedded", len(h.assets))
	}
	for name, a := range h.assets {
		ext := name[strings.LastIndex(name, "."):]
		want, ok := wantType[ext]
		if !ok {
			t.Errorf("%s: unexpected asset type %s", name, ext)
			continue
		}
		rec := get(t, h, "GET", "/assets/"+h.build+"/"+name, nil)
		if rec.Code != 200 {
			t.Errorf("%s: status %d", name, rec.Code)
			continue
		}
		checkHeader(t, rec, "Content-Type", want)
		checkHeader(t, rec, "Cache-Control", "public, max-age=31536000, immutable")
		checkHeader(t, rec, "X-Content-Type-Options", "nosniff")
		if rec.Body.String() != string(a.body) {
			t.Errorf("%s: body differs from the embedded file", name)
		}
		// A page of an older build gets the current file, revalidated.
		rec = get(t, h, "GET", "/assets/000000000000/"+name, nil)
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("%s from an old build: status %d, Cache-Control %q", name, rec.Code, rec.Header().Get("Cache-Control"))
		}
		rec = get(t, h, "GET", "/assets/"+h.build+"/"+name, map[string]string{"If-None-Match": a.etag})
		if rec.Code != http.StatusNotModified {
			t.Errorf("%s: revalidation status %d, want 304", name, rec.Code)
		}
	}
}

// TestBuildIDChangesWithContent guards the immutable caching: any change to
// any asset must change every asset URL.
func TestBuildIDChangesWithContent(t *testing.T) {
	a := testHandler(t)
	mod := overlayFS{FS: staticFS, path: "static/css/app.css", extra: "\n/* changed */\n"}
	b, err := newHandler(mod)
	if err != nil {
		t.Fatal(err)
	}
	if a.build == b.build {
		t.Errorf("build id %s did not change when app.css changed", a.build)
	}
}

// overlayFS appends extra to one file of FS.
type overlayFS struct {
	fs.FS
	path, extra string
}

func (o overlayFS) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(o.FS, name)
	if err == nil && name == o.path {
		b = append(b, o.extra...)
	}
	return b, err
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if name != o.path {
		return o.FS.Open(name)
	}
	b, err := o.ReadFile(name)
	if err != nil {
		return nil, err
	}
	f, err := o.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: strings.NewReader(string(b)), info: st}, nil
}

type memFile struct {
	*strings.Reader
	info fs.FileInfo
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.info, nil }
func (m *memFile) Close() error               { return nil }

func TestHandlerPublic(t *testing.T) {
	rec := get(t, Handler(), "GET", "/playground", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<title>") {
		t.Fatalf("Handler(): GET /playground status %d", rec.Code)
	}
}

// TestIndexReferencesExist checks that every asset URL in index.html and
// every relative ES module import in the JavaScript names an embedded file.
func TestIndexReferencesExist(t *testing.T) {
	h := testHandler(t)
	refs := regexp.MustCompile(`(?:src|href)="/assets/`+h.build+`/([^"]+)"`).FindAllStringSubmatch(string(h.index.body), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d assets, want the stylesheet and the script", len(refs))
	}
	for _, m := range refs {
		if h.assets[m[1]] == nil {
			t.Errorf("index.html references %s, which is not embedded", m[1])
		}
	}
	imp := regexp.MustCompile(`(?m)^\s*import\s[^'"]*from\s+'\./([^']+)'`)
	for name, a := range h.assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range imp.FindAllStringSubmatch(string(a.body), -1) {
			if h.assets["js/"+m[1]] == nil {
				t.Errorf("%s imports ./%s, which is not embedded", name, m[1])
			}
		}
	}
}

func TestGzip(t *testing.T) {
	h := testHandler(t)
	a := h.assets["js/app.js"]
	if a == nil || a.gz == nil {
		t.Fatal("js/app.js has no gzip variant")
	}
	target := "/assets/" + h.build + "/js/app.js"
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"", false},
		{"gzip", true},
		{"br, gzip, deflate", true},
		{"GZIP;q=0.5", true},
		{"gzip;q=0", false},
		{"deflate", false},
	} {
		rec := get(t, h, "GET", target, map[string]string{"Accept-Encoding": tc.accept})
		if rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary = %q", tc.accept, rec.Header().Get("Vary"))
		}
		body := rec.Body.Bytes()
		if got := rec.Header().Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("Accept-Encoding %q: gzip = %v, want %v", tc.accept, got, tc.gzip)
			continue
		}
		if tc.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("gzip body: %v", err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("gunzip: %v", err)
			}
		}
		if !bytes.Equal(body, a.body) {
			t.Errorf("Accept-Encoding %q: body differs from app.js", tc.accept)
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("Accept-Encoding %q: Content-Length %s for %d bytes", tc.accept, cl, rec.Body.Len())
		}
	}
	// Each variant revalidates against its own ETag.
	rec := get(t, h, "GET", target, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": a.etag})
	if rec.Code != http.StatusOK {
		t.Errorf("gzip request with the plain ETag: status %d, want 200", rec.Code)
	}
	rec = get(t, h, "GET", target, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": a.gzEtag})
	if rec.Code != http.StatusNotModified {
		t.Errorf("gzip request with the gzip ETag: status %d, want 304", rec.Code)
	}
}
