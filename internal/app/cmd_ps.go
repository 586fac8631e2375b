package app

import (
	"context"
	"errors"
)

// runPs is not written yet; its owner replaces this file.
func runPs(ctx context.Context, args []string, env Env) error {
	return errors.New("not implemented yet")
}
