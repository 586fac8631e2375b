package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiv1 "maas/api/v1"
)

// CatalogEntry is one model of the merged catalog (built-in entries, then
// operator entries, which replace built-ins of the same name).
type CatalogEntry = apiv1.Model

// CatalogPrefix starts every catalog id of the azureml registry.
const CatalogPrefix = "azureml://registries/azureml/models/"

// Lifecycle stages (spec section 4.4).
const (
	StagePreview    = "Preview"
	StageGA         = "GenerallyAvailable"
	StageLegacy     = "Legacy"
	StageDeprecated = "Deprecated"
	StageRetired    = "Retired"
)

// regionNames maps the built-in serverless regions to their display names.
func regionDisplayName(region string) string {
	switch region {
	case "eastus2":
		return "East US 2"
	case "swedencentral":
		return "Sweden Central"
	case "eastus":
		return "East US"
	case "northcentralus":
		return "North Central US"
	case "southcentralus":
		return "South Central US"
	case "westus":
		return "West US"
	case "westus3":
		return "West US 3"
	}
	return region
}

func builtinRegions() []string {
	return []string{"eastus2", "swedencentral", "eastus", "northcentralus", "southcentralus", "westus", "westus3"}
}

// regions returns the built-in regions followed by the configured ones.
func (cp *ControlPlane) regions() []string {
	out := builtinRegions()
	for _, r := range cp.opts.Regions {
		if r != "" && !cp.knownRegionIn(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func (cp *ControlPlane) knownRegionIn(list []string, r string) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

func (cp *ControlPlane) knownRegion(r string) bool { return cp.knownRegionIn(cp.regions(), r) }

// builtinCatalog returns the Phi-3 family of spec section 4 (prices of 4.3,
// regions of 4.2, limits of 1.10). Weight files are listed only where an
// official GGUF exists (Microsoft's Phi-3-mini-4k-instruct-gguf); its size
// and sha256 are left unset because they could not be verified here.
func builtinCatalog() []apiv1.Model {
	phi3Regions := []string{"eastus2", "swedencentral"}
	phi35Regions := []string{"eastus", "eastus2", "northcentralus", "southcentralus", "swedencentral", "westus", "westus3"}
	mini := func(ctx int) *apiv1.ModelShape {
		return &apiv1.ModelShape{EmbeddingLength: 3072, BlockCount: 32, HeadCount: 32, HeadCountKV: 32, FeedForwardLength: 8192, VocabSize: 32064, ContextLength: ctx}
	}
	medium := func(ctx int) *apiv1.ModelShape {
		return &apiv1.ModelShape{EmbeddingLength: 5120, BlockCount: 40, HeadCount: 40, HeadCountKV: 10, FeedForwardLength: 17920, VocabSize: 32064, ContextLength: ctx}
	}
	entry := func(name, params string, ctx int, regions []string, in, out float64, sys bool, arch string, shape *apiv1.ModelShape) apiv1.Model {
		return apiv1.Model{
			Name: name, CatalogID: CatalogPrefix + name, Publisher: "Microsoft", Parameters: params,
			ContextLength: ctx, MaxOutput: 4096, Regions: regions,
			Pricing:        &apiv1.Pricing{InputPer1K: in, OutputPer1K: out},
			LifecycleStage: StageGA,
			Capabilities:   &apiv1.Capabilities{SystemRole: sys},
			Architecture:   arch, Shape: shape, Source: "builtin",
		}
	}
	const hf = "https://huggingface.co/microsoft/Phi-3-mini-4k-instruct-gguf/resolve/main/"
	mini4k := entry("Phi-3-mini-4k-instruct", "3.8B", 4096, phi3Regions, 0.00013, 0.00052, false, "phi3", mini(4096))
	mini4k.Weights = []apiv1.WeightFile{
		{File: "Phi-3-mini-4k-instruct-q4.gguf", URL: hf + "Phi-3-mini-4k-instruct-q4.gguf", Quantization: "Q4_K_M"},
		{File: "Phi-3-mini-4k-instruct-fp16.gguf", URL: hf + "Phi-3-mini-4k-instruct-fp16.gguf", Quantization: "F16"},
	}
	return []apiv1.Model{
		mini4k,
		entry("Phi-3-mini-128k-instruct", "3.8B", 131072, phi3Regions, 0.00013, 0.00052, false, "phi3", mini(131072)),
		entry("Phi-3-small-8k-instruct", "7B", 8192, phi3Regions, 0.00015, 0.0006, false, "", nil),
		entry("Phi-3-small-128k-instruct", "7B", 131072, phi3Regions, 0.00015, 0.0006, false, "", nil),
		entry("Phi-3-medium-4k-instruct", "14B", 4096, phi3Regions, 0.00017, 0.00068, true, "phi3", medium(4096)),
		entry("Phi-3-medium-128k-instruct", "14B", 131072, phi3Regions, 0.00017, 0.00068, false, "phi3", medium(131072)),
		entry("Phi-3.5-mini-instruct", "3.8B", 131072, phi35Regions, 0.00013, 0.00052, false, "phi3", mini(131072)),
		entry("Phi-3.5-MoE-instruct", "16x3.8B (6.6B active)", 131072, phi35Regions, 0.00016, 0.00064, false, "phimoe",
			&apiv1.ModelShape{EmbeddingLength: 4096, BlockCount: 32, HeadCount: 32, HeadCountKV: 8, FeedForwardLength: 6400, VocabSize: 32064, ContextLength: 131072}),
	}
}

// catalog returns the merged catalog ordered by name.
func (cp *ControlPlane) catalog(ctx context.Context) ([]apiv1.Model, error) {
	byName := map[string]apiv1.Model{}
	for _, m := range builtinCatalog() {
		byName[m.Name] = m
	}
	recs, err := cp.st.ListModels(ctx)
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	for _, r := range recs {
		var m apiv1.Model
		if err := json.Unmarshal(r.Spec, &m); err != nil {
			return nil, fmt.Errorf("load catalog entry %q: %w", r.Name, err)
		}
		m.Name = r.Name
		byName[r.Name] = m
	}
	out := make([]apiv1.Model, 0, len(byName))
	for _, m := range byName {
		m.Ready = cp.ready(m)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// lookupModel returns the catalog entry called name.
func (cp *ControlPlane) lookupModel(ctx context.Context, name string) (apiv1.Model, bool, error) {
	all, err := cp.catalog(ctx)
	if err != nil {
		return apiv1.Model{}, false, err
	}
	for _, m := range all {
		if m.Name == name {
			return m, true, nil
		}
	}
	return apiv1.Model{}, false, nil
}

// resolveModelID finds the catalog entry of a serverless modelId: a catalog
// id without a version (or, for convenience, a bare catalog name).
func (cp *ControlPlane) resolveModelID(ctx context.Context, modelID string) (apiv1.Model, error) {
	if modelID == "" {
		return apiv1.Model{}, badRequest("properties.modelSettings.modelId is required")
	}
	if strings.Contains(modelID, "/versions/") {
		return apiv1.Model{}, errorf(http.StatusBadRequest, "UserError",
			"the model id %s names a version; serverless endpoints always deploy the latest version, so give the id without /versions/...", modelID)
	}
	all, err := cp.catalog(ctx)
	if err != nil {
		return apiv1.Model{}, err
	}
	for _, m := range all {
		if m.CatalogID == modelID || m.Name == modelID {
			return m, nil
		}
	}
	return apiv1.Model{}, errorf(http.StatusBadRequest, "UserError", "the model %s is not in the model catalog", modelID)
}

// weightsPath is the local GGUF file of m: its File, else the first listed
// weight file present in ModelsDir, else where the first one would go.
func (cp *ControlPlane) weightsPath(m apiv1.Model) string {
	if m.File != "" {
		return m.File
	}
	if cp.opts.ModelsDir == "" || len(m.Weights) == 0 {
		return ""
	}
	for _, w := range m.Weights {
		p := filepath.Join(cp.opts.ModelsDir, w.File)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(cp.opts.ModelsDir, m.Weights[0].File)
}

// ready reports whether m can be served: an upstream or a local file.
func (cp *ControlPlane) ready(m apiv1.Model) bool {
	if m.Upstream != "" {
		return true
	}
	p := cp.weightsPath(m)
	if p == "" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}
