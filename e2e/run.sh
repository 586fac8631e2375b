#!/usr/bin/env bash
# End-to-end tests with real third-party clients: builds maas, starts
# `maas serve` on a temporary data directory, registers the tiny Phi-3 model of
# ../shared/testdata/phi3, creates a hub, a project and a serverless endpoint
# through the REST API, reads its URI and key, then runs
#   - e2e/node:  the OpenAI Node SDK and the Azure AI Inference REST client,
#   - e2e/gosdk: the OpenAI Go SDK (a separate Go module),
#   - `maas chat`, one-shot, streaming and not,
# then checks /metrics, a lowered quota (429 and its headers), that a clean
# shutdown drains the usage ledger, that a restart keeps the endpoints, and
# an endpoint proxied to an OpenAI-compatible upstream (this server's /v1),
# and stops the server. Outside CI a missing fixture or tool skips; under
# CI=true it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "e2e: $* (required under CI=true)" >&2
    exit 1
  fi
  echo "e2e: skipped: $*"
  exit 0
}

MODEL_FILE=${MAAS_E2E_MODEL_FILE:-$ROOT/../shared/testdata/phi3/tiny-phi3-q4_k_m.gguf}
[ -f "$MODEL_FILE" ] || skip "model fixture $MODEL_FILE not found"
MODEL_FILE=$(cd "$(dirname "$MODEL_FILE")" && pwd)/$(basename "$MODEL_FILE")
for tool in node npm curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$WORK/serve.log" ]; then
    echo "e2e: failed; last lines of the server log:" >&2
    tail -n 40 "$WORK/serve.log" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

# json PATH: prints the value at a dotted PATH of the JSON on stdin.
json() {
  node -e 'const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const v = process.argv[1].split(".").reduce((a, k) => (a == null ? a : a[k]), o);
    process.stdout.write(v == null ? "" : String(v));' "$1"
}

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });'
}

echo "== e2e: build"
go build -o "$WORK/maas" ./cmd/maas

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
export MAAS_ADMIN_TOKEN="e2e-admin-$RANDOM$RANDOM$RANDOM"
# start_server [ENV=VALUE...]: starts maas serve and waits until it answers.
start_server() {
  env "$@" "$WORK/maas" serve --addr "127.0.0.1:$PORT" --data-dir "$WORK/data" --public-url "$BASE" >>"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  for i in $(seq 1 100); do
    if curl -sf -o /dev/null -H "Authorization: Bearer $MAAS_ADMIN_TOKEN" "$BASE/api/models"; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "e2e: maas serve exited" >&2; exit 1; }
    sleep 0.2
  done
  echo "e2e: maas serve did not answer in time" >&2
  exit 1
}
stop_server() {
  kill "$SERVER_PID" && wait "$SERVER_PID" || true
}
echo "== e2e: maas serve on $BASE"
start_server

# api METHOD PATH [BODY]: calls the REST API as the bootstrap Owner.
api() {
  local args=(-sS --fail-with-body -X "$1" -H "Authorization: Bearer $MAAS_ADMIN_TOKEN" -H "Content-Type: application/json")
  [ $# -ge 3 ] && args+=(-d "$3")
  curl "${args[@]}" "$BASE$2"
}

echo "== e2e: register the tiny model, create hub, project, endpoint"
api PUT /api/models/tiny-phi3 "{\"file\":\"$MODEL_FILE\",\"regions\":[\"eastus2\"],\"pricing\":{\"inputPer1K\":0.00013,\"outputPer1K\":0.00052}}" >/dev/null
api PUT /api/hubs/e2e-hub '{"location":"eastus2"}' >/dev/null
api PUT /api/hubs/e2e-hub/projects/e2e-proj '{}' >/dev/null
api PUT /api/projects/e2e-proj/serverlessEndpoints/tiny-phi \
  '{"sku":{"name":"Consumption"},"properties":{"modelSettings":{"modelId":"azureml://registries/azureml/models/tiny-phi3"},"authMode":"Key","contentSafety":{"contentSafetyStatus":"Disabled"}}}' >/dev/null
STATE=""
for i in $(seq 1 100); do
  EP=$(api GET /api/projects/e2e-proj/serverlessEndpoints/tiny-phi)
  STATE=$(printf '%s' "$EP" | json properties.provisioningState)
  [ "$STATE" = Succeeded ] || [ "$STATE" = Failed ] && break
  sleep 0.2
done
[ "$STATE" = Succeeded ] || { echo "e2e: endpoint provisioning: $STATE: $EP" >&2; exit 1; }
URI=$(printf '%s' "$EP" | json properties.inferenceEndpoint.uri)
KEY=$(api POST /api/projects/e2e-proj/serverlessEndpoints/tiny-phi/listKeys | json primaryKey)
[ -n "$URI" ] && [ -n "$KEY" ] || { echo "e2e: no URI or key: $EP" >&2; exit 1; }
echo "endpoint $URI"

export MAAS_E2E_URL=$BASE MAAS_E2E_KEY=$KEY MAAS_E2E_ENDPOINT_URI=$URI
export MAAS_E2E_ADMIN_TOKEN=$MAAS_ADMIN_TOKEN MAAS_E2E_PROJECT=e2e-proj

echo "== e2e: maas chat"
"$WORK/maas" chat --endpoint "$URI" --key "$KEY" --max-tokens 8 --temperature 0 "Hello" >"$WORK/chat.out"
"$WORK/maas" chat --endpoint "$URI" --key "$KEY" --max-tokens 8 --temperature 0 --stream "Hello" >"$WORK/chat-stream.out"
cmp -s "$WORK/chat.out" "$WORK/chat-stream.out" || { echo "e2e: maas chat: streamed and non-streamed greedy answers differ" >&2; exit 1; }
echo "ok: maas chat (streaming and not agree)"

echo "== e2e: OpenAI Node SDK and Azure AI Inference REST client"
(cd e2e/node && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== e2e: OpenAI Go SDK"
(cd e2e/gosdk && go test -count=1 ./...)

echo "== e2e: metrics and a lowered quota through the REST API"
METRICS=$(curl -sS "$BASE/metrics")
for m in 'maas_requests_total{endpoint="eastus2/tiny-phi"' 'maas_prompt_tokens_total{endpoint="eastus2/tiny-phi"' \
  'maas_time_to_first_token_seconds_count{endpoint="eastus2/tiny-phi"' maas_queue_length; do
  grep -qF "$m" <<<"$METRICS" || { echo "e2e: /metrics lacks $m" >&2; exit 1; }
done
api PUT /api/projects/e2e-proj/serverlessEndpoints/tiny-phi/quota '{"tokensPerMinute":60,"requestsPerMinute":1000}' >/dev/null
chat() {
  curl -sS -o "$WORK/chat.json" -D "$WORK/headers" -w '%{http_code}' -H "api-key: $KEY" -H "Content-Type: application/json" \
    -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":40}' "$URI/chat/completions?api-version=2024-05-01-preview"
}
hdr() { grep -i "^$1:" "$WORK/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
for i in $(seq 1 50); do  # the control plane publishes the new quota asynchronously
  [ "$(chat)" = 429 ] && break
  [ "$i" = 50 ] && { echo "e2e: no 429 under a 60 tokens/min quota" >&2; exit 1; }
  sleep 0.1
done
[ "$(hdr x-ratelimit-limit-tokens)" = 60 ] && [ -n "$(hdr retry-after)" ] && [ -n "$(hdr retry-after-ms)" ] &&
  [ "$(hdr x-ms-error-code)" = too_many_requests ] || { echo "e2e: 429 headers:" >&2; cat "$WORK/headers" >&2; exit 1; }
echo "ok: /metrics, and 429 with Retry-After under a lowered quota"

echo "== e2e: restart, then an endpoint proxied to an OpenAI-compatible upstream (this server's /v1)"
# The upstream key is a server setting, so restart with it; the data must survive.
api PUT /api/projects/e2e-proj/serverlessEndpoints/tiny-phi/quota '{"tokensPerMinute":200000,"requestsPerMinute":1000}' >/dev/null
# One more request right before a clean shutdown: its usage record is still
# queued in the ledger writer, which must drain it on the way out.
requests() { api GET "/api/projects/e2e-proj/usage?groupBy=endpoint" | json value.0.requests; }
sleep 1.5 # the ledger flushes every second: let earlier records land
BEFORE=$(requests)
[ "$(chat)" = 200 ] || { echo "e2e: request before shutdown failed: $(cat "$WORK/chat.json")" >&2; exit 1; }
stop_server
start_server MAAS_UPSTREAM_KEY="$KEY"
AFTER=$(requests)
[ "$AFTER" = $((BEFORE + 1)) ] || { echo "e2e: usage requests $BEFORE before shutdown, $AFTER after restart: want one more" >&2; exit 1; }
echo "ok: a clean shutdown wrote the last usage record"
api PUT /api/models/tiny-upstream "{\"upstream\":\"$BASE/v1\",\"upstreamModel\":\"tiny-phi\",\"contextLength\":4096,\"regions\":[\"eastus2\"],\"pricing\":{\"inputPer1K\":0.00013,\"outputPer1K\":0.00052}}" >/dev/null
api PUT /api/projects/e2e-proj/serverlessEndpoints/tiny-proxy \
  '{"sku":{"name":"Consumption"},"properties":{"modelSettings":{"modelId":"azureml://registries/azureml/models/tiny-upstream"},"authMode":"Key"}}' >/dev/null
for i in $(seq 1 100); do
  EP=$(api GET /api/projects/e2e-proj/serverlessEndpoints/tiny-proxy)
  STATE=$(printf '%s' "$EP" | json properties.provisioningState)
  [ "$STATE" = Succeeded ] || [ "$STATE" = Failed ] && break
  sleep 0.2
done
[ "$STATE" = Succeeded ] || { echo "e2e: proxy endpoint provisioning: $STATE: $EP" >&2; exit 1; }
PROXY_URI=$(printf '%s' "$EP" | json properties.inferenceEndpoint.uri)
PROXY_KEY=$(api POST /api/projects/e2e-proj/serverlessEndpoints/tiny-proxy/listKeys | json primaryKey)
ask() {
  curl -sS --fail-with-body -H "api-key: $2" -H "Content-Type: application/json" \
    -d '{"messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":8,"temperature":0}' "$1/chat/completions"
}
DIRECT=$(ask "$URI" "$KEY" | json choices.0.message.content)
PROXIED=$(ask "$PROXY_URI" "$PROXY_KEY" | json choices.0.message.content)
[ "$DIRECT" = "$PROXIED" ] || { echo "e2e: proxied answer '$PROXIED' differs from direct '$DIRECT'" >&2; exit 1; }
echo "ok: restart kept the endpoint; the upstream proxy gives the direct greedy answer"

echo "== e2e: all suites passed"
