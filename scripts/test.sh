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

echo "== end-to-end: real clients against a running server"
bash e2e/run.sh

if command -v chromium >/dev/null 2>&1 && [ -d e2e/web/node_modules ]; then
  echo "== end-to-end: web playground in headless Chromium against a running server"
  bash e2e/web/screenshot.sh "$(mktemp -d)"
elif [ "${CI:-}" = "true" ]; then
  echo "web e2e needs chromium and e2e/web/node_modules (required under CI=true)" >&2
  exit 1
fi
