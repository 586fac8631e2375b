package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"maas/internal/testdata"
)

// runCmd runs one maas command in-process and returns its exit code and output.
func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code := Main(context.Background(), args, env)
	return code, out.String(), errb.String()
}

func TestTokenizeCommand(t *testing.T) {
	vocab := testdata.Phi3File(t, "vocab-phi3.gguf")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", vocab, "--", "Hello world"}, "[15043,3186]\n"},
		{[]string{"--model", vocab, "--add-bos", "--parse-special", "--", "<|user|>\nHi<|end|>\n<|assistant|>\n"}, "[1,32010,6324,32007,32001]\n"},
		{[]string{"--model", vocab, "--add-bos", "<|end|>"}, "[1,529,29989,355,29989,29958]\n"},
		{[]string{"--model", vocab, ""}, "[]\n"},
	} {
		code, out, errOut := runCmd(append([]string{"tokenize"}, c.args...)...)
		if code != 0 || out != c.want {
			t.Errorf("tokenize %q: code %d, out %q (stderr %q), want %q", c.args, code, out, errOut, c.want)
		}
	}
	if code, _, _ := runCmd("tokenize", "--model", vocab); code != 2 {
		t.Errorf("missing TEXT: exit %d, want 2", code)
	}
	if code, _, errOut := runCmd("tokenize", "--model", "/nonexistent.gguf", "x"); code != 1 || !strings.Contains(errOut, "nonexistent") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
}
