// Metering: after requests made with a real client (streamed and not), the
// project's usage API shows exactly the tokens the clients were told.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { e2eTest, key, messages, uri, url } from "./env.mjs";

const admin = process.env.MAAS_E2E_ADMIN_TOKEN ?? "";
const project = process.env.MAAS_E2E_PROJECT ?? "";
const endpoint = uri.split("/").pop();

async function usage() {
  const res = await fetch(`${url}/api/projects/${project}/usage?groupBy=endpoint`, {
    headers: { Authorization: `Bearer ${admin}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const report = await res.json();
  const row = report.value.find((r) => r.key === endpoint) ?? { requests: 0, promptTokens: 0, completionTokens: 0, totalCost: 0 };
  return row;
}

// settled waits until the ledger has written everything queued by earlier
// tests (it flushes at least every second), so the counts move only with
// this test's requests.
async function settled() {
  let prev = await usage();
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1200));
    const cur = await usage();
    if (cur.requests === prev.requests) return cur;
    prev = cur;
  }
  return prev;
}

e2eTest("metering: the usage API matches what clients were told", async (t) => {
  if (!admin || !project) {
    t.skip("MAAS_E2E_ADMIN_TOKEN and MAAS_E2E_PROJECT are not set");
    return;
  }
  const before = await settled();
  const client = new OpenAI({ baseURL: `${uri}/v1`, apiKey: key, maxRetries: 0, timeout: 120_000 });
  let prompt = 0;
  let completion = 0;
  for (let i = 0; i < 4; i++) {
    const params = { model: "x", messages, max_tokens: 3 + i, temperature: 0 };
    if (i % 2 === 0) {
      const r = await client.chat.completions.create(params);
      prompt += r.usage.prompt_tokens;
      completion += r.usage.completion_tokens;
    } else {
      const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        if (chunk.usage) {
          prompt += chunk.usage.prompt_tokens;
          completion += chunk.usage.completion_tokens;
        }
      }
    }
  }
  // The ledger writes in batches; wait for them.
  let after;
  for (let i = 0; i < 100; i++) {
    after = await usage();
    if (after.requests - before.requests >= 4) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  after = await settled(); // nothing else may arrive: exactly one record per request
  assert.equal(after.requests - before.requests, 4, "one usage record per request");
  assert.equal(after.promptTokens - before.promptTokens, prompt);
  assert.equal(after.completionTokens - before.completionTokens, completion);
  assert.ok(after.totalCost > before.totalCost, "cost grows with use");
});
