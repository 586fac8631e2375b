package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
)

// WeightsChecker validates a model's weight file before an endpoint that
// serves it goes online, and before an import is accepted. internal/app
// implements it with the engine's GGUF reader (architecture and shape).
type WeightsChecker interface {
	// Check returns nil when the file at path holds weights for entry, else
	// an error that says what is wrong; it must not modify the file.
	Check(ctx context.Context, path string, entry CatalogEntry) error
}

// MagicChecker is the default WeightsChecker: the file must exist and start
// with the GGUF magic "GGUF".
type MagicChecker struct{}

// Check implements WeightsChecker.
func (MagicChecker) Check(_ context.Context, path string, _ CatalogEntry) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("weights %s: %w", path, err)
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil {
		return fmt.Errorf("weights %s: read magic: %w", path, err)
	}
	if !bytes.Equal(magic, []byte("GGUF")) {
		return fmt.Errorf("weights %s: not a GGUF file (magic %q)", path, magic)
	}
	return nil
}
