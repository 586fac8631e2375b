// Measures llama.cpp (node-llama-cpp's prebuilt CPU binary) serving N
// concurrent generations the way `maas bench serve` measures our server:
// for each level N, one context with N sequences (sequences share its
// batches, as llama-server's slots do), N requests started together, each a
// prompt of P random tokens (BOS first, no shared prefix) then G greedy
// tokens. Reports aggregate tokens/s (all generated tokens over the level's
// wall time, prompts included), per-stream decode tokens/s (median) and time
// to first token (median, p90). Also the cold start: model load plus the
// first request's time to first token. Prints one JSON object.
//
// usage: node serve-peer.mjs MODEL THREADS STREAMS PROMPT_TOKENS GEN_TOKENS
//   STREAMS is comma-separated, e.g. 1,2,4,8,16
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, threadsArg, streamsArg, pArg, gArg] = process.argv.slice(2);
if (!modelPath) {
    console.error("usage: node serve-peer.mjs MODEL THREADS STREAMS PROMPT_TOKENS GEN_TOKENS");
    process.exit(2);
}
const threads = Number(threadsArg ?? 2), P = Number(pArg ?? 32), G = Number(gArg ?? 32);
const levels = (streamsArg ?? "1,2,4,8,16").split(",").filter((s) => s.trim() !== "").map(Number);
if (!(P >= 1 && G >= 1 && levels.length > 0 && levels.every((n) => Number.isInteger(n) && n >= 1))) {
    console.error("serve-peer: need PROMPT_TOKENS >= 1, GEN_TOKENS >= 1 and positive integer STREAMS");
    process.exit(2);
}

function percentile(xs, p) {
    if (xs.length === 0) return 0;
    const s = [...xs].sort((a, b) => a - b);
    const pos = (p / 100) * (s.length - 1), lo = Math.floor(pos);
    return lo >= s.length - 1 ? s[s.length - 1] : s[lo] + (pos - lo) * (s[lo + 1] - s[lo]);
}

// Deterministic pseudo-random token ids in [3, 32000): no control tokens.
let state = 4242;
const rand = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
const prompt = () => [1, ...Array.from({length: P - 1}, () => 3 + Math.floor(rand() * 31997))];

// One request on seq: returns {ttft, total, tokens} in seconds from start.
async function run(seq, tokens, start) {
    let ttft = 0, n = 0;
    for await (const _ of seq.evaluate(tokens, {temperature: 0})) {
        if (n === 0) ttft = (performance.now() - start) / 1000;
        if (++n >= G) break;
    }
    return {ttft, total: (performance.now() - start) / 1000, tokens: n};
}

const llama = await getLlama({build: "never", gpu: false, maxThreads: threads, logLevel: LlamaLogLevel.error});
const ctxOpts = (n) => ({contextSize: P + G + 16, sequences: n, threads: {ideal: threads, min: threads}});

// Cold start: load (mmap) + context + the first request's first token.
const t0 = performance.now();
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const loadS = (performance.now() - t0) / 1000;
let ctx = await model.createContext(ctxOpts(1));
const seq0 = ctx.getSequence();
const cold = await run(seq0, prompt(), t0);
await seq0.clearHistory();
const warm = await run(seq0, prompt(), performance.now());
await ctx.dispose();

const out = [];
for (const n of levels) {
    ctx = await model.createContext(ctxOpts(n));
    const seqs = Array.from({length: n}, () => ctx.getSequence());
    const prompts = seqs.map(() => prompt());
    const start = performance.now();
    const res = await Promise.all(seqs.map((s, i) => run(s, prompts[i], start)));
    const wall = (performance.now() - start) / 1000;
    await ctx.dispose();
    const tokens = res.reduce((a, r) => a + r.tokens, 0);
    const rates = res.filter((r) => r.tokens > 1 && r.total > r.ttft).map((r) => (r.tokens - 1) / (r.total - r.ttft));
    const ttfts = res.map((r) => r.ttft);
    out.push({
        streams: n, wall_s: wall, completion_tokens: tokens, aggregate_tokens_per_second: tokens / wall,
        per_stream_tokens_per_second: percentile(rates, 50), ttft_median_s: percentile(ttfts, 50),
        ttft_p90_s: percentile(ttfts, 90), ttft_max_s: percentile(ttfts, 100),
    });
}
const one = out.find((l) => l.streams === 1);
for (const l of out) {
    l.aggregate_tokens_per_second_vs_1 = one ? l.aggregate_tokens_per_second / one.aggregate_tokens_per_second : 0;
    l.ttft_median_vs_1 = one ? l.ttft_median_s / one.ttft_median_s : 0;
}
console.log(JSON.stringify({
    peer: "llama.cpp via node-llama-cpp@3.21.1", model: modelPath, threads, prompt_tokens: P, gen_tokens: G,
    cold_start: {load_s: loadS, first_ttft_s: cold.ttft, warm_ttft_s: warm.ttft},
    levels: out,
}));
await model.dispose();
await llama.dispose();
