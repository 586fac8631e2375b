package app

import (
	"context"
	"errors"
)

// runChat is not written yet; its owner replaces this file.
func runChat(ctx context.Context, args []string, env Env) error {
	return errors.New("not implemented yet")
}
