// The Azure AI Inference REST client (npm "@azure-rest/ai-inference") against
// a maas endpoint, with the endpoint URI exactly as the control plane reports it.
import assert from "node:assert/strict";
import ModelClient, { isUnexpected } from "@azure-rest/ai-inference";
import { AzureKeyCredential } from "@azure/core-auth";
import { createSseStream } from "@azure/core-sse";
import { e2eTest, key, messages, uri, checkUsage } from "./env.mjs";

// A local server speaks plain HTTP, which the client allows only when told.
const client = (k = key) => ModelClient(uri, new AzureKeyCredential(k), {
  retryOptions: { maxRetries: 0 },
  allowInsecureConnection: uri.startsWith("http:"),
});
const body = { messages, max_tokens: 12, temperature: 0, seed: 7 };

e2eTest("azure: model info", async () => {
  const res = await client().path("/info").get();
  assert.equal(res.status, "200", JSON.stringify(res.body));
  assert.equal(res.body.model_type, "chat-completions");
  assert.ok(res.body.model_name);
  assert.ok(res.body.model_provider_name);
});

e2eTest("azure: chat completion", async () => {
  const res = await client().path("/chat/completions").post({ body });
  if (isUnexpected(res)) assert.fail(JSON.stringify(res.body));
  const info = await client().path("/info").get();
  assert.equal(res.body.object, "chat.completion");
  assert.equal(res.body.model, info.body.model_name, "model is the model's name");
  assert.equal(res.body.choices[0].message.role, "assistant");
  assert.ok(["stop", "length"].includes(res.body.choices[0].finish_reason));
  checkUsage(assert, res.body.usage, 12);
  assert.ok(res.headers["x-request-id"] && res.headers["apim-request-id"]);
  assert.ok(res.headers["x-ratelimit-remaining-tokens"] && res.headers["x-ratelimit-remaining-requests"]);
});

e2eTest("azure: streamed chat completion ends with finish_reason and usage, then [DONE]", async () => {
  const whole = await client().path("/chat/completions").post({ body });
  if (isUnexpected(whole)) assert.fail(JSON.stringify(whole.body));
  const res = await client().path("/chat/completions").post({ body: { ...body, stream: true } }).asNodeStream();
  assert.equal(res.status, "200");
  assert.match(res.headers["content-type"], /^text\/event-stream/);
  const chunks = [];
  let done = false;
  for await (const event of createSseStream(res.body)) {
    assert.ok(!done, "nothing follows [DONE]");
    if (event.data === "[DONE]") {
      done = true;
      continue;
    }
    chunks.push(JSON.parse(event.data));
  }
  assert.ok(done, "the stream ends with [DONE]");
  assert.ok(chunks.length >= 2);
  assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
  const last = chunks[chunks.length - 1];
  assert.ok(["stop", "length"].includes(last.choices[0].finish_reason));
  assert.deepEqual(last.usage, whole.body.usage, "usage on the last chunk equals the non-streamed usage");
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
  assert.equal(text, whole.body.choices[0].message.content);
});

e2eTest("azure: extra-parameters and capabilities", async () => {
  const unknown = await client().path("/chat/completions").post({ body: { ...body, best_of: 2 } });
  assert.equal(unknown.status, "400");
  assert.match(unknown.body.error.message, /best_of/);
  const dropped = await client().path("/chat/completions").post({ body: { ...body, best_of: 2 }, headers: { "extra-parameters": "drop" } });
  assert.equal(dropped.status, "200", JSON.stringify(dropped.body));
  const passed = await client().path("/chat/completions").post({
    body: { ...body, logprobs: true, top_logprobs: 2 },
    headers: { "extra-parameters": "pass-through" },
  });
  if (isUnexpected(passed)) assert.fail(JSON.stringify(passed.body));
  const lp = passed.body.choices[0].logprobs;
  assert.equal(lp.content.length, passed.body.usage.completion_tokens, "one logprob per generated token");
  assert.ok(lp.content.every((t) => t.logprob <= 0 && t.top_logprobs.length === 2));
  const tools = await client().path("/chat/completions").post({
    body: { ...body, tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }] },
  });
  assert.equal(tools.status, "422");
  assert.equal(tools.body.code, "parameter_not_supported");
  assert.deepEqual(tools.body.detail.loc, ["body", "tools"]);
  assert.ok(tools.body.detail.input);
});

e2eTest("azure: a wrong key is 401 and embeddings are not served", async () => {
  const res = await client("not-a-key").path("/chat/completions").post({ body });
  assert.equal(res.status, "401");
  assert.equal(res.body.error.code, "unauthorized");
  const emb = await client().path("/embeddings").post({ body: { input: ["hello"] } });
  assert.equal(emb.status, "404");
  assert.match(emb.body.error.message, /Modality not supported/);
});
