package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiv1 "maas/api/v1"
	"maas/internal/cli"
)

// runUp is the one-command start: it runs the platform on the embedded
// defaults (SQLite in the data directory), makes sure a Phi-3 model has
// weights (the catalog's download, or --model-file), deploys it as a
// serverless endpoint in a default hub and project, and prints the endpoint
// URL, a key and a curl line. It then serves until interrupted.
//
//	maas up [--addr 127.0.0.1:8080] [--data-dir DIR] [--model NAME] [--model-file FILE.gguf]
//	        [--region eastus2] [--endpoint NAME] [serve flags after --]
func runUp(ctx context.Context, args []string, env Env) error {
	fs := newFlags("up", env)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	dataDir := fs.String("data-dir", "", "data directory (env MAAS_DATA_DIR; default $HOME/.maas)")
	model := fs.String("model", "Phi-3-mini-4k-instruct", "catalog model to deploy")
	modelFile := fs.String("model-file", "", "local GGUF to serve instead of downloading the catalog's weights")
	region := fs.String("region", "eastus2", "region of the default hub")
	endpoint := fs.String("endpoint", "", "endpoint name (default derived from the model)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := *dataDir
	if dir == "" {
		dir = cli.DefaultDataDir(env.Getenv)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	token, err := upToken(dir, env.Getenv("MAAS_ADMIN_TOKEN"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr) // reserve the port now so a clash is reported at once
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pass --addr to choose another)", *addr, err)
	}
	bound := ln.Addr().String()
	ln.Close()

	serveEnv := env
	serveEnv.Getenv = func(k string) string {
		if k == "MAAS_ADMIN_TOKEN" {
			return token
		}
		return env.Getenv(k)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- runServe(ctx, append([]string{"--addr", bound, "--data-dir", dir}, fs.Args()...), serveEnv)
	}()

	base := "http://" + bound
	c := &upClient{base: base, token: token}
	if err := c.waitReady(ctx, served); err != nil {
		return err
	}
	setupErr := upSetup(ctx, c, env, dir, *model, *modelFile, *region, *endpoint)
	if setupErr != nil {
		cancel()
		<-served
		return setupErr
	}
	return <-served
}

// upSetup deploys the model and prints how to call it.
func upSetup(ctx context.Context, c *upClient, env Env, dir, model, modelFile, region, epName string) error {
	var m apiv1.Model
	if err := c.do(ctx, "GET", "/api/models/"+model, nil, &m); err != nil {
		return fmt.Errorf("look up model %s in the catalog: %w", model, err)
	}
	deploy := m.Name
	switch {
	case modelFile != "":
		abs, err := filepath.Abs(modelFile)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", modelFile, err)
		}
		err = c.do(ctx, "POST", "/api/models/"+m.Name+"/import", apiv1.ImportRequest{File: abs}, &m)
		if err != nil {
			// Not the catalog model's shape (a synthetic or tiny file): serve it
			// as an operator model priced like the catalog entry.
			name := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
			fmt.Fprintf(env.Stderr, "maas up: %s does not match %s (%v); adding it as model %q\n", abs, m.Name, err, name)
			custom := map[string]any{"file": abs, "regions": []string{region},
				"pricing": map[string]float64{"inputPer1K": m.Pricing.InputPer1K, "outputPer1K": m.Pricing.OutputPer1K}}
			if err := c.do(ctx, "PUT", "/api/models/"+name, custom, &m); err != nil {
				return fmt.Errorf("add %s as a model: %w", abs, err)
			}
			deploy = m.Name
		}
	case m.Ready:
	default:
		if len(m.Weights) == 0 {
			return fmt.Errorf("model %s lists no downloadable weights; start with --model-file FILE.gguf", m.Name)
		}
		wf := m.Weights[0]
		dest := filepath.Join(dir, "models", wf.File)
		if _, err := os.Stat(dest); err != nil {
			fmt.Fprintf(env.Stderr, "maas up: downloading %s weights (%s)\n  from %s\n  to   %s\n", m.Name, wf.Quantization, wf.URL, dest)
			if err := cli.Download(ctx, nil, wf.URL, dest, wf.SizeBytes, wf.SHA256, cli.ProgressBar(env.Stderr)); err != nil {
				return downloadHelp(m.Name, wf, err)
			}
		}
		if err := c.do(ctx, "POST", "/api/models/"+m.Name+"/import", apiv1.ImportRequest{File: dest}, &m); err != nil {
			return fmt.Errorf("register downloaded weights %s: %w", dest, err)
		}
	}

	if err := c.do(ctx, "PUT", "/api/hubs/default", map[string]any{"location": region}, nil); err != nil {
		return fmt.Errorf("create hub: %w", err)
	}
	if err := c.do(ctx, "PUT", "/api/hubs/default/projects/default", map[string]any{}, nil); err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	if epName == "" {
		epName = endpointName(deploy)
	}
	var ep apiv1.ServerlessEndpoint
	body := map[string]any{"sku": map[string]string{"name": "Consumption"},
		"properties": map[string]any{"modelSettings": map[string]string{"modelId": "azureml://registries/azureml/models/" + deploy}}}
	if err := c.do(ctx, "PUT", "/api/projects/default/serverlessEndpoints/"+epName, body, &ep); err != nil {
		return fmt.Errorf("create endpoint %s: %w", epName, err)
	}
	if ep.Properties.ProvisioningState != "Succeeded" {
		return fmt.Errorf("endpoint %s is %s: %s", epName, ep.Properties.ProvisioningState, ep.Properties.FailureReason)
	}
	var keys apiv1.EndpointKeys
	if err := c.do(ctx, "POST", "/api/projects/default/serverlessEndpoints/"+epName+"/listKeys", nil, &keys); err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	uri := ""
	if ep.Properties.InferenceEndpoint != nil {
		uri = ep.Properties.InferenceEndpoint.URI
	}
	fmt.Fprintf(env.Stdout, `
Phi-3 serverless endpoint ready.

  Endpoint URL : %s
  Model        : %s
  Key          : %s
  Playground   : %s/  (admin token: %s)

  curl %s/chat/completions?api-version=2024-05-01-preview \
    -H "api-key: %s" -H "Content-Type: application/json" \
    -d '{"messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":64}'

Press Ctrl-C to stop.
`, uri, deploy, keys.PrimaryKey, c.base, c.token, uri, keys.PrimaryKey)
	return nil
}

// downloadHelp explains a failed weights download and how to go on without
// network access.
func downloadHelp(model string, wf apiv1.WeightFile, err error) error {
	return fmt.Errorf("download %s weights from %s: %w\n\n"+
		"Without network access, point maas at a GGUF file you have:\n"+
		"    maas up --model-file /path/to/%s\n"+
		"or make a random-weight Phi-3-mini to try the platform:\n"+
		"    maas synth --shape mini --type q4_0 --vocab ../shared/testdata/phi3/vocab-phi3.gguf --seed 1 -o mini.gguf\n"+
		"    maas up --model-file mini.gguf", model, wf.URL, err, wf.File)
}

// endpointName turns a model name into a valid endpoint name.
func endpointName(model string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(model) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "ep-" + s
	}
	if len(s) > 52 {
		s = strings.TrimRight(s[:52], "-")
	}
	return s
}

// upToken returns the admin token: the environment's, else the one kept in
// the data directory by an earlier 'maas up', else a new one saved there.
func upToken(dir, fromEnv string) (string, error) {
	if fromEnv != "" {
		return fromEnv, nil
	}
	path := filepath.Join(dir, "admin-token")
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("make admin token: %w", err)
	}
	tok := "maas_" + hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save admin token: %w", err)
	}
	return tok, nil
}

// upClient is a minimal client of the management API.
type upClient struct {
	base, token string
}

func (c *upClient) waitReady(ctx context.Context, served <-chan error) error {
	for i := 0; i < 300; i++ {
		select {
		case err := <-served:
			if err == nil {
				err = errors.New("server stopped")
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if err := c.do(ctx, "GET", "/api/regions", nil, nil); err == nil {
			return nil
		}
	}
	return errors.New("server did not become ready in 30 s")
}

func (c *upClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
