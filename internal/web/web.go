// Package web serves the embedded playground and dashboard: a dependency-free
// single-page app (plain HTML, CSS and ES modules, no build step, no CDN) that
// shows the model catalog, a project's serverless endpoints and keys, a
// streaming chat playground and usage with cost.
//
// The app talks only to the public HTTP APIs (management REST under /api with a
// principal's bearer token, and an endpoint's inference URI with its key), so
// this package imports nothing of the service: only embed, net/http and the
// standard library. internal/app mounts Handler at "/"; /api, /v1, /serverless
// and /metrics belong to other handlers and are never answered with the app.
//
// Pages: /catalog, /endpoints (?deploy=<model> opens the create dialog),
// /playground (?endpoint=<name>) and /usage (?groupBy=endpoint|day|model).
// Every page takes ?project=<name>; a "#token=<principal token>" fragment signs
// in without the dialog and is removed from the address bar at once.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

// staticFS holds the app's files under static/ (read-only).
//
//go:embed static
var staticFS embed.FS

// buildPlaceholder in index.html is replaced by the build id, so asset URLs
// change whenever any asset changes and can be cached for a year.
const buildPlaceholder = "__BUILD__"

// assetsPrefix is the URL prefix of the static assets: /assets/<build>/<file>.
const assetsPrefix = "/assets/"

// reserved reports whether p belongs to the API, data plane or metrics
// handlers. A request that reaches this handler there gets a plain 404, never
// the app's HTML (a missing API must not look like a page).
func reserved(p string) bool {
	for _, pre := range [...]string{"/api", "/v1", "/serverless", "/metrics"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// Cache-Control values: the page is revalidated on every load (cheap with the
// ETag); versioned assets never change under their URL.
const (
	cacheRevalidate = "no-cache"
	cacheImmutable  = "public, max-age=31536000, immutable"
)

// contentSecurityPolicy allows only this origin's scripts and styles. Fetches
// may go to other origins because an endpoint's inference URI can be on its own
// host (https://<name>.<region>.<domain>).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string // quoted strong ETag
	gz          []byte // gzip of body; nil when that is not smaller
	gzEtag      string // ETag of the gzip variant
}

// handler serves index.html for the app's routes and the assets under
// /assets/<build>/.
type handler struct {
	build  string            // 12 hex digits of the SHA-256 over all assets
	index  asset             // index.html with the build id filled in
	assets map[string]*asset // by path relative to static/, e.g. "js/app.js"
}

// Handler returns the playground's HTTP handler. It answers GET and HEAD only.
// It panics only if the embedded files are malformed, which the package tests
// rule out.
func Handler() http.Handler {
	h, err := newHandler(staticFS)
	if err != nil {
		panic(fmt.Sprintf("web: load embedded assets: %v", err))
	}
	return h
}

// newHandler reads every file under static/ of fsys.
func newHandler(fsys fs.FS) (*handler, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("open static: %w", err)
	}
	var names []string
	files := map[string][]byte{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		names = append(names, p)
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk static: %w", err)
	}
	indexSrc, ok := files["index.html"]
	if !ok {
		return nil, fmt.Errorf("static/index.html missing")
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		fmt.Fprintf(sum, "%s\x00%d\x00", n, len(files[n]))
		sum.Write(files[n])
	}
	h := &handler{
		build:  hex.EncodeToString(sum.Sum(nil))[:12],
		assets: make(map[string]*asset, len(names)),
	}
	for _, n := range names {
		if n == "index.html" {
			continue
		}
		ct := mime.TypeByExtension(path.Ext(n))
		if ct == "" {
			return nil, fmt.Errorf("asset %s: no content type for its extension", n)
		}
		h.assets[n] = newAsset(files[n], ct)
	}
	h.index = *newAsset(bytes.ReplaceAll(indexSrc, []byte(buildPlaceholder), []byte(h.build)), "text/html; charset=utf-8")
	return h, nil
}

func newAsset(body []byte, contentType string) *asset {
	s := sha256.Sum256(body)
	tag := hex.EncodeToString(s[:8])
	a := &asset{body: body, contentType: contentType, etag: `"` + tag + `"`}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(body)
	zw.Close()
	if buf.Len() < len(body) {
		a.gz, a.gzEtag = buf.Bytes(), `"`+tag+`-gz"`
	}
	return a
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if reserved(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")

	if rest, ok := strings.CutPrefix(r.URL.Path, assetsPrefix); ok {
		build, name, _ := strings.Cut(rest, "/")
		a := h.assets[name]
		if a == nil || strings.Contains(name, "..") {
			http.NotFound(w, r)
			return
		}
		if build == h.build {
			hdr.Set("Cache-Control", cacheImmutable)
		} else {
			// A page from an older build: serve the current file, uncached.
			hdr.Set("Cache-Control", cacheRevalidate)
		}
		serveAsset(w, r, a)
		return
	}
	// Any other path that looks like a file (has an extension) is a real 404;
	// everything else is a route of the single-page app.
	if path.Ext(r.URL.Path) != "" {
		http.NotFound(w, r)
		return
	}
	hdr.Set("Cache-Control", cacheRevalidate)
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Frame-Options", "DENY")
	serveAsset(w, r, &h.index)
}

// serveAsset writes a (gzipped when the client accepts it) with its ETag,
// answering 304 when the client has that variant.
func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	body, etag := a.body, a.etag
	if a.gz != nil {
		hdr.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, a.gzEtag
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		hdr.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (q > 0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// etagMatches reports whether an If-None-Match header names etag (or "*").
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
