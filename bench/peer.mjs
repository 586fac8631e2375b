// Measures llama.cpp (through node-llama-cpp's prebuilt CPU binary) on a GGUF
// the way `maas bench` measures our engine: a prompt of P random tokens
// evaluated as one batch on an empty context (prompt tokens/s), then G
// greedy single-token steps (generation tokens/s); medians of R repetitions
// after one warm-up. Prints one JSON object.
//
// usage: node peer.mjs MODEL THREADS PROMPT_TOKENS GEN_TOKENS REPETITIONS
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, threadsArg, pArg, gArg, rArg] = process.argv.slice(2);
if (!modelPath) {
    console.error("usage: node peer.mjs MODEL THREADS PROMPT_TOKENS GEN_TOKENS REPETITIONS");
    process.exit(2);
}
const threads = Number(threadsArg ?? 2), P = Number(pArg ?? 128), G = Number(gArg ?? 32), R = Number(rArg ?? 3);

const llama = await getLlama({build: "never", gpu: false, maxThreads: threads, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const context = await model.createContext({
    contextSize: P + G + 16, batchSize: Math.max(P, 1), threads: {ideal: threads, min: threads}, sequences: 1,
});
const seq = context.getSequence();

// Deterministic pseudo-random prompt (BOS first), like maas bench.
let state = 12345;
const rand = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? 32000;

function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const promptRates = [], genRates = [];
for (let rep = -1; rep < R; rep++) {
    await seq.clearHistory();
    const tokens = [1];
    for (let i = 1; i < P; i++) tokens.push(Math.floor(rand() * nVocab));
    let t0 = performance.now();
    if (P > 0) await seq.evaluateWithoutGeneratingNewTokens(tokens);
    const promptS = (performance.now() - t0) / 1000;
    let gen = 0;
    t0 = performance.now();
    if (G > 0) {
        // One single-token decode step per generated token (G steps in all),
        // as in maas bench.
        const it = seq.evaluate([Math.floor(rand() * nVocab)], {temperature: 0});
        for await (const _ of it) {
            if (++gen >= G) break;
        }
    }
    const genS = (performance.now() - t0) / 1000;
    if (rep < 0) continue;
    if (P > 0) promptRates.push(P / promptS);
    if (G > 0) genRates.push(gen / genS);
}
console.log(JSON.stringify({
    peer: "llama.cpp via node-llama-cpp@3.21.1",
    model: modelPath, threads, prompt_tokens: P, gen_tokens: G, repetitions: R,
    prompt_tokens_per_second: P > 0 ? median(promptRates) : 0,
    gen_tokens_per_second: G > 0 ? median(genRates) : 0,
    prompt_tokens_per_second_runs: promptRates, gen_tokens_per_second_runs: genRates,
}));
await context.dispose();
await model.dispose();
await llama.dispose();
