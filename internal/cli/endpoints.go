package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	apiv1 "maas/api/v1"
)

// EndpointFile is the az ml serverless-endpoint YAML file.
type EndpointFile struct {
	Name          string            `yaml:"name"`
	ModelID       string            `yaml:"model_id"`
	ContentSafety string            `yaml:"content_safety,omitempty"` // Enabled or Disabled
	Tags          map[string]string `yaml:"tags,omitempty"`
}

// readEndpointFile parses an endpoint YAML file, refusing unknown keys.
func readEndpointFile(path string) (EndpointFile, error) {
	var f EndpointFile
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("read endpoint file: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("parse endpoint file %s: %w", path, err)
	}
	return f, nil
}

func endpointsPath(project string) string {
	return "/api/projects/" + pathEsc(project) + "/serverlessEndpoints"
}

func endpointTable(w *tabwriter.Writer, eps []apiv1.ServerlessEndpoint) {
	fmt.Fprintln(w, "NAME\tMODEL\tLOCATION\tPROVISIONING\tSTATE\tURI")
	for _, e := range eps {
		p := e.Properties
		model, uri := "", ""
		if p.ModelSettings != nil {
			model = strings.TrimPrefix(p.ModelSettings.ModelID, "azureml://registries/azureml/models/")
		}
		if p.InferenceEndpoint != nil {
			uri = p.InferenceEndpoint.URI
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, model, e.Location, p.ProvisioningState, p.EndpointState, uri)
	}
}

func endpointCreate(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	file := fs.String("f", "", "endpoint YAML file (name, model_id)")
	name := fs.String("name", "", "endpoint name (overrides the file)")
	model := fs.String("model", "", "catalog id or model name (overrides the file)")
	project := fs.String("project", "", "project (env MAAS_PROJECT)")
	safety := fs.String("content-safety", "", "Enabled or Disabled (default Enabled)")
	if _, err := r.parse(args); err != nil {
		return err
	}
	var spec EndpointFile
	if *file != "" {
		var err error
		if spec, err = readEndpointFile(*file); err != nil {
			return err
		}
	}
	spec.Name = first(*name, spec.Name)
	spec.ModelID = first(*model, spec.ModelID)
	spec.ContentSafety = first(*safety, spec.ContentSafety)
	if spec.Name == "" || spec.ModelID == "" {
		fmt.Fprintln(r.io.Stderr, "maas endpoint create: give -f endpoint.yml or --name and --model")
		return ErrUsage
	}
	proj, err := r.project(*project)
	if err != nil {
		return err
	}
	body := apiv1.ServerlessEndpoint{
		SKU:  &apiv1.SKU{Name: "Consumption"},
		Tags: spec.Tags,
		Properties: apiv1.ServerlessEndpointProperties{
			ModelSettings: &apiv1.ModelSettings{ModelID: spec.ModelID},
			AuthMode:      "Key",
		},
	}
	if spec.ContentSafety != "" {
		body.Properties.ContentSafety = &apiv1.ContentSafety{ContentSafetyStatus: spec.ContentSafety}
	}
	var ep apiv1.ServerlessEndpoint
	if err := r.client().Do(ctx, "PUT", endpointsPath(proj)+"/"+pathEsc(spec.Name), body, &ep); err != nil {
		return err
	}
	if err := r.print(ep, func(w *tabwriter.Writer) { endpointTable(w, []apiv1.ServerlessEndpoint{ep}) }); err != nil {
		return err
	}
	if ep.Properties.ProvisioningState == apiv1.ProvisioningFailed {
		return errors.New("provisioning failed: " + ep.Properties.FailureReason)
	}
	return nil
}

// endpointArgs parses NAME and --project.
func endpointArgs(r *runner, args []string) (project, name string, err error) {
	p := r.fs.String("project", "", "project (env MAAS_PROJECT)")
	pos, err := r.parse(args, "NAME")
	if err != nil {
		return "", "", err
	}
	project, err = r.project(*p)
	return project, pos[0], err
}

func endpointList(ctx context.Context, r *runner, args []string) error {
	p := r.flags().String("project", "", "project (env MAAS_PROJECT)")
	if _, err := r.parse(args); err != nil {
		return err
	}
	proj, err := r.project(*p)
	if err != nil {
		return err
	}
	var l apiv1.List[apiv1.ServerlessEndpoint]
	if err := r.client().Do(ctx, "GET", endpointsPath(proj), nil, &l); err != nil {
		return err
	}
	return r.print(l.Value, func(w *tabwriter.Writer) { endpointTable(w, l.Value) })
}

func endpointShow(ctx context.Context, r *runner, args []string) error {
	r.flags()
	proj, name, err := endpointArgs(r, args)
	if err != nil {
		return err
	}
	var ep apiv1.ServerlessEndpoint
	if err := r.client().Do(ctx, "GET", endpointsPath(proj)+"/"+pathEsc(name), nil, &ep); err != nil {
		return err
	}
	return r.print(ep, func(w *tabwriter.Writer) {
		endpointTable(w, []apiv1.ServerlessEndpoint{ep})
		if ep.Properties.FailureReason != "" {
			fmt.Fprintf(w, "\nfailure: %s\n", ep.Properties.FailureReason)
		}
	})
}

func endpointDelete(ctx context.Context, r *runner, args []string) error {
	r.flags()
	proj, name, err := endpointArgs(r, args)
	if err != nil {
		return err
	}
	if err := r.client().Do(ctx, "DELETE", endpointsPath(proj)+"/"+pathEsc(name), nil, nil); err != nil {
		return err
	}
	return r.done("deleted serverless endpoint %s", name)
}

func keysTable(w *tabwriter.Writer, k apiv1.EndpointKeys) {
	fmt.Fprintln(w, "KEY\tVALUE")
	fmt.Fprintf(w, "primary\t%s\nsecondary\t%s\n", k.PrimaryKey, k.SecondaryKey)
}

func endpointKeys(ctx context.Context, r *runner, args []string) error {
	r.flags()
	proj, name, err := endpointArgs(r, args)
	if err != nil {
		return err
	}
	var k apiv1.EndpointKeys
	if err := r.client().Do(ctx, "POST", endpointsPath(proj)+"/"+pathEsc(name)+"/listKeys", nil, &k); err != nil {
		return err
	}
	return r.print(k, func(w *tabwriter.Writer) { keysTable(w, k) })
}

func endpointRegenerate(ctx context.Context, r *runner, args []string) error {
	keyType := r.flags().String("key-type", "", "primary or secondary (required)")
	proj, name, err := endpointArgs(r, args)
	if err != nil {
		return err
	}
	kt := strings.ToLower(*keyType)
	if kt != "primary" && kt != "secondary" {
		fmt.Fprintln(r.io.Stderr, "maas endpoint regenerate-keys: --key-type must be primary or secondary")
		return ErrUsage
	}
	var k apiv1.EndpointKeys
	body := apiv1.RegenerateKeysRequest{KeyType: strings.ToUpper(kt[:1]) + kt[1:]}
	if err := r.client().Do(ctx, "POST", endpointsPath(proj)+"/"+pathEsc(name)+"/regenerateKeys", body, &k); err != nil {
		return err
	}
	return r.print(k, func(w *tabwriter.Writer) { keysTable(w, k) })
}

func endpointQuota(ctx context.Context, r *runner, args []string) error {
	fs := r.flags()
	tpm := fs.Int64("tokens-per-minute", 0, "new tokens-per-minute limit (Owner)")
	rpm := fs.Int64("requests-per-minute", 0, "new requests-per-minute limit (Owner)")
	proj, name, err := endpointArgs(r, args)
	if err != nil {
		return err
	}
	path := endpointsPath(proj) + "/" + pathEsc(name) + "/quota"
	var q apiv1.Quota
	if *tpm == 0 && *rpm == 0 {
		err = r.client().Do(ctx, "GET", path, nil, &q)
	} else {
		if err := r.client().Do(ctx, "GET", path, nil, &q); err != nil {
			return err
		}
		if *tpm != 0 {
			q.TokensPerMinute = *tpm
		}
		if *rpm != 0 {
			q.RequestsPerMinute = *rpm
		}
		err = r.client().Do(ctx, "PUT", path, q, &q)
	}
	if err != nil {
		return err
	}
	return r.print(q, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "TOKENS/MIN\tREQUESTS/MIN")
		fmt.Fprintf(w, "%d\t%d\n", q.TokensPerMinute, q.RequestsPerMinute)
	})
}
