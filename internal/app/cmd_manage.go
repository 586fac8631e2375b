package app

import (
	"context"
	"errors"

	"maas/internal/cli"
)

// runManage hands hub|project|endpoint|models|role|principal|usage to the
// management CLI, which talks to a running server's REST API.
func runManage(ctx context.Context, cmd string, args []string, env Env) error {
	err := cli.Run(ctx, cmd, args, cli.IO{Stdin: env.Stdin, Stdout: env.Stdout, Stderr: env.Stderr, Getenv: env.Getenv})
	if errors.Is(err, cli.ErrUsage) {
		return errUsage
	}
	return err
}
