// Package cli is the management command line: maas hub|project|endpoint|
// models|role|principal|usage. It talks to a running server's REST API
// (api/v1) and prints readable tables, or JSON with --output json.
//
// The server address and token come from flags (--server, --token), the
// environment (MAAS_SERVER, MAAS_TOKEN) or a YAML config file
// ($MAAS_CONFIG, else $HOME/.maas/config.yaml), in that order.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// ErrUsage marks an error already reported to the user as a usage message.
var ErrUsage = errors.New("usage")

// IO is what a command sees of the outside world.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// Config is the YAML config file's content.
type Config struct {
	Server  string `yaml:"server"`
	Token   string `yaml:"token"`
	Project string `yaml:"project"`
	DataDir string `yaml:"dataDir"`
}

// DefaultServer is used when no server is configured.
const DefaultServer = "http://127.0.0.1:8080"

// Run runs one management command (cmd is hub, project, endpoint, models,
// role, principal or usage) with its arguments.
func Run(ctx context.Context, cmd string, args []string, io IO) error {
	if io.Getenv == nil {
		io.Getenv = func(string) string { return "" }
	}
	type sub = func(ctx context.Context, r *runner, args []string) error
	table := map[string]map[string]sub{
		"hub":       {"create": hubCreate, "list": hubList, "show": hubShow, "delete": hubDelete},
		"project":   {"create": projectCreate, "list": projectList, "show": projectShow, "delete": projectDelete},
		"endpoint":  {"create": endpointCreate, "list": endpointList, "show": endpointShow, "delete": endpointDelete, "get-credentials": endpointKeys, "regenerate-keys": endpointRegenerate, "quota": endpointQuota},
		"models":    {"list": modelsList, "show": modelsShow, "add": modelsAdd, "remove": modelsRemove, "pull": modelsPull, "import": modelsImport},
		"role":      {"assign": roleAssign, "list": roleList, "delete": roleDelete},
		"principal": {"create": principalCreate, "list": principalList, "delete": principalDelete},
	}
	r := &runner{io: io}
	if cmd == "usage" {
		return usageCmd(ctx, r, args)
	}
	subs, ok := table[cmd]
	if !ok {
		fmt.Fprintf(io.Stderr, "maas: unknown management command %q\n", cmd)
		return ErrUsage
	}
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(io.Stderr, "Usage: maas %s <%s> [flags]\n", cmd, strings.Join(names, "|"))
		if len(args) == 0 {
			return ErrUsage
		}
		return flag.ErrHelp
	}
	f, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(io.Stderr, "maas %s: unknown subcommand %q (want %s)\n", cmd, args[0], strings.Join(names, "|"))
		return ErrUsage
	}
	r.name = cmd + " " + args[0]
	return f(ctx, r, args[1:])
}

// runner carries one command's common flags and output.
type runner struct {
	io     IO
	name   string
	fs     *flag.FlagSet
	server string
	token  string
	output string
	config string
	cfg    Config
}

// flags starts a FlagSet with the common flags.
func (r *runner) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("maas "+r.name, flag.ContinueOnError)
	fs.SetOutput(r.io.Stderr)
	fs.StringVar(&r.server, "server", "", "server URL (env MAAS_SERVER; default "+DefaultServer+")")
	fs.StringVar(&r.token, "token", "", "principal bearer token (env MAAS_TOKEN)")
	fs.StringVar(&r.output, "output", "table", "output format: table or json")
	fs.StringVar(&r.config, "config", "", "config file (env MAAS_CONFIG; default $HOME/.maas/config.yaml)")
	r.fs = fs
	return fs
}

// parse parses flags anywhere among args, checks the number of positional
// arguments (want names them) and loads the configuration.
func (r *runner) parse(args []string, want ...string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := r.fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, ErrUsage
		}
		if r.fs.NArg() == 0 {
			break
		}
		pos = append(pos, r.fs.Arg(0))
		rest = r.fs.Args()[1:]
	}
	if len(pos) != len(want) {
		fmt.Fprintf(r.io.Stderr, "Usage: maas %s", r.name)
		for _, w := range want {
			fmt.Fprintf(r.io.Stderr, " %s", w)
		}
		fmt.Fprintln(r.io.Stderr, " [flags]")
		r.fs.PrintDefaults()
		return nil, ErrUsage
	}
	if r.output != "table" && r.output != "json" {
		fmt.Fprintf(r.io.Stderr, "maas %s: --output must be table or json\n", r.name)
		return nil, ErrUsage
	}
	if err := r.loadConfig(); err != nil {
		return nil, err
	}
	return pos, nil
}

func (r *runner) loadConfig() error {
	path := r.config
	if path == "" {
		path = r.io.Getenv("MAAS_CONFIG")
	}
	explicit := path != ""
	if path == "" {
		if home := r.io.Getenv("HOME"); home != "" {
			path = filepath.Join(home, ".maas", "config.yaml")
		}
	}
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := yaml.Unmarshal(b, &r.cfg); err != nil {
				return fmt.Errorf("read config %s: %w", path, err)
			}
		case explicit || !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("read config: %w", err)
		}
	}
	r.server = first(r.server, r.io.Getenv("MAAS_SERVER"), r.cfg.Server, DefaultServer)
	r.token = first(r.token, r.io.Getenv("MAAS_TOKEN"), r.cfg.Token)
	return nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (r *runner) client() *Client { return &Client{Base: r.server, Token: r.token} }

// project returns the project from a flag value, MAAS_PROJECT or the config.
func (r *runner) project(flagValue string) (string, error) {
	p := first(flagValue, r.io.Getenv("MAAS_PROJECT"), r.cfg.Project)
	if p == "" {
		fmt.Fprintf(r.io.Stderr, "maas %s: --project is required (or set MAAS_PROJECT)\n", r.name)
		return "", ErrUsage
	}
	return p, nil
}

// print writes v as JSON with --output json, else calls table.
func (r *runner) print(v any, table func(w *tabwriter.Writer)) error {
	if r.output == "json" {
		enc := json.NewEncoder(r.io.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(r.io.Stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// done reports a finished action that has nothing to print.
func (r *runner) done(format string, args ...any) error {
	if r.output == "json" {
		return nil
	}
	_, err := fmt.Fprintf(r.io.Stdout, format+"\n", args...)
	return err
}
