package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"maas/api/inference"
)

// Harm categories, named as Azure AI Content Safety names them.
const (
	CategoryHate     = "Hate"
	CategorySelfHarm = "SelfHarm"
	CategorySexual   = "Sexual"
	CategoryViolence = "Violence"
)

// Categories returns the four categories filtered on serverless endpoints.
func Categories() []string {
	return []string{CategoryHate, CategorySelfHarm, CategorySexual, CategoryViolence}
}

// Severities on Content Safety's four-level scale.
const (
	SeveritySafe   = 0
	SeverityLow    = 2
	SeverityMedium = 4
	SeverityHigh   = 6
)

// FilterSeverity is the least severity that is filtered: medium, as Azure
// filters text models.
const FilterSeverity = SeverityMedium

// CategorySeverity is one category's rating of a text.
type CategorySeverity struct {
	Category string // Hate, SelfHarm, Sexual or Violence
	Severity int    // 0 safe, 2 low, 4 medium, 6 high
}

// ContentFilter rates text for harm. It must be safe for concurrent use. An
// error means the text could not be rated; the gateway then fails closed
// (503 content_filter_unavailable).
type ContentFilter interface {
	Analyze(ctx context.Context, text string) ([]CategorySeverity, error)
}

// Flagged returns the categories rated FilterSeverity or above, sorted and
// without duplicates; nil when the text passes.
func Flagged(res []CategorySeverity) []string {
	var out []string
	for _, r := range res {
		if r.Severity >= FilterSeverity && !slices.Contains(out, r.Category) {
			out = append(out, r.Category)
		}
	}
	slices.Sort(out)
	return out
}

// Streamed completions are checked with up to filterContext bytes of the
// text already sent before the held text, so that words and phrases across
// the boundary are rated whole.
const filterContext = 1000

// filtering reports whether this request's prompt and completion are
// checked: a filter is configured, the endpoint has content safety on, and
// the route is the Azure AI Model Inference API (not /v1).
func (c *call) filtering() bool {
	return c.g.opts.ContentFilter != nil && c.surface == surfaceAzure && c.ep.ContentSafety
}

// promptText is the text of a request as the filter rates it: every
// message's content, one per line, or the text completion prompt.
func promptText(req GenRequest) string {
	if req.Messages == nil {
		return req.Text
	}
	var b strings.Builder
	for i, m := range req.Messages {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Content)
	}
	return b.String()
}

// checkPrompt rates the prompt before any generation starts. A flagged
// prompt is refused with 400 content_filter and metered as Azure bills it
// (the prompt tokens are charged, no completion tokens; status 400). A filter
// failure is 503 content_filter_unavailable and is not metered.
func (c *call) checkPrompt(p genPlan, reserved int64) *apiError {
	res, err := c.g.opts.ContentFilter.Analyze(c.r.Context(), promptText(p.req))
	if err != nil {
		c.settle(reserved, 0)
		return c.filterError(err)
	}
	cats := Flagged(res)
	if len(cats) == 0 {
		return nil
	}
	c.g.metrics.observeFiltered(c.ep.Region+"/"+c.ep.Name, "prompt", cats)
	n := int64(p.req.Prompt.Count)
	usage := inference.Usage{PromptTokens: n, TotalTokens: n}
	c.settle(reserved, n)
	choices := make([]choice, 1)
	choices[0].finish = inference.FinishContentFilter
	c.finishUsage(p, choices, usage, http.StatusBadRequest, time.Time{})
	e := errf(http.StatusBadRequest, "content_filter",
		"The response was filtered due to the prompt triggering the content management policy (%s). "+
			"Please modify your prompt and retry.", strings.Join(cats, ", "))
	e.param = "prompt"
	return e
}

// filterError maps a failure of the filter: the client's own hang-up is
// 499, anything else 503 (fail closed: nothing unrated is served).
func (c *call) filterError(err error) *apiError {
	if c.r.Context().Err() != nil {
		return errf(499, "client_closed_request", "The client closed the request.")
	}
	c.log.Error("content filter", "error", err)
	c.g.metrics.observeFilterError(c.ep.Region + "/" + c.ep.Name)
	return errFilterUnavailable()
}

func errFilterUnavailable() *apiError {
	e := errf(http.StatusServiceUnavailable, "content_filter_unavailable",
		"The content filter is unavailable, so the request was not served. Retry shortly.")
	e.retryAfter = time.Second
	return e
}

// hold takes streamed text of choice i while completions are filtered: it
// waits, unsent, until a check passes it. A check runs once FilterChunk
// bytes arrived since the last one.
func (g *generation) hold(i int, ev Event) {
	ch := &g.choices[i]
	ch.pending = append(ch.pending, ev)
	ch.pendingLen += len(ev.Text)
	ch.unchecked += len(ev.Text)
	if ch.unchecked >= g.c.g.opts.FilterChunk {
		g.check(i, false)
	}
}

// check rates choice i's streamed text: the held text and up to
// filterContext bytes sent before it. Passed, the held text is sent (when
// not final, only up to its last word break: a word cut by the chunk waits
// for its end). Flagged, the held text is dropped and the choice stops; it
// ends with content_filter. A failure stops every choice and ends the
// stream with content_filter_unavailable.
func (g *generation) check(i int, final bool) {
	ch := &g.choices[i]
	ch.unchecked = 0
	if ch.pendingLen > 0 {
		text := ch.text.String()
		res, err := g.c.g.opts.ContentFilter.Analyze(g.ctx, tailWindow(text, len(text)-ch.pendingLen-filterContext, len(text)-ch.pendingLen))
		if err != nil {
			if g.c.r.Context().Err() == nil && g.writeErr == nil {
				g.c.log.Error("content filter", "error", err)
				g.c.g.metrics.observeFilterError(g.c.ep.Region + "/" + g.c.ep.Name)
				g.filterErr = err
			}
			g.cancel()
			for j := range g.choices {
				g.choices[j].pending, g.choices[j].pendingLen = nil, 0
			}
			return
		}
		if cats := Flagged(res); len(cats) > 0 {
			g.c.g.metrics.observeFiltered(g.c.ep.Region+"/"+g.c.ep.Name, "completion", cats)
			ch.filtered = true
			ch.pending, ch.pendingLen = nil, 0
			g.cancels[i]()
			return
		}
	}
	release := ch.pendingLen
	if !final {
		held := ch.text.String()[ch.text.Len()-ch.pendingLen:]
		release = lastWordBreak(held)
		if release == 0 && ch.pendingLen >= 4*g.c.g.opts.FilterChunk {
			release = ch.pendingLen // no word break for long (e.g. unspaced scripts): send what was checked
		}
	}
	n, sent := 0, 0
	for n < len(ch.pending) && sent+len(ch.pending[n].Text) <= release {
		sent += len(ch.pending[n].Text)
		g.send(g.p.resp.deltaChunk(i, ch.pending[n]))
		n++
	}
	ch.pending = append(ch.pending[:0], ch.pending[n:]...)
	ch.pendingLen -= sent
}

// checkCompletions rates each finished choice's whole text (non-streaming).
// A flagged choice keeps its finish_reason content_filter and loses its
// text and logprobs; a failure fails the request.
func (g *generation) checkCompletions() {
	for i := range g.choices {
		ch := &g.choices[i]
		if ch.finish == "error" || ch.finish == "cancelled" || ch.text.Len() == 0 {
			continue
		}
		res, err := g.c.g.opts.ContentFilter.Analyze(g.ctx, ch.text.String())
		if err != nil {
			if g.c.r.Context().Err() == nil {
				g.c.log.Error("content filter", "error", err)
				g.c.g.metrics.observeFilterError(g.c.ep.Region + "/" + g.c.ep.Name)
				g.filterErr = err
			}
			return
		}
		if cats := Flagged(res); len(cats) > 0 {
			g.c.g.metrics.observeFiltered(g.c.ep.Region+"/"+g.c.ep.Name, "completion", cats)
			ch.filtered = true
			ch.finish = inference.FinishContentFilter
			ch.text.Reset()
			ch.logprobs = nil
		}
	}
}

// tailWindow returns text[from:], from moved forward (within at most limit)
// to the start of a word so that no cut word is rated; from <= 0 is the
// whole text.
func tailWindow(text string, from, limit int) string {
	if from <= 0 {
		return text
	}
	for from < limit && !utf8.RuneStart(text[from]) {
		from++
	}
	for i, r := range text[from:limit] {
		if !isWordRune(r) {
			_, size := utf8.DecodeRuneInString(text[from+i:])
			return text[from+i+size:]
		}
	}
	return text[from:]
}

// lastWordBreak is the byte offset just after the last rune of s that is
// not part of a word; 0 when there is none.
func lastWordBreak(s string) int {
	for i := len(s); i > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if !isWordRune(r) {
			return i
		}
		i -= size
	}
	return 0
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}
