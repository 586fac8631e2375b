// Package archtest enforces the module's dependency rules and the ban on
// package-level mutable state, mechanically, on every test run.
package archtest

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"maas/internal/testdata"
)

type pkg struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list` over the module with the given build tags.
func listPackages(t *testing.T, tags string) []pkg {
	t.Helper()
	args := []string{"list", "-e", "-json"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, "./...")
	cmd := exec.Command("go", args...)
	cmd.Dir = testdata.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// rule: packages under From may not depend (directly or transitively) on any of Banned.
type rule struct {
	from   string
	banned []string
	why    string
}

var rules = []rule{
	{"maas/internal/engine", []string{"net/http", "database/sql", "maas/api", "maas/internal/gateway",
		"maas/internal/controlplane", "maas/internal/store", "maas/internal/app", "maas/internal/web",
		"maas/internal/cli", "maas/internal/ledger", "maas/internal/snapshot"},
		"the engine is a library with no knowledge of the service"},
	{"maas/internal/gateway", []string{"maas/internal/controlplane", "maas/internal/store", "database/sql",
		"maas/internal/app", "maas/internal/cli"},
		"the data plane reads the snapshot, never the control plane or the database"},
	{"maas/internal/controlplane", []string{"maas/internal/gateway", "maas/internal/app", "maas/internal/ledger"},
		"the control plane and the data plane do not import each other"},
	{"maas/internal/snapshot", []string{"maas/internal", "maas/api"}, "the shared contract is a leaf"},
	{"maas/internal/store", []string{"maas/internal/gateway", "maas/internal/engine", "maas/internal/controlplane",
		"maas/internal/app"}, "storage knows nothing of the planes"},
	{"maas/internal/web", []string{"maas/internal/controlplane", "maas/internal/gateway", "maas/internal/store",
		"maas/internal/engine"}, "the playground talks only to the public HTTP API"},
}

func checkRules(t *testing.T, pkgs []pkg) {
	for _, p := range pkgs {
		for _, r := range rules {
			if !under(p.ImportPath, r.from) {
				continue
			}
			for _, d := range p.Deps {
				for _, b := range r.banned {
					if under(d, b) && !(r.from == "maas/internal/snapshot" && d == "maas/internal/snapshot") {
						t.Errorf("%s depends on %s: %s", p.ImportPath, d, r.why)
					}
				}
			}
		}
	}
}

func TestDependencyRules(t *testing.T) {
	checkRules(t, listPackages(t, ""))
}

func TestDependencyRulesPurego(t *testing.T) {
	checkRules(t, listPackages(t, "purego"))
}

// api/... is public and imports only the standard library.
func TestAPIIsStdlibOnly(t *testing.T) {
	for _, p := range listPackages(t, "") {
		if !under(p.ImportPath, "maas/api") {
			continue
		}
		for _, imp := range p.Imports {
			if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") || under(imp, "maas") {
				if !under(imp, "maas/api") {
					t.Errorf("%s imports %s: api/ may import only the standard library", p.ImportPath, imp)
				}
			}
		}
	}
}

// The engine must not depend on third-party modules other than golang.org/x/sys.
func TestEngineThirdParty(t *testing.T) {
	for _, p := range listPackages(t, "") {
		if !under(p.ImportPath, "maas/internal/engine") {
			continue
		}
		for _, d := range p.Deps {
			first := strings.SplitN(d, "/", 2)[0]
			if strings.Contains(first, ".") && !under(d, "golang.org/x/sys") {
				t.Errorf("%s depends on %s: the engine uses the standard library and golang.org/x/sys only", p.ImportPath, d)
			}
		}
	}
}

// allowedVar reports whether a package-level var declaration is immutable by
// construction: sentinel errors, interface guards, embedded files, compiled
// regexps and lookup tables named in the allowlist.
func allowedVar(spec *ast.ValueSpec) bool {
	for _, n := range spec.Names {
		if n.Name == "_" {
			return true
		}
		if strings.HasPrefix(n.Name, "err") || strings.HasPrefix(n.Name, "Err") {
			return true
		}
	}
	for _, v := range spec.Values {
		call, ok := v.(*ast.CallExpr)
		if !ok {
			continue
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				switch id.Name + "." + sel.Sel.Name {
				case "errors.New", "fmt.Errorf", "regexp.MustCompile", "template.Must":
					return true
				}
			}
		}
	}
	return false
}

// TestNoPackageMutableState fails on package-level variables outside the
// allowed immutable forms. A table that is truly read-only belongs in a
// function or, when it must be a var, in the allowlist below with a reason.
func TestNoPackageMutableState(t *testing.T) {
	// file:var -> why it is immutable.
	allow := map[string]string{}
	for _, p := range listPackages(t, "") {
		if !under(p.ImportPath, "maas") || p.Dir == "" {
			continue
		}
		fset := token.NewFileSet()
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				t.Errorf("parse %s: %v", path, err)
				continue
			}
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, s := range gd.Specs {
					vs := s.(*ast.ValueSpec)
					if allowedVar(vs) || hasImmutableDoc(gd, vs) {
						continue
					}
					for _, n := range vs.Names {
						key := p.ImportPath + "." + n.Name
						if _, ok := allow[key]; ok {
							continue
						}
						t.Errorf("%s: package-level variable %s: no package-level mutable state (document a read-only table with a comment containing \"read-only\")",
							fset.Position(n.Pos()), n.Name)
					}
				}
			}
		}
	}
}

// hasImmutableDoc accepts a var whose doc comment declares it read-only, e.g.
// a lookup table filled once at init: "// ... (read-only after init)".
func hasImmutableDoc(gd *ast.GenDecl, vs *ast.ValueSpec) bool {
	for _, cg := range []*ast.CommentGroup{gd.Doc, vs.Doc, vs.Comment} {
		if cg == nil {
			continue
		}
		if strings.Contains(strings.ToLower(cg.Text()), "read-only") {
			return true
		}
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:embed ") {
				return true // embed.FS is read-only
			}
		}
	}
	return false
}
