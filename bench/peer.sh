#!/usr/bin/env bash
# Measures llama.cpp (node-llama-cpp@3.21.1, prebuilt CPU backend) and our
# engine on the same GGUF, same thread count, same prompt/generation lengths,
# one after the other, and prints one JSON object with both results and the
# ratios ours/peer.
#
# usage: bench/peer.sh MODEL.gguf [THREADS=2] [PROMPT_TOKENS=128] [GEN_TOKENS=32] [REPETITIONS=3]
#
# The peer is installed once into $PEER_DIR (default: $TMPDIR/maas-peer) with
#   NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm i -E --ignore-scripts node-llama-cpp@3.21.1
# and loaded with build: "never", so only its prebuilt binaries are used.
# Keep the machine otherwise idle while this runs.
set -euo pipefail

model=${1:?usage: bench/peer.sh MODEL.gguf [THREADS] [PROMPT_TOKENS] [GEN_TOKENS] [REPETITIONS]}
threads=${2:-2}
prompt=${3:-128}
gen=${4:-32}
reps=${5:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
peer_dir=${PEER_DIR:-${TMPDIR:-/tmp}/maas-peer}

mkdir -p "$peer_dir"
if [ ! -d "$peer_dir/node_modules/node-llama-cpp" ]; then
  echo "installing node-llama-cpp@3.21.1 into $peer_dir" >&2
  (cd "$peer_dir" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm i -E --ignore-scripts --no-audit --no-fund node-llama-cpp@3.21.1 >&2)
fi
cp "$root/bench/peer.mjs" "$peer_dir/peer.mjs"
(cd "$root" && go build -o "$peer_dir/maas" ./cmd/maas)

model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
# Page the file in once the way `maas serve` loads it (a file cached in 4 KiB
# pages is read again for 2 MiB pages where the kernel can), so that both
# engines run on the same page cache. KEEP_PAGE_CACHE=1 skips that and runs
# both on the page cache as it is.
keep=()
if [ "${KEEP_PAGE_CACHE:-0}" = 1 ]; then keep=(--keep-page-cache); fi
"$peer_dir/maas" bench --model "$model" --threads "$threads" --prompt-tokens 0 --gen-tokens 1 \
  --repetitions 1 "${keep[@]}" >&2
peer_json=$(cd "$peer_dir" && node peer.mjs "$model" "$threads" "$prompt" "$gen" "$reps")
ours_json=$("$peer_dir/maas" bench --model "$model" --threads "$threads" --prompt-tokens "$prompt" \
  --gen-tokens "$gen" --repetitions "$reps" --json "${keep[@]}")

PEER="$peer_json" OURS="$ours_json" node -e '
const peer = JSON.parse(process.env.PEER), ours = JSON.parse(process.env.OURS);
const ratio = (a, b) => (b > 0 ? a / b : null);
console.log(JSON.stringify({
  model: ours.model, pages: ours.pages, threads: ours.threads, prompt_tokens: ours.prompt_tokens, gen_tokens: ours.gen_tokens,
  ours: {prompt_tokens_per_second: ours.prompt_tokens_per_second, gen_tokens_per_second: ours.gen_tokens_per_second,
         peak_rss_bytes: ours.peak_rss_bytes},
  peer: {name: peer.peer, prompt_tokens_per_second: peer.prompt_tokens_per_second,
         gen_tokens_per_second: peer.gen_tokens_per_second},
  prompt_ratio: ratio(ours.prompt_tokens_per_second, peer.prompt_tokens_per_second),
  gen_ratio: ratio(ours.gen_tokens_per_second, peer.gen_tokens_per_second),
}, null, 1));
'
