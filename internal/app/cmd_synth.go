package app

import (
	"context"
	"errors"
)

// runSynth is not written yet; its owner replaces this file.
func runSynth(ctx context.Context, args []string, env Env) error {
	return errors.New("not implemented yet")
}
