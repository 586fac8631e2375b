package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"maas/internal/snapshot"
)

// Options configure a Gateway. Holder and Backend are required.
type Options struct {
	Holder  *snapshot.Holder   // the control plane's published endpoints
	Backend Backend            // runs models
	Usage   snapshot.UsageSink // receives one record per request that reached a model; nil discards
	Limiter Limiter            // quotas; nil: a MemoryLimiter
	Logger  *slog.Logger       // nil: slog.Default()
	// Domain enables host routing: {name}.{region}.{Domain} serves the
	// endpoint at the host's root. Empty: only /serverless/{region}/{name}.
	Domain string
	// APIVersions are the api-version values accepted; nil: the documented
	// 2024-04-01-preview and 2024-05-01-preview. A missing api-version is
	// always accepted (OpenAI clients send none).
	APIVersions  []string
	MaxBodyBytes int64            // request body limit; 0: 4 MiB
	MaxChoices   int              // largest n; 0: 4
	Now          func() time.Time // clock; nil: time.Now
	// ContentFilter rates prompts and completions of endpoints with
	// ContentSafety on, on the Azure AI Model Inference routes only (not
	// /v1); nil: nothing is filtered. See safety.go.
	ContentFilter ContentFilter
	// FilterChunk is how many bytes of streamed completion text are held
	// back between checks; 0: 200.
	FilterChunk int
}

// Gateway serves the data plane. It is an http.Handler.
type Gateway struct {
	opts    Options
	paths   *http.ServeMux // /serverless/{region}/{name}/..., /v1/..., /metrics
	hosts   *http.ServeMux // host-routed endpoint roots
	metrics *metrics
}

// New returns a Gateway. Mount it for /serverless/, /v1/ and /metrics, or
// wrap the rest of the server with Wrap so host routing works too.
func New(opts Options) (*Gateway, error) {
	if opts.Holder == nil {
		return nil, errors.New("gateway: Options.Holder is required")
	}
	if opts.Backend == nil {
		return nil, errors.New("gateway: Options.Backend is required")
	}
	if opts.Limiter == nil {
		opts.Limiter = NewMemoryLimiter(opts.Now)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.MaxChoices <= 0 {
		opts.MaxChoices = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FilterChunk <= 0 {
		opts.FilterChunk = 200
	}
	if opts.APIVersions == nil {
		opts.APIVersions = []string{"2024-04-01-preview", "2024-05-01-preview"}
	}
	opts.Domain = strings.Trim(strings.ToLower(opts.Domain), ".")
	g := &Gateway{opts: opts, paths: http.NewServeMux(), hosts: http.NewServeMux(), metrics: newMetrics()}

	byPath := g.routeByPath
	base := "/serverless/{region}/{name}"
	g.paths.HandleFunc("POST "+base+"/chat/completions", g.handle(byPath, surfaceAzure, g.serveChat))
	g.paths.HandleFunc("POST "+base+"/v1/chat/completions", g.handle(byPath, surfaceOpenAI, g.serveChat))
	g.paths.HandleFunc("POST "+base+"/completions", g.handle(byPath, surfaceAzure, g.serveCompletion))
	g.paths.HandleFunc("POST "+base+"/v1/completions", g.handle(byPath, surfaceOpenAI, g.serveCompletion))
	g.paths.HandleFunc("GET "+base+"/info", g.handle(byPath, surfaceAzure, g.serveInfo))
	g.paths.HandleFunc("GET "+base+"/v1/models", g.handle(byPath, surfaceOpenAI, g.serveModels))
	g.paths.HandleFunc(base+"/{rest...}", g.handle(byPath, surfaceAzure, g.serveUnsupported))
	g.paths.HandleFunc("POST /v1/chat/completions", g.handle(g.routeByKey, surfaceOpenAI, g.serveChat))
	g.paths.HandleFunc("POST /v1/completions", g.handle(g.routeByKey, surfaceOpenAI, g.serveCompletion))
	g.paths.HandleFunc("GET /v1/models", g.handle(g.routeByKey, surfaceOpenAI, g.serveModels))
	g.paths.HandleFunc("/v1/{rest...}", g.handle(g.routeByKey, surfaceOpenAI, g.serveUnsupported))
	g.paths.HandleFunc("GET /metrics", g.serveMetrics)

	byHost := g.routeByHost
	g.hosts.HandleFunc("POST /chat/completions", g.handle(byHost, surfaceAzure, g.serveChat))
	g.hosts.HandleFunc("POST /v1/chat/completions", g.handle(byHost, surfaceOpenAI, g.serveChat))
	g.hosts.HandleFunc("POST /completions", g.handle(byHost, surfaceAzure, g.serveCompletion))
	g.hosts.HandleFunc("POST /v1/completions", g.handle(byHost, surfaceOpenAI, g.serveCompletion))
	g.hosts.HandleFunc("GET /info", g.handle(byHost, surfaceAzure, g.serveInfo))
	g.hosts.HandleFunc("GET /v1/models", g.handle(byHost, surfaceOpenAI, g.serveModels))
	g.hosts.HandleFunc("/{rest...}", g.handle(byHost, surfaceAzure, g.serveUnsupported))
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" && cors(w, r) {
		return
	}
	if _, _, ok := g.hostEndpoint(r); ok {
		g.hosts.ServeHTTP(w, r)
		return
	}
	g.paths.ServeHTTP(w, r)
}

// Owns reports whether r is for the data plane: a host-routed endpoint, or
// a path under /serverless/ or /v1/, or /metrics.
func (g *Gateway) Owns(r *http.Request) bool {
	if _, _, ok := g.hostEndpoint(r); ok {
		return true
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/serverless/") || strings.HasPrefix(p, "/v1/") || p == "/metrics"
}

// Wrap returns a handler that sends data-plane requests (see Owns) to g and
// everything else to next.
func (g *Gateway) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Owns(r) {
			g.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cors lets browser pages call endpoints with a key (no cookies are used,
// so any origin may): it answers preflight requests, reporting whether it
// did, and exposes the quota and request id headers on the others.
func cors(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, api-key, Content-Type, extra-parameters, x-ms-client-request-id")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", "x-request-id, apim-request-id, x-ms-error-code, Retry-After, retry-after-ms, "+
		"x-ratelimit-limit-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-requests, "+
		"x-ratelimit-remaining-tokens, x-ratelimit-reset-requests, x-ratelimit-reset-tokens")
	return false
}

// hostEndpoint parses {name}.{region}.{Domain} from the Host header.
func (g *Gateway) hostEndpoint(r *http.Request) (region, name string, ok bool) {
	if g.opts.Domain == "" {
		return "", "", false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	prefix, found := strings.CutSuffix(host, "."+g.opts.Domain)
	if !found {
		return "", "", false
	}
	name, region, found = strings.Cut(prefix, ".")
	if !found || name == "" || region == "" || strings.Contains(region, ".") {
		return "", "", false
	}
	return region, name, true
}

// surface is the wire dialect of a route.
type surface int

const (
	surfaceAzure  surface = iota // Azure AI Model Inference API
	surfaceOpenAI                // OpenAI-compatible /v1 routes
)

// router finds the endpoint a request is for and checks that key opens it:
// 404 for no endpoint, 401 for a missing key or another endpoint's key.
type router func(cfg *snapshot.Config, r *http.Request, key string) (*snapshot.Endpoint, *apiError)

func (g *Gateway) routeByPath(cfg *snapshot.Config, r *http.Request, key string) (*snapshot.Endpoint, *apiError) {
	return authorize(cfg, cfg.Route(r.PathValue("region"), r.PathValue("name")), key)
}

func (g *Gateway) routeByHost(cfg *snapshot.Config, r *http.Request, key string) (*snapshot.Endpoint, *apiError) {
	region, name, _ := g.hostEndpoint(r)
	return authorize(cfg, cfg.Route(region, name), key)
}

func (g *Gateway) routeByKey(cfg *snapshot.Config, _ *http.Request, key string) (*snapshot.Endpoint, *apiError) {
	if key == "" {
		return nil, errUnauthorized()
	}
	ep := cfg.Authenticate(key)
	if ep == nil {
		return nil, errUnauthorized()
	}
	return ep, nil
}

func authorize(cfg *snapshot.Config, ep *snapshot.Endpoint, key string) (*snapshot.Endpoint, *apiError) {
	if ep == nil {
		return nil, errf(http.StatusNotFound, "not_found", "No serverless endpoint at this address.")
	}
	if key == "" {
		return nil, errUnauthorized()
	}
	if got := cfg.Authenticate(key); got == nil || got.ID != ep.ID {
		return nil, errUnauthorized()
	}
	return ep, nil
}

func errUnauthorized() *apiError {
	return errf(http.StatusUnauthorized, "unauthorized", "Access token is missing or invalid.")
}

// requestKey returns the key from api-key or Authorization: Bearer.
func requestKey(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("api-key")); k != "" {
		return k
	}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

// call is one request in flight.
type call struct {
	g       *Gateway
	w       *statusWriter
	r       *http.Request
	id      string
	start   time.Time
	surface surface
	ep      *snapshot.Endpoint
	lim     Limits
	log     *slog.Logger
}

type handlerFunc func(c *call) *apiError

// handle wraps a route: request id, auth and routing, api-version, quota
// headers, error rendering, metrics and the access log.
func (g *Gateway) handle(route router, s surface, h handlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		g.metrics.inflight.Add(1)
		defer g.metrics.inflight.Add(-1)
		c := &call{g: g, w: &statusWriter{ResponseWriter: rw}, r: r, id: newRequestID(), start: g.opts.Now(), surface: s}
		c.log = g.opts.Logger.With("request_id", c.id)
		hdr := rw.Header()
		hdr.Set("x-request-id", c.id)
		hdr.Set("apim-request-id", c.id)
		if cid := r.Header.Get("x-ms-client-request-id"); cid != "" && len(cid) <= 128 {
			hdr.Set("x-ms-client-request-id", cid)
		}
		e := c.serve(route, h)
		if e != nil && !c.w.wrote {
			writeError(c.w, e)
		}
		epName, model := "", ""
		if c.ep != nil {
			epName, model = c.ep.Region+"/"+c.ep.Name, c.ep.Model.Name
		}
		g.metrics.observeRequest(epName, model, c.w.code())
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", c.w.code(),
			"duration_ms", g.opts.Now().Sub(c.start).Milliseconds()}
		if c.ep != nil {
			attrs = append(attrs, "endpoint", epName, "project", c.ep.Project)
		}
		if e != nil {
			attrs = append(attrs, "error", e.message)
		}
		c.log.Info("inference request", attrs...)
	}
}

func (c *call) serve(route router, h handlerFunc) *apiError {
	cfg := c.g.opts.Holder.Load()
	ep, e := route(cfg, c.r, requestKey(c.r))
	if e != nil {
		return e
	}
	c.ep = ep
	c.lim = limitsOf(ep.TokensPerMinute, ep.RequestsPerMinute)
	c.quotaHeaders()
	if !ep.Online {
		return errf(http.StatusServiceUnavailable, "endpoint_not_ready", "The endpoint %q is not online.", ep.Name)
	}
	if e := c.g.checkAPIVersion(c.r); e != nil {
		return e
	}
	return h(c)
}

// quotaHeaders sets the x-ratelimit headers from the current quota; a
// reservation later replaces them with what it left.
func (c *call) quotaHeaders() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.r.Context()), time.Second)
	defer cancel()
	q, err := c.g.opts.Limiter.Peek(ctx, c.ep.ID, c.lim)
	if err != nil {
		c.log.Warn("read quota", "error", err)
		return
	}
	setQuotaHeaders(c.w.Header(), q)
}

// checkAPIVersion accepts a missing api-version (OpenAI clients) and the
// configured versions.
func (g *Gateway) checkAPIVersion(r *http.Request) *apiError {
	v, present := r.URL.Query()["api-version"]
	if !present || (len(v) == 1 && slices.Contains(g.opts.APIVersions, v[0])) {
		return nil
	}
	return errf(http.StatusBadRequest, "unsupported_api_version",
		"api-version %q is not supported; use one of %s.", strings.Join(v, ","), strings.Join(g.opts.APIVersions, ", "))
}

// statusWriter records whether and with which status a response started.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.status
}
