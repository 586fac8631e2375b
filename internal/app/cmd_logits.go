package app

import (
	"context"
	"errors"
)

// runLogits is not written yet; its owner replaces this file.
func runLogits(ctx context.Context, args []string, env Env) error {
	return errors.New("not implemented yet")
}
