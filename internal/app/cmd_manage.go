package app

import (
	"context"
	"errors"
)

// runManage is not written yet; its owner replaces this file.
func runManage(ctx context.Context, cmd string, args []string, env Env) error {
	return errors.New("not implemented yet")
}
