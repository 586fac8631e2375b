// Package app is the one package that wires everything together: it turns
// command-line arguments into the engine, store, control plane, gateway and
// web handlers, and runs them. cmd/maas only calls Main.
//
// Each subcommand lives in its own file (cmd_<name>.go) so that commands can be
// worked on independently.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Env is the outside world a command sees: standard streams and the process
// environment. Tests pass their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// StdEnv is the real process environment.
func StdEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// errUsage marks an error already reported as a usage message (exit code 2).
var errUsage = errors.New("usage")

const usageText = `maas: Phi-3 models as serverless APIs

Usage: maas <command> [flags]

Platform:
  up           start the platform with a ready Phi-3 endpoint and print its URL, key and a curl line
  serve        run the control plane, data plane and web playground
  ps           show loaded models, their memory and queues

Management (talk to a running server):
  hub          create|list|delete hubs
  project      create|list|delete projects
  endpoint     create|list|show|delete|get-credentials|regenerate-keys serverless endpoints
  models       list|show|add|pull|import catalog models
  role         assign|list|delete role assignments
  principal    create|list|delete principals
  usage        show tokens and cost
  chat         chat with an endpoint

Engine (work on GGUF files directly):
  tokenize     print token ids of a text
  logits       write the logits of a token sequence
  generate     generate text from a prompt
  bench        measure prompt and generation speed
  synth        write a random-weight Phi-3 GGUF
  quantize     convert F16/F32 weights to a quantised type

Run 'maas <command> -h' for a command's flags.
`

// Main runs one command and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usageText)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, rest, env)
	case "up":
		err = runUp(ctx, rest, env)
	case "ps":
		err = runPs(ctx, rest, env)
	case "hub", "project", "endpoint", "models", "role", "principal", "usage":
		err = runManage(ctx, cmd, rest, env)
	case "chat":
		err = runChat(ctx, rest, env)
	case "tokenize":
		err = runTokenize(ctx, rest, env)
	case "logits":
		err = runLogits(ctx, rest, env)
	case "generate":
		err = runGenerate(ctx, rest, env)
	case "bench":
		err = runBench(ctx, rest, env)
	case "synth":
		err = runSynth(ctx, rest, env)
	case "quantize":
		err = runQuantize(ctx, rest, env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usageText)
		return 0
	default:
		fmt.Fprintf(env.Stderr, "maas: unknown command %q\n\n%s", cmd, usageText)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(env.Stderr, "maas %s: %v\n", cmd, err)
		return 1
	}
}

// newFlags returns a FlagSet for a subcommand that reports errors instead of exiting.
func newFlags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("maas "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags parses args and maps flag errors to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
