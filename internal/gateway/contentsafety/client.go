// Package contentsafety rates text for the gateway's content filter
// (gateway.ContentFilter) in two ways: Client calls the Azure AI Content
// Safety text:analyze REST API, in Azure or as its on-premises container;
// Blocklist matches an operator's list of terms, for installations without
// the service. No machine-learning model is bundled: without the service,
// only the blocklist's terms are caught.
package contentsafety

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"maas/internal/gateway"
)

// APIVersion is the text:analyze API version the client calls.
const APIVersion = "2023-10-01"

// MaxTextRunes is the most characters one text:analyze call takes; longer
// texts are split and rated piece by piece, the worst rating kept.
const MaxTextRunes = 10000

// Client calls POST {endpoint}/contentsafety/text:analyze with the four
// harm categories and FourSeverityLevels output (severities 0, 2, 4, 6).
// It is safe for concurrent use.
type Client struct {
	url  string
	key  string
	http *http.Client
}

// NewClient returns a client for the service at endpoint, e.g.
// https://<name>.cognitiveservices.azure.com or a container's
// http://host:5000; key goes in Ocp-Apim-Subscription-Key (a container
// may need none). hc nil: a client with a 10 s timeout.
func NewClient(endpoint, key string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil {
		return nil, fmt.Errorf("content safety endpoint %q: %w", endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("content safety endpoint %q: want http(s)://host[/path]", endpoint)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{url: u.String() + "/contentsafety/text:analyze?api-version=" + APIVersion, key: key, http: hc}, nil
}

type analyzeRequest struct {
	Text       string   `json:"text"`
	Categories []string `json:"categories"`
	OutputType string   `json:"outputType"`
}

type analyzeResponse struct {
	CategoriesAnalysis []struct {
		Category string `json:"category"`
		Severity *int   `json:"severity"`
	} `json:"categoriesAnalysis"`
}

type serviceError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Analyze implements gateway.ContentFilter. Empty or blank text is safe
// without a call. An answer that lacks a category or has a severity out of
// 0..7 is an error: the text counts as unrated.
func (c *Client) Analyze(ctx context.Context, text string) ([]gateway.CategorySeverity, error) {
	cats := gateway.Categories()
	worst := make([]int, len(cats))
	if strings.TrimSpace(text) != "" {
		for _, piece := range split(text, MaxTextRunes) {
			sev, err := c.analyze(ctx, piece, cats)
			if err != nil {
				return nil, err
			}
			for i := range worst {
				worst[i] = max(worst[i], sev[i])
			}
		}
	}
	out := make([]gateway.CategorySeverity, len(cats))
	for i, cat := range cats {
		out[i] = gateway.CategorySeverity{Category: cat, Severity: worst[i]}
	}
	return out, nil
}

// analyze rates one piece; the severities are in the order of cats.
func (c *Client) analyze(ctx context.Context, text string, cats []string) ([]int, error) {
	body, err := json.Marshal(analyzeRequest{Text: text, Categories: cats, OutputType: "FourSeverityLevels"})
	if err != nil {
		return nil, fmt.Errorf("content safety: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("content safety: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Ocp-Apim-Subscription-Key", c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("content safety text:analyze: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("content safety text:analyze: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var se serviceError
		if json.Unmarshal(raw, &se) == nil && se.Error.Code != "" {
			return nil, fmt.Errorf("content safety text:analyze: status %d: %s: %s", resp.StatusCode, se.Error.Code, se.Error.Message)
		}
		return nil, fmt.Errorf("content safety text:analyze: status %d: %s", resp.StatusCode, snippet(raw))
	}
	var ar analyzeResponse
	if err := json.Unmarshal(raw, &ar); err != nil {
		return nil, fmt.Errorf("content safety text:analyze: decode answer %s: %w", snippet(raw), err)
	}
	sev := make([]int, len(cats))
	seen := make([]bool, len(cats))
	for _, a := range ar.CategoriesAnalysis {
		for i, cat := range cats {
			if !strings.EqualFold(a.Category, cat) {
				continue
			}
			if a.Severity == nil || *a.Severity < 0 || *a.Severity > 7 {
				return nil, fmt.Errorf("content safety text:analyze: category %s has no severity in 0..7: %s", cat, snippet(raw))
			}
			sev[i], seen[i] = max(sev[i], *a.Severity), true
		}
	}
	for i, ok := range seen {
		if !ok {
			return nil, errors.New("content safety text:analyze: answer lacks category " + cats[i])
		}
	}
	return sev, nil
}

// split cuts text into pieces of at most n runes, at a space in the second
// half of a piece when there is one.
func split(text string, n int) []string {
	var out []string
	for utf8.RuneCountInString(text) > n {
		cut, runes, space := 0, 0, -1
		for i, r := range text {
			if runes == n {
				cut = i
				break
			}
			if unicode.IsSpace(r) && runes >= n/2 {
				space = i + utf8.RuneLen(r)
			}
			runes++
		}
		if space > 0 {
			cut = space
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
	return append(out, text)
}

// snippet is the start of a body for an error message.
func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return strings.ToValidUTF8(string(b[:n]), "") + "..."
	}
	return string(b)
}
