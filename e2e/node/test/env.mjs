// Shared settings of the end-to-end suites: e2e/run.sh sets the server root,
// an endpoint key and the endpoint URI exactly as the control plane reports it.
import { test } from "node:test";

export const url = process.env.MAAS_E2E_URL ?? "";
export const key = process.env.MAAS_E2E_KEY ?? "";
export const uri = (process.env.MAAS_E2E_ENDPOINT_URI ?? "").replace(/\/+$/, "");
export const configured = url !== "" && key !== "" && uri !== "";

// e2eTest skips (with the reason) when run outside e2e/run.sh.
export function e2eTest(name, fn) {
  return configured
    ? test(name, { timeout: 180_000 }, fn)
    : test(name, { skip: "MAAS_E2E_URL, MAAS_E2E_KEY and MAAS_E2E_ENDPOINT_URI are not set (e2e/run.sh sets them)" }, fn);
}

export const messages = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "What is the capital of France?" },
];

// checkUsage asserts a usage object is consistent and within max_tokens.
export function checkUsage(assert, usage, maxCompletion) {
  assert.ok(usage, "usage is present");
  assert.ok(usage.prompt_tokens > 0, `prompt_tokens ${usage.prompt_tokens}`);
  assert.ok(usage.completion_tokens > 0 && usage.completion_tokens <= maxCompletion, `completion_tokens ${usage.completion_tokens}`);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
}
