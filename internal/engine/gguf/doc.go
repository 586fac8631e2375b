// Package gguf reads and writes GGUF files (versions 2 and 3), the container
// format of llama.cpp models: a header, typed key/value metadata, tensor
// descriptions, and aligned tensor data.
//
// Open maps the file read-only, so tensor data is never copied into the Go
// heap; Parse reads the same structure from any io.ReaderAt. The parser
// treats its input as hostile: every count is checked against the bytes left
// before anything is allocated, and every error names what was being read and
// at which byte offset, key or tensor.
//
// The package is a leaf: it imports only the standard library and
// golang.org/x/sys. The engine, the catalog and the commands import it.
package gguf
