package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"maas/internal/engine/gguf"
	"maas/internal/engine/tokenizer"
)

// runTokenize prints the token ids of a text as one JSON array:
//
//	maas tokenize --model FILE [--add-bos] [--parse-special] [--] TEXT
//
// A GGUF holding only the vocabulary is enough.
func runTokenize(ctx context.Context, args []string, env Env) error {
	fs := newFlags("tokenize", env)
	model := fs.String("model", "", "GGUF `file` with tokenizer metadata (required)")
	addBOS := fs.Bool("add-bos", false, "add the model's BOS (and EOS when its metadata asks)")
	special := fs.Bool("parse-special", false, "turn special-token text such as <|user|> into those tokens")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: maas tokenize --model FILE [--add-bos] [--parse-special] [--] TEXT")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: --model and TEXT are required", errUsage)
	}
	text := strings.Join(fs.Args(), " ")
	tok, closeFn, err := openTokenizer(*model)
	if err != nil {
		return err
	}
	defer closeFn()
	ids := tok.Encode(text, *addBOS, *special)
	if ids == nil {
		ids = []int32{}
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("encode ids: %w", err)
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", b)
	return err
}

// openTokenizer reads the tokenizer of a GGUF file.
func openTokenizer(path string) (*tokenizer.Tokenizer, func(), error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open model: %w", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("load tokenizer from %s: %w", path, err)
	}
	return tok, func() { f.Close() }, nil
}
