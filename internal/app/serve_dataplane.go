package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"time"

	"github.com/redis/go-redis/v9"

	"maas/internal/controlplane"
	"maas/internal/engine"
	"maas/internal/engine/lifecycle"
	"maas/internal/gateway"
	"maas/internal/gateway/contentsafety"
	"maas/internal/gateway/upstream"
	"maas/internal/ledger"
	"maas/internal/snapshot"
	"maas/internal/store"
	"maas/internal/web"
)

// dataPlaneDeps is what the data plane needs from serve.
type dataPlaneDeps struct {
	Store   store.Store // AppendUsage for the usage ledger
	DataDir string
	Env     Env
	Logger  *slog.Logger
	Domain  string
	Opts    *dataPlaneFlags
	// Authorize checks a management bearer token (for /api/ps).
	Authorize func(r *http.Request) error
}

// dataPlaneFlags are serve's flags for the data plane and the engine.
type dataPlaneFlags struct {
	threads     int
	maxSeqs     int
	maxQueue    int
	idle        time.Duration
	maxModels   int
	maxMemory   int64
	kvBytes     int64
	redisURL    string
	upstreamKey string
	safetyURL   string
	safetyKey   string
	blocklist   string
	keepCache   bool
}

func addDataPlaneFlags(fs *flag.FlagSet) *dataPlaneFlags {
	f := &dataPlaneFlags{}
	fs.IntVar(&f.threads, "threads", runtime.NumCPU(), "engine worker threads per model")
	fs.IntVar(&f.maxSeqs, "max-seqs", 8, "sequences decoded together per model (continuous batch size)")
	fs.IntVar(&f.maxQueue, "max-queue", 64, "requests waiting per model before 503 with Retry-After")
	fs.DurationVar(&f.idle, "idle-unload", 5*time.Minute, "unload a model after this long without requests (catalog entries may override)")
	fs.Int64Var(&f.kvBytes, "kv-cache-memory", 4<<30, "bytes of KV cache per model for running and kept sequences; requests wait for room (0: no bound)")
	fs.IntVar(&f.maxModels, "max-models", 0, "most models loaded at once, least recently used unloaded first (0: no limit)")
	fs.Int64Var(&f.maxMemory, "max-model-memory", 0, "most bytes of loaded models (0: no limit)")
	fs.StringVar(&f.redisURL, "redis", "", "Redis URL (redis://host:6379/0) to share rate limits between gateway replicas (env MAAS_REDIS_URL)")
	fs.StringVar(&f.upstreamKey, "upstream-key", "", "API key sent to OpenAI-compatible upstreams (env MAAS_UPSTREAM_KEY)")
	fs.StringVar(&f.safetyURL, "content-safety-url", "", "Azure AI Content Safety endpoint (https://<name>.cognitiveservices.azure.com or an on-premises container) that rates prompts and completions of endpoints with content safety Enabled")
	fs.StringVar(&f.safetyKey, "content-safety-key", "", "key for --content-safety-url (env MAAS_CONTENT_SAFETY_KEY)")
	fs.StringVar(&f.blocklist, "content-safety-blocklist", "", "file of terms per category (\"Violence: term\" lines or JSON) that filter endpoints with content safety Enabled; checked before the service")
	fs.BoolVar(&f.keepCache, "keep-page-cache", false, "fault model weights in as the page cache holds them (by default a model file cached in 4 KiB pages is read again once so that it maps with 2 MiB pages: faster decoding)")
	return f
}

// contentFilter builds the gateway's content filter from the flags: the
// blocklist, then the Content Safety service. nil when neither is set.
func contentFilter(f *dataPlaneFlags, env Env, logger *slog.Logger) (gateway.ContentFilter, error) {
	var filters []gateway.ContentFilter
	if f.blocklist != "" {
		b, err := contentsafety.LoadBlocklist(f.blocklist)
		if err != nil {
			return nil, err
		}
		filters = append(filters, b)
		logger.Info("content filter: blocklist", "file", f.blocklist, "terms", b.Len())
	}
	if f.safetyURL != "" {
		c, err := contentsafety.NewClient(f.safetyURL, firstNonEmpty(f.safetyKey, env.Getenv("MAAS_CONTENT_SAFETY_KEY")), nil)
		if err != nil {
			return nil, err
		}
		filters = append(filters, c)
		logger.Info("content filter: Azure AI Content Safety", "url", f.safetyURL)
	} else if f.safetyKey != "" {
		return nil, errors.New("--content-safety-key needs --content-safety-url")
	}
	if len(filters) == 0 {
		logger.Warn("no content filter configured (--content-safety-url, --content-safety-blocklist): endpoints with content safety Enabled are served unfiltered")
		return nil, nil
	}
	return contentsafety.Chain(filters...), nil
}

// mountDataPlane mounts the gateway (/serverless/..., /v1/..., /metrics and
// host-routed endpoints), the usage ledger, the engine backend, GET /api/ps
// and the web playground (everything else) on mux, and returns the handler
// to serve (the gateway wraps mux for host routing). stop ends them after the
// HTTP server has shut down, flushing usage.
func mountDataPlane(ctx context.Context, mux *http.ServeMux, holder *snapshot.Holder, deps dataPlaneDeps) (http.Handler, func(), error) {
	f := deps.Opts
	if f == nil {
		f = addDataPlaneFlags(flag.NewFlagSet("", flag.ContinueOnError))
	}
	mgr := lifecycle.New(engineLoader(engine.Options{Threads: f.threads, MaxSeqs: f.maxSeqs, MaxQueue: f.maxQueue,
		KVCacheBytes: f.kvBytes, KeepPageCache: f.keepCache}, deps.Logger),
		lifecycle.Options{IdleTimeout: f.idle, MaxModels: f.maxModels, MaxBytes: f.maxMemory})
	local := &engineBackend{mgr: mgr}
	remote := upstream.New(&http.Client{}, firstNonEmpty(f.upstreamKey, deps.Env.Getenv("MAAS_UPSTREAM_KEY")))

	var limiter gateway.Limiter
	var rdb *redis.Client
	if u := firstNonEmpty(f.redisURL, deps.Env.Getenv("MAAS_REDIS_URL")); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			mgr.Close()
			return nil, nil, fmt.Errorf("parse redis URL: %w", err)
		}
		rdb = redis.NewClient(opt)
		if err := rdb.Ping(ctx).Err(); err != nil {
			mgr.Close()
			rdb.Close()
			return nil, nil, fmt.Errorf("connect to redis %s: %w", opt.Addr, err)
		}
		limiter = gateway.NewRedisLimiter(rdb, "maas:rl:")
	}

	filter, err := contentFilter(f, deps.Env, deps.Logger)
	if err != nil {
		mgr.Close()
		if rdb != nil {
			rdb.Close()
		}
		return nil, nil, err
	}
	usage := ledger.New(deps.Store, ledger.Options{Logger: deps.Logger})
	gw, err := gateway.New(gateway.Options{
		Holder:        holder,
		Backend:       &routedBackend{local: local, remote: remote},
		Usage:         usage,
		Limiter:       limiter,
		Logger:        deps.Logger,
		Domain:        deps.Domain,
		ContentFilter: filter,
	})
	if err != nil {
		mgr.Close()
		return nil, nil, err
	}
	mux.Handle("GET /api/ps", psHandler(mgr, deps.Authorize))
	mux.Handle("/", web.Handler())
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := usage.Close(ctx); err != nil {
			deps.Logger.Error("flush usage ledger", "error", err)
		}
		if err := mgr.Close(); err != nil {
			deps.Logger.Error("unload models", "error", err)
		}
		if rdb != nil {
			rdb.Close()
		}
	}
	metricsHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw.ServeHTTP(w, r)
		fmt.Fprint(w, lifecycleMetrics(mgr))
	})
	dp := gw.Wrap(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/metrics" {
			metricsHandler(w, r)
			return
		}
		dp.ServeHTTP(w, r)
	}), stop, nil
}

// routedBackend serves endpoints backed by an OpenAI-compatible upstream
// through the proxy and the rest with the built-in engine.
type routedBackend struct {
	local  *engineBackend
	remote *upstream.Backend
}

func (b *routedBackend) Model(ctx context.Context, ep *snapshot.Endpoint) (gateway.Model, error) {
	if ep.Model.Upstream != "" {
		return b.remote.Model(ctx, ep)
	}
	return b.local.Model(ctx, ep)
}

func (b *routedBackend) QueueLengths() map[string]int { return b.local.QueueLengths() }

// lifecycleMetrics renders the model lifecycle counters in Prometheus text format.
func lifecycleMetrics(mgr *lifecycle.Manager) string {
	c := mgr.Counters()
	st := mgr.Status()
	var loaded, bytes int64
	for _, s := range st {
		if !s.Loading {
			loaded++
			bytes += s.Bytes
		}
	}
	return fmt.Sprintf(`# HELP maas_model_cold_starts_total Models loaded because a request found them unloaded.
# TYPE maas_model_cold_starts_total counter
maas_model_cold_starts_total %d
# HELP maas_model_warm_starts_total Requests that found their model loaded.
# TYPE maas_model_warm_starts_total counter
maas_model_warm_starts_total %d
# HELP maas_model_unloads_total Models unloaded (idle or evicted).
# TYPE maas_model_unloads_total counter
maas_model_unloads_total %d
# HELP maas_model_evictions_total Models unloaded to make room for another.
# TYPE maas_model_evictions_total counter
maas_model_evictions_total %d
# HELP maas_model_load_errors_total Failed model loads.
# TYPE maas_model_load_errors_total counter
maas_model_load_errors_total %d
# HELP maas_model_load_seconds_total Time spent loading models.
# TYPE maas_model_load_seconds_total counter
maas_model_load_seconds_total %g
# HELP maas_models_loaded Models loaded now.
# TYPE maas_models_loaded gauge
maas_models_loaded %d
# HELP maas_models_loaded_bytes Memory of the loaded models.
# TYPE maas_models_loaded_bytes gauge
maas_models_loaded_bytes %d
`, c.ColdStarts, c.WarmStarts, c.Unloads, c.Evictions, c.LoadErrors, c.LoadTime.Seconds(), loaded, bytes)
}

// psHandler answers GET /api/ps with the loaded models (see runPs).
func psHandler(mgr *lifecycle.Manager, authorize func(*http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authorize != nil {
			if err := authorize(r); err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "Unauthorized", "message": err.Error()}})
				return
			}
		}
		models := []psModel{}
		for _, s := range mgr.Status() {
			m := psModel{Name: filepath.Base(s.Path), Path: s.Path, MemoryBytes: s.Bytes, Active: s.Active,
				LoadedAt: s.LoadedAt, LastUsed: s.LastUsed}
			if s.Active == 0 && !s.Loading {
				m.ExpiresAt = s.LastUsed.Add(s.IdleTimeout)
			}
			if e, ok := s.Instance.(*engine.Engine); ok {
				st := e.Stats()
				m.Active, m.Queued = st.Active, st.Queued
			}
			models = append(models, m)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"models": models})
	})
}

// weightsChecker validates weight files before endpoints go online and on
// import: the GGUF header must parse and match the catalog entry's
// architecture and shape.
func weightsChecker() controlplane.WeightsChecker { return controlplane.GGUFChecker{} }
