package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	apiv1 "maas/api/v1"
	"maas/internal/testdata"
)

func TestUpServesALocalFile(t *testing.T) {
	model := testdata.Phi3File(t, "tiny-phi3-q4_k_m.gguf")
	dir := t.TempDir()
	var out, errs syncBuffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errs, Getenv: func(k string) string {
		if k == "HOME" {
			return dir
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"up", "--addr", "127.0.0.1:0", "--data-dir", dir, "--model-file", model}, env)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("maas up exited %d; stderr:\n%s", code, errs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("maas up printed no endpoint; stdout:\n%s\nstderr:\n%s", out.String(), errs.String())
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("maas up exited %d early; stderr:\n%s", code, errs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	uri := regexp.MustCompile(`Endpoint URL : (\S+)`).FindStringSubmatch(out.String())
	key := regexp.MustCompile(`Key +: (\S+)`).FindStringSubmatch(out.String())
	if uri == nil || key == nil {
		t.Fatalf("no URL or key in:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "curl "+uri[1]+"/chat/completions") {
		t.Fatalf("no curl line for %s in:\n%s", uri[1], out.String())
	}
	req, _ := http.NewRequest("POST", uri[1]+"/chat/completions?api-version=2024-05-01-preview",
		strings.NewReader(`{"messages":[{"role":"user","content":"Hello"}],"max_tokens":4,"temperature":0}`))
	req.Header.Set("api-key", key[1])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Usage.CompletionTokens != 4 {
		t.Fatalf("decode: %v, usage %+v", err, body.Usage)
	}
}

func TestDownloadHelpSaysHowToUseAFile(t *testing.T) {
	err := downloadHelp("Phi-3-mini-4k-instruct", apiv1.WeightFile{File: "Phi-3-mini-4k-instruct-q4.gguf",
		URL: "https://example.invalid/w.gguf"}, errors.New("dial tcp: no such host"))
	for _, want := range []string{"no such host", "maas up --model-file /path/to/Phi-3-mini-4k-instruct-q4.gguf", "maas synth --shape mini"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
}

func TestEndpointName(t *testing.T) {
	for in, want := range map[string]string{
		"Phi-3-mini-4k-instruct": "phi-3-mini-4k-instruct",
		"tiny-phi3-q4_k_m":       "tiny-phi3-q4-k-m",
		"3model":                 "ep-3model",
	} {
		if got := endpointName(in); got != want {
			t.Errorf("endpointName(%q) = %q, want %q", in, got, want)
		}
	}
}
