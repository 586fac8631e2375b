// Package snapshot is the contract between the control plane and the data
// plane: an immutable, fully indexed view of every serverless endpoint (route,
// key hashes, limits, model) that the control plane rebuilds after each change
// and the gateway reads lock-free on every request. The request path therefore
// never touches the database for keys or routes.
//
// It imports only the standard library. Both internal/controlplane and
// internal/gateway import it; neither imports the other.
package snapshot

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"sync/atomic"
	"time"
)

// KeyHash is the SHA-256 of an endpoint key. Keys are 32 random characters, so
// an unsalted hash is safe against guessing; the plain key is never kept here.
type KeyHash [sha256.Size]byte

// HashKey returns the hash under which a key is indexed.
func HashKey(key string) KeyHash { return sha256.Sum256([]byte(key)) }

// Model is what the data plane needs to know about an endpoint's catalog model.
type Model struct {
	Name          string  // catalog name, e.g. "Phi-3-mini-4k-instruct"; reported as "model" in responses
	CatalogID     string  // azureml://registries/azureml/models/<Name>
	File          string  // local GGUF path for the built-in engine; empty when served by Upstream
	Upstream      string  // base URL of an OpenAI-compatible upstream (vLLM, llama.cpp server); empty for the built-in engine
	UpstreamModel string  // model name to send to the upstream
	ContextLength int     // tokens
	InputPer1K    float64 // USD per 1,000 prompt tokens
	OutputPer1K   float64 // USD per 1,000 completion tokens
	SystemRole    bool    // accepts the system role; otherwise system turns become user turns
	Tools         bool    // accepts tools / tool_choice
	JSONMode      bool    // accepts response_format json_object
	Provider      string  // "Microsoft"
	// IdleTimeout is how long the built-in engine keeps the model loaded
	// without requests (operator setting; 0: the server's default).
	IdleTimeout time.Duration
}

// Endpoint is one serverless endpoint as the data plane sees it.
type Endpoint struct {
	ID                string // stable id, unique in the installation
	Name              string // endpoint name (unique per region)
	Region            string
	Hub               string
	Project           string
	Model             Model
	TokensPerMinute   int64      // quota: prompt+completion tokens per minute
	RequestsPerMinute int64      // quota: requests per minute
	Keys              [2]KeyHash // primary, secondary
	Online            bool       // provisioningState Succeeded and endpointState Online
	// ContentSafety: contentSafetyStatus is Enabled, so prompts and
	// completions on the Azure AI Model Inference routes are filtered.
	ContentSafety bool
}

// Config is an immutable view of all endpoints. Never modify one after New.
type Config struct {
	Version   int64
	Built     time.Time
	Endpoints []*Endpoint
	byRoute   map[routeKey]*Endpoint
	byKey     map[KeyHash]*Endpoint
}

type routeKey struct{ region, name string }

// New indexes endpoints into a Config. Version should grow with each change.
func New(version int64, endpoints []*Endpoint) *Config {
	c := &Config{
		Version:   version,
		Built:     time.Now(),
		Endpoints: endpoints,
		byRoute:   make(map[routeKey]*Endpoint, len(endpoints)),
		byKey:     make(map[KeyHash]*Endpoint, 2*len(endpoints)),
	}
	for _, ep := range endpoints {
		c.byRoute[routeKey{ep.Region, ep.Name}] = ep
		for _, k := range ep.Keys {
			if k != (KeyHash{}) {
				c.byKey[k] = ep
			}
		}
	}
	return c
}

// Route returns the endpoint serving region/name, or nil.
func (c *Config) Route(region, name string) *Endpoint {
	if c == nil {
		return nil
	}
	return c.byRoute[routeKey{region, name}]
}

// Authenticate returns the endpoint that key opens, or nil. The final
// comparison is constant-time.
func (c *Config) Authenticate(key string) *Endpoint {
	if c == nil || key == "" {
		return nil
	}
	h := HashKey(key)
	ep := c.byKey[h]
	if ep == nil {
		return nil
	}
	for _, k := range ep.Keys {
		if subtle.ConstantTimeCompare(k[:], h[:]) == 1 {
			return ep
		}
	}
	return nil
}

// Holder publishes the current Config. The zero value holds an empty Config.
type Holder struct {
	cur  atomic.Pointer[Config]
	mu   sync.Mutex
	subs []func(*Config)
}

// Load returns the current Config (never nil).
func (h *Holder) Load() *Config {
	if c := h.cur.Load(); c != nil {
		return c
	}
	return New(0, nil)
}

// Store publishes c and calls the subscribers in order.
func (h *Holder) Store(c *Config) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur.Store(c)
	for _, f := range h.subs {
		f(c)
	}
}

// Subscribe registers f to be called with every Config stored from now on.
func (h *Holder) Subscribe(f func(*Config)) {
	h.mu.Lock()
	h.subs = append(h.subs, f)
	h.mu.Unlock()
}

// UsageRecord is one metered request: written exactly once for every request
// that reached a model, whatever its outcome.
type UsageRecord struct {
	RequestID        string
	Time             time.Time // when the request arrived (UTC)
	Hub              string
	Project          string
	EndpointID       string
	Endpoint         string
	Region           string
	Model            string
	PromptTokens     int64
	CompletionTokens int64
	Status           int    // HTTP status returned (200 for a completed stream)
	FinishReason     string // stop, length, cancelled, error
	Stream           bool
	TimeToFirstToken time.Duration // 0 when no token was produced
	Duration         time.Duration
	InputCost        float64 // USD: PromptTokens/1000 * InputPer1K
	OutputCost       float64 // USD: CompletionTokens/1000 * OutputPer1K
}

// UsageSink takes usage records without blocking the request path.
type UsageSink interface {
	Record(UsageRecord)
}
