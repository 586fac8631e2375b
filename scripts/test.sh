#!/usr/bin/env bash
# The test command: unit and integration tests, the engine under -tags purego,
# a short fuzz run of the GGUF reader, and end-to-end tests with real clients.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...

echo "== go test (all packages)"
go test -count=1 -timeout 20m ./...

echo "== go test -tags purego (engine)"
go test -count=1 -tags purego -timeout 15m ./internal/engine/...

echo "== fuzz: GGUF reader (20s)"
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 20s ./internal/engine/gguf

if [ -x e2e/run.sh ]; then
  echo "== end-to-end: real clients against a running server"
  bash e2e/run.sh
fi
