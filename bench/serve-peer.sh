#!/usr/bin/env bash
# Serving comparison: our platform (maas bench serve: HTTP, SSE, continuous
# batching) and llama.cpp (node-llama-cpp@3.21.1, one context with N
# sequences) on the same GGUF, same thread count, same generation length and
# prompt length in tokens, one after the other. Prints one JSON object with
# both results and the ratios ours/peer per concurrency level.
#
# usage: bench/serve-peer.sh MODEL.gguf [THREADS=2] [STREAMS=1,2,4,8,16] [PROMPT_WORDS=32] [GEN_TOKENS=32]
#
# env: PEER_DIR (default $TMPDIR/maas-peer) where the peer is installed with
#        NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm i -E --ignore-scripts node-llama-cpp@3.21.1
#      MAAS_BIN  a maas binary to use instead of building ./cmd/maas
#      PREFIX_TOKENS  shared system prompt for our prefix-cache test (default 1000; 0 skips)
#      PREFIX_PAIRS  request pairs in that test (default 2)
#      TIMEOUT   seconds each side may run (default 1800)
#      CPUPROFILE  file for a CPU profile of our concurrency levels (go tool pprof -top FILE)
# The peer's prompt length is our measured prompt length (chat template
# included), so both evaluate the same number of prompt tokens per request.
# Keep the machine otherwise idle while this runs.
set -euo pipefail

model=${1:?usage: bench/serve-peer.sh MODEL.gguf [THREADS] [STREAMS] [PROMPT_WORDS] [GEN_TOKENS]}
threads=${2:-2}
streams=${3:-1,2,4,8,16}
prompt=${4:-32}
gen=${5:-32}
prefix=${PREFIX_TOKENS:-1000}
limit=${TIMEOUT:-1800}
root=$(cd "$(dirname "$0")/.." && pwd)
peer_dir=${PEER_DIR:-${TMPDIR:-/tmp}/maas-peer}

mkdir -p "$peer_dir"
if [ ! -d "$peer_dir/node_modules/node-llama-cpp" ]; then
  echo "installing node-llama-cpp@3.21.1 into $peer_dir" >&2
  (cd "$peer_dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm i -E --ignore-scripts --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
cp "$root/bench/serve-peer.mjs" "$peer_dir/serve-peer.mjs"
maas=${MAAS_BIN:-}
if [ -z "$maas" ]; then
  maas=$peer_dir/maas
  (cd "$root" && go build -o "$maas" ./cmd/maas)
fi

model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
echo "ours: maas bench serve --threads $threads --streams $streams" >&2
prof=()
if [ -n "${CPUPROFILE:-}" ]; then prof=(--cpuprofile "$CPUPROFILE"); fi
ours_json=$(timeout "$limit" "$maas" bench serve --model "$model" --threads "$threads" --streams "$streams" \
  --prompt-tokens "$prompt" --gen-tokens "$gen" --prefix-tokens "$prefix" --prefix-pairs "${PREFIX_PAIRS:-2}" "${prof[@]}" --json)
peer_prompt=$(OURS="$ours_json" node -e '
const o = JSON.parse(process.env.OURS);
console.log(Math.max(1, Math.round(o.levels[0].prompt_tokens)));')
echo "peer: node-llama-cpp, $peer_prompt prompt tokens" >&2
peer_json=$(cd "$peer_dir" && timeout "$limit" node serve-peer.mjs "$model" "$threads" "$streams" "$peer_prompt" "$gen")

PEER="$peer_json" OURS="$ours_json" node -e '
const peer = JSON.parse(process.env.PEER), ours = JSON.parse(process.env.OURS);
const ratio = (a, b) => (b > 0 ? a / b : null);
const pick = (l) => l && {aggregate_tokens_per_second: l.aggregate_tokens_per_second,
  per_stream_tokens_per_second: l.per_stream_tokens_per_second, ttft_median_s: l.ttft_median_s,
  ttft_p90_s: l.ttft_p90_s, aggregate_tokens_per_second_vs_1: l.aggregate_tokens_per_second_vs_1,
  ttft_median_vs_1: l.ttft_median_vs_1, failed: l.failed};
console.log(JSON.stringify({
  model: ours.model, threads: ours.threads, prompt_tokens: peer.prompt_tokens, gen_tokens: ours.gen_tokens,
  peer_name: peer.peer,
  cold_start: {ours: ours.cold_start, peer: peer.cold_start},
  prefix_cache_ours: ours.prefix_cache,
  levels: ours.levels.map((o) => {
    const p = peer.levels.find((l) => l.streams === o.streams);
    return {streams: o.streams, ours: pick(o), peer: pick(p),
      tokens_per_second_ratio: p ? ratio(o.aggregate_tokens_per_second, p.aggregate_tokens_per_second) : null,
      ttft_ratio: p ? ratio(o.ttft_median_s, p.ttft_median_s) : null};
  }),
}, null, 1));
'
