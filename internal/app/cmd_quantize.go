package app

import (
	"context"
	"errors"
)

// runQuantize is not written yet; its owner replaces this file.
func runQuantize(ctx context.Context, args []string, env Env) error {
	return errors.New("not implemented yet")
}
