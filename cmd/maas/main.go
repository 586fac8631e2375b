// Command maas runs the platform (serve) and its command-line tools.
// It only hands its arguments to internal/app.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"maas/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.StdEnv())
	stop()
	os.Exit(code)
}
