package controlplane_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	apiv1 "maas/api/v1"
	"maas/internal/controlplane"
	"maas/internal/testdata"
)

func TestGGUFChecker(t *testing.T) {
	file := testdata.Phi3File(t, "tiny-phi3-f16.gguf")
	tiny := apiv1.Model{Architecture: "phi3", Shape: &apiv1.ModelShape{EmbeddingLength: 256, BlockCount: 2, HeadCount: 8,
		HeadCountKV: 8, FeedForwardLength: 512, VocabSize: 32064, ContextLength: 4096}}
	ctx := context.Background()
	var c controlplane.GGUFChecker
	if err := c.Check(ctx, file, tiny); err != nil {
		t.Fatalf("tiny model against its own shape: %v", err)
	}
	if err := c.Check(ctx, file, apiv1.Model{}); err != nil {
		t.Fatalf("entry without architecture or shape: %v", err)
	}
	bad := tiny
	bad.Architecture = "phimoe"
	if err := c.Check(ctx, file, bad); err == nil || !strings.Contains(err.Error(), "architecture") {
		t.Fatalf("wrong architecture: %v", err)
	}
	shape := *tiny.Shape
	shape.BlockCount = 32
	bad = apiv1.Model{Architecture: "phi3", Shape: &shape}
	if err := c.Check(ctx, file, bad); err == nil || !strings.Contains(err.Error(), "block_count") {
		t.Fatalf("wrong block count: %v", err)
	}
	shape = *tiny.Shape
	shape.VocabSize = 100352
	if err := c.Check(ctx, file, apiv1.Model{Shape: &shape}); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Fatalf("wrong vocabulary: %v", err)
	}
	e := newEnv(t)
	if err := c.Check(ctx, e.fakeGGUF("fake.gguf"), tiny); err == nil {
		t.Fatal("a file with only the magic passed the GGUF check")
	}
}

// TestImportChecksShape imports the tiny fixture as Phi-3-mini-4k through a
// server that uses the GGUF checker: the shapes differ, so it is refused.
func TestImportChecksShape(t *testing.T) {
	file := testdata.Phi3File(t, "tiny-phi3-f16.gguf")
	e := newEnvWith(t, controlplane.GGUFChecker{})
	er := e.wantError(adminToken, "POST", "/api/models/Phi-3-mini-4k-instruct/import", map[string]string{"file": file}, http.StatusBadRequest, "InvalidWeights")
	if !strings.Contains(er.Message, "embedding_length is 256, want 3072") {
		t.Fatalf("import error %q", er.Message)
	}
	e.call(adminToken, "PUT", "/api/models/tiny-phi3", map[string]any{"file": file, "regions": []string{"eastus2"},
		"pricing": map[string]float64{"inputPer1K": 0, "outputPer1K": 0}, "architecture": "phi3",
		"shape": map[string]int{"embeddingLength": 256, "blockCount": 2}}, http.StatusCreated, nil)
	e.addHubProject("h", "p", "eastus2")
	if ep := e.deploy(adminToken, "p", "tiny", "tiny-phi3"); ep.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("tiny endpoint = %+v", ep.Properties)
	}
}
