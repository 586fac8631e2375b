package app

import (
	"context"
	"errors"
)

// runGenerate is not written yet; its owner replaces this file.
func runGenerate(ctx context.Context, args []string, env Env) error {
	return errors.New("not implemented yet")
}
