package gateway

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// metrics holds the gateway's counters, written as Prometheus text by hand.
type metrics struct {
	inflight atomic.Int64

	mu               sync.Mutex
	requests         map[[3]string]uint64 // endpoint, model, status code
	promptTokens     map[[2]string]uint64 // endpoint, model
	completionTokens map[[2]string]uint64
	rateLimited      map[[2]string]uint64 // endpoint, exceeded (tokens|requests|queue)
	ttft             map[[2]string]*histogram
	tpot             map[[2]string]*histogram
	filtered         map[[3]string]uint64 // endpoint, kind (prompt|completion), category
	filterErrors     map[string]uint64    // endpoint
}

func newMetrics() *metrics {
	return &metrics{
		requests:         make(map[[3]string]uint64),
		promptTokens:     make(map[[2]string]uint64),
		completionTokens: make(map[[2]string]uint64),
		rateLimited:      make(map[[2]string]uint64),
		ttft:             make(map[[2]string]*histogram),
		tpot:             make(map[[2]string]*histogram),
		filtered:         make(map[[3]string]uint64),
		filterErrors:     make(map[string]uint64),
	}
}

// Bucket upper bounds in seconds.
func ttftBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
}

func tpotBuckets() []float64 {
	return []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
}

type histogram struct {
	bounds []float64
	counts []uint64 // per bound, not cumulative; last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

// observeRequest counts one finished request.
func (m *metrics) observeRequest(endpoint, model string, status int) {
	m.mu.Lock()
	m.requests[[3]string{endpoint, model, strconv.Itoa(status)}]++
	m.mu.Unlock()
}

// observeGeneration counts tokens and latencies of one generation.
func (m *metrics) observeGeneration(endpoint, model string, prompt, completion int64, ttft, decode time.Duration) {
	k := [2]string{endpoint, model}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.promptTokens[k] += uint64(prompt)
	m.completionTokens[k] += uint64(completion)
	if ttft > 0 {
		h := m.ttft[k]
		if h == nil {
			h = newHistogram(ttftBuckets())
			m.ttft[k] = h
		}
		h.observe(ttft.Seconds())
	}
	if completion > 1 && decode > 0 {
		h := m.tpot[k]
		if h == nil {
			h = newHistogram(tpotBuckets())
			m.tpot[k] = h
		}
		h.observe(decode.Seconds() / float64(completion-1))
	}
}

// observeFiltered counts one filtered prompt or completion under each
// category that flagged it.
func (m *metrics) observeFiltered(endpoint, kind string, categories []string) {
	m.mu.Lock()
	for _, c := range categories {
		m.filtered[[3]string{endpoint, kind, c}]++
	}
	m.mu.Unlock()
}

func (m *metrics) observeFilterError(endpoint string) {
	m.mu.Lock()
	m.filterErrors[endpoint]++
	m.mu.Unlock()
}

func (m *metrics) observeRateLimited(endpoint, exceeded string) {
	m.mu.Lock()
	m.rateLimited[[2]string{endpoint, exceeded}]++
	m.mu.Unlock()
}

// write renders every metric in the Prometheus text exposition format.
func (m *metrics) write(w io.Writer, queues map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP maas_requests_total Inference requests by endpoint, model and HTTP status.\n# TYPE maas_requests_total counter\n")
	for _, k := range sortedKeys3(m.requests) {
		fmt.Fprintf(&b, "maas_requests_total{endpoint=%s,model=%s,code=%s} %d\n", q(k[0]), q(k[1]), q(k[2]), m.requests[k])
	}
	writeCounter2(&b, "maas_prompt_tokens_total", "Prompt tokens processed.", "endpoint", "model", m.promptTokens)
	writeCounter2(&b, "maas_completion_tokens_total", "Completion tokens generated.", "endpoint", "model", m.completionTokens)
	writeCounter2(&b, "maas_rate_limited_total", "Requests refused with 429 or 503, by the limit hit.", "endpoint", "limit", m.rateLimited)
	b.WriteString("# HELP maas_content_filtered_total Prompts and completions filtered, by endpoint, kind and category.\n# TYPE maas_content_filtered_total counter\n")
	for _, k := range sortedKeys3(m.filtered) {
		fmt.Fprintf(&b, "maas_content_filtered_total{endpoint=%s,kind=%s,category=%s} %d\n", q(k[0]), q(k[1]), q(k[2]), m.filtered[k])
	}
	b.WriteString("# HELP maas_content_filter_errors_total Failed content filter calls (requests refused with 503).\n# TYPE maas_content_filter_errors_total counter\n")
	eps := make([]string, 0, len(m.filterErrors))
	for ep := range m.filterErrors {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	for _, ep := range eps {
		fmt.Fprintf(&b, "maas_content_filter_errors_total{endpoint=%s} %d\n", q(ep), m.filterErrors[ep])
	}
	writeHistograms(&b, "maas_time_to_first_token_seconds", "Time from request arrival to the first generated token.", m.ttft)
	writeHistograms(&b, "maas_time_per_output_token_seconds", "Mean time between output tokens after the first, per request.", m.tpot)
	fmt.Fprintf(&b, "# HELP maas_inflight_requests Requests being served.\n# TYPE maas_inflight_requests gauge\nmaas_inflight_requests %d\n", m.inflight.Load())
	b.WriteString("# HELP maas_queue_length Requests waiting for a model slot.\n# TYPE maas_queue_length gauge\n")
	names := make([]string, 0, len(queues))
	for name := range queues {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "maas_queue_length{model=%s} %d\n", q(name), queues[name])
	}
	_, _ = io.WriteString(w, b.String())
}

func writeCounter2(b *strings.Builder, name, help, l1, l2 string, m map[[2]string]uint64) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	for _, k := range sortedKeys2(m) {
		fmt.Fprintf(b, "%s{%s=%s,%s=%s} %d\n", name, l1, q(k[0]), l2, q(k[1]), m[k])
	}
}

func writeHistograms(b *strings.Builder, name, help string, m map[[2]string]*histogram) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for _, k := range sortedKeys2(m) {
		h := m[k]
		labels := "endpoint=" + q(k[0]) + ",model=" + q(k[1])
		var cum uint64
		for i, le := range h.bounds {
			cum += h.counts[i]
			fmt.Fprintf(b, "%s_bucket{%s,le=\"%s\"} %d\n", name, labels, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += h.counts[len(h.bounds)]
		fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %d\n", name, labels, cum)
		fmt.Fprintf(b, "%s_sum{%s} %s\n", name, labels, strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(b, "%s_count{%s} %d\n", name, labels, h.n)
	}
}

// q quotes a label value: backslash, double quote and newline escaped.
func q(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	v = strings.ReplaceAll(v, `"`, `\"`)
	v = strings.ReplaceAll(v, "\n", `\n`)
	return `"` + v + `"`
}

func sortedKeys2[V any](m map[[2]string]V) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	return keys
}

func sortedKeys3(m map[[3]string]uint64) [][3]string {
	keys := make([][3]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		for x := 0; x < 3; x++ {
			if keys[i][x] != keys[j][x] {
				return keys[i][x] < keys[j][x]
			}
		}
		return false
	})
	return keys
}

// serveMetrics answers GET /metrics.
func (g *Gateway) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var queues map[string]int
	if ql, ok := g.opts.Backend.(QueueLengther); ok {
		queues = ql.QueueLengths()
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	g.metrics.write(w, queues)
}
