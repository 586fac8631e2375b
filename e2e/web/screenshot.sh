#!/usr/bin/env bash
# Headless Chromium check of the web playground against a running maas server.
#
#   e2e/web/screenshot.sh [OUT_DIR]            (default OUT_DIR: /tmp/maas-web-shots)
#
# With MAAS_URL and MAAS_TOKEN set it uses that server (MAAS_PROJECT names the
# project to show). Without them it builds ./cmd/maas, starts `maas serve` on a
# free port with a temporary data directory, registers the tiny Phi-3 model of
# ../shared/testdata/phi3 as "tiny-phi3", creates a hub, a project and an
# endpoint through the REST API, and stops the server at the end (MAAS_BIN
# names a prebuilt binary to use instead).
#
# For each page it loads the app in Debian's chromium (--headless --dump-dom),
# checks the rendered text, and writes a PNG (--screenshot) to OUT_DIR. When
# node and e2e/web/node_modules (npm ci in e2e/web) are present it also runs
# playground.mjs: sign in, deploy an endpoint from the dialog (a second tiny
# model, or MAAS_CREATE_MODEL), keys, a streamed chat, the usage page and CSV.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/maas-web-shots}"
mkdir -p "$out"
chrome="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$chrome" ]; then
  echo "screenshot.sh: chromium not found (apt-get install chromium)" >&2
  exit 2
fi
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

api() { # api METHOD PATH [BODY] -> prints the body; fails on HTTP >= 400
  local method="$1" path="$2" body="${3:-}" code
  if [ -n "$body" ]; then
    code=$(curl -sS -o "$tmp/resp" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $MAAS_TOKEN" \
      -H 'Content-Type: application/json' --data "$body" "$MAAS_URL$path")
  else
    code=$(curl -sS -o "$tmp/resp" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $MAAS_TOKEN" "$MAAS_URL$path")
  fi
  if [ "$code" -ge 400 ]; then
    echo "screenshot.sh: $method $path: HTTP $code: $(cat "$tmp/resp")" >&2
    return 1
  fi
  cat "$tmp/resp"
}

endpoint="${MAAS_ENDPOINT:-}"
create_model="${MAAS_CREATE_MODEL:-}"
if [ -z "${MAAS_URL:-}" ]; then
  gguf="$root/../shared/testdata/phi3/tiny-phi3-q4_k_m.gguf"
  [ -f "$gguf" ] || { echo "screenshot.sh: $gguf missing; set MAAS_URL and MAAS_TOKEN instead" >&2; exit 2; }
  gguf="$(cd "$(dirname "$gguf")" && pwd)/$(basename "$gguf")"
  bin="${MAAS_BIN:-}"
  if [ -z "$bin" ]; then
    (cd "$root" && go build -o "$tmp/maas" ./cmd/maas)
    bin="$tmp/maas"
  fi
  port=$((20000 + RANDOM % 20000))
  export MAAS_URL="http://127.0.0.1:$port"
  export MAAS_TOKEN="web-e2e-$RANDOM$RANDOM$RANDOM"
  MAAS_ADMIN_TOKEN="$MAAS_TOKEN" "$bin" serve --addr "127.0.0.1:$port" --data-dir "$tmp/data" \
    --public-url "$MAAS_URL" >"$out/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null -H "Authorization: Bearer $MAAS_TOKEN" "$MAAS_URL/api/models" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { echo "screenshot.sh: maas serve exited:" >&2; cat "$out/server.log" >&2; exit 1; }
    sleep 0.2
  done
  api PUT /api/models/tiny-phi3 "{\"file\":\"$gguf\",\"regions\":[\"eastus2\"],\"pricing\":{\"inputPer1K\":0.00013,\"outputPer1K\":0.00052}}" >/dev/null
  # A second model for playground.mjs to deploy through the New endpoint dialog
  # (a project holds one endpoint per model).
  api PUT /api/models/tiny-phi3-f16 "{\"file\":\"${gguf%q4_k_m.gguf}f16.gguf\",\"regions\":[\"eastus2\"],\"pricing\":{\"inputPer1K\":0.00013,\"outputPer1K\":0.00052}}" >/dev/null
  create_model=tiny-phi3-f16
  api PUT /api/hubs/web-hub '{"location":"eastus2"}' >/dev/null
  api PUT /api/hubs/web-hub/projects/web-project '{}' >/dev/null
  export MAAS_PROJECT=web-project
  endpoint=tiny-chat
  api PUT "/api/projects/$MAAS_PROJECT/serverlessEndpoints/$endpoint" \
    '{"sku":{"name":"Consumption"},"properties":{"modelSettings":{"modelId":"azureml://registries/azureml/models/tiny-phi3"}}}' >/dev/null
  for _ in $(seq 1 150); do
    state=$(api GET "/api/projects/$MAAS_PROJECT/serverlessEndpoints/$endpoint" | sed -n 's/.*"provisioningState": *"\([A-Za-z]*\)".*/\1/p')
    [ "$state" = Succeeded ] && break
    [ "$state" = Failed ] && { echo "screenshot.sh: endpoint provisioning failed" >&2; api GET "/api/projects/$MAAS_PROJECT/serverlessEndpoints/$endpoint" >&2; exit 1; }
    sleep 0.2
  done
  # One request through the data plane so that the usage page has a row.
  key=$(api POST "/api/projects/$MAAS_PROJECT/serverlessEndpoints/$endpoint/listKeys" '{}' | sed -n 's/.*"primaryKey": *"\([^"]*\)".*/\1/p')
  curl -fsS -o /dev/null -H "api-key: $key" -H 'Content-Type: application/json' \
    --data '{"messages":[{"role":"user","content":"hello"}],"max_tokens":8}' \
    "$MAAS_URL/serverless/eastus2/$endpoint/chat/completions?api-version=2024-05-01-preview"
  for _ in $(seq 1 50); do # the ledger writes usage in batches
    api GET "/api/projects/$MAAS_PROJECT/usage" | grep -q "\"$endpoint\"" && break
    sleep 0.2
  done
fi
: "${MAAS_TOKEN:?set MAAS_TOKEN with MAAS_URL}"
project="${MAAS_PROJECT:-}"

# page PATH NAME WANT... : dump the DOM, check each WANT string, save a PNG.
failed=0
page() {
  local path="$1" name="$2"; shift 2
  local url="$MAAS_URL$path"
  [ -n "$project" ] && url="$url?project=$project"
  url="$url#token=$MAAS_TOKEN"
  local flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
    --disable-component-update --disable-sync --hide-scrollbars --virtual-time-budget=8000)
  "$chrome" "${flags[@]}" --user-data-dir="$tmp/chrome-$name-dom" --dump-dom "$url" >"$out/$name.html" 2>/dev/null
  "$chrome" "${flags[@]}" --user-data-dir="$tmp/chrome-$name-png" --window-size=1280,860 --screenshot="$out/$name.png" "$url" >/dev/null 2>&1
  for want in "$@"; do
    if ! grep -qF -- "$want" "$out/$name.html"; then
      echo "FAIL $path: page lacks \"$want\" (see $out/$name.html)"
      failed=1
    fi
  done
  if grep -qF -- "$MAAS_TOKEN" "$out/$name.html"; then echo "FAIL $path: the token is in the page"; failed=1; fi
  if grep -q 'class="alert alert-error"' "$out/$name.html"; then
    echo "FAIL $path: the page shows an error: $(sed -n 's/.*class="alert alert-error"[^>]*>\([^<]*\)<.*/\1/p' "$out/$name.html" | head -1)"
    failed=1
  fi
  echo "page $path -> $out/$name.png"
}

page /catalog catalog "Phi-3-mini-4k-instruct" "/ 1K tokens" "Signed in"
if [ -n "$project" ]; then
  page /endpoints endpoints "Serverless endpoints of project $project" ${endpoint:+"$endpoint"}
  page /playground playground "Model: "
  page /usage usage "Usage and cost" ${endpoint:+"$endpoint"}
fi

if [ -n "$endpoint" ] && [ -n "$project" ] && command -v node >/dev/null && [ -d "$root/e2e/web/node_modules/playwright-core" ]; then
  # With a model to deploy, playground.mjs creates its own endpoint through the dialog.
  pw_endpoint="$endpoint"
  [ -n "$create_model" ] && pw_endpoint=""
  new_project=""
  [ -n "$server_pid" ] && new_project="web-project-2"
  (cd "$root/e2e/web" && MAAS_ENDPOINT="$pw_endpoint" MAAS_CREATE_MODEL="$create_model" MAAS_NEW_PROJECT="$new_project" SHOTS_DIR="$out/playwright" \
    CHROMIUM="$chrome" node playground.mjs) || failed=1
fi
[ "$failed" = 0 ] && echo "ok: screenshots in $out"
exit "$failed"
