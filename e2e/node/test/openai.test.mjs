// The official OpenAI Node SDK (npm "openai") against a maas endpoint, with
// the endpoint URI as base URL (plus /v1, as for Azure serverless endpoints)
// and with the server-wide /v1 routes where the key selects the endpoint.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { e2eTest, key, messages, uri, url, checkUsage } from "./env.mjs";

const client = (baseURL, apiKey = key) => new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });
const params = { model: "ignored-on-endpoint-routes", messages, max_tokens: 12, temperature: 0, seed: 7 };

e2eTest("openai: chat completion", async () => {
  const { data, response } = await client(`${uri}/v1`).chat.completions.create(params).withResponse();
  assert.equal(data.object, "chat.completion");
  assert.ok(data.id && data.created > 0 && data.model);
  assert.equal(data.choices.length, 1);
  assert.equal(data.choices[0].message.role, "assistant");
  assert.equal(typeof data.choices[0].message.content, "string");
  assert.ok(["stop", "length"].includes(data.choices[0].finish_reason));
  checkUsage(assert, data.usage, 12);
  for (const h of ["x-request-id", "apim-request-id", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"]) {
    assert.ok(response.headers.get(h), `header ${h}`);
  }
});

for (const includeUsage of [false, true]) {
  e2eTest(`openai: streamed chat completion (include_usage ${includeUsage})`, async () => {
    const c = client(`${uri}/v1`);
    const whole = await c.chat.completions.create(params);
    const req = { ...params, stream: true };
    if (includeUsage) req.stream_options = { include_usage: true };
    const stream = await c.chat.completions.create(req);
    let text = "";
    let finish = null;
    let usage = null;
    let usageChunks = 0;
    let first = true;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      if (first) {
        assert.equal(chunk.choices[0].delta.role, "assistant", "the first chunk carries the role");
        first = false;
      }
      if (chunk.usage) {
        usage = chunk.usage;
        usageChunks++;
      }
      for (const ch of chunk.choices) {
        text += ch.delta.content ?? "";
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    assert.equal(usageChunks, 1, "usage is sent exactly once");
    if (includeUsage) assert.ok(usage, "include_usage gives a usage chunk");
    assert.equal(text, whole.choices[0].message.content, "streamed text equals the non-streamed answer (greedy)");
    assert.equal(finish, whole.choices[0].finish_reason);
    checkUsage(assert, usage, 12);
    assert.deepEqual(usage, whole.usage);
  });
}

e2eTest("openai: server-wide /v1 routes select the endpoint by key", async () => {
  const c = client(`${url}/v1`);
  const models = await c.models.list();
  assert.equal(models.data.length, 1);
  assert.ok(uri.endsWith(`/${models.data[0].id}`), `${models.data[0].id} names ${uri}`);
  const data = await c.chat.completions.create({ ...params, model: models.data[0].id });
  checkUsage(assert, data.usage, 12);
  await assert.rejects(c.chat.completions.create({ ...params, model: "no-such-endpoint" }), (err) => err.status === 404);
});

e2eTest("openai: errors come back as SDK errors", async () => {
  await assert.rejects(client(`${uri}/v1`, "not-a-key").chat.completions.create(params),
    (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
  await assert.rejects(
    client(`${uri}/v1`).chat.completions.create({ ...params, response_format: { type: "json_object" } }),
    (err) => err instanceof OpenAI.UnprocessableEntityError && err.code === "parameter_not_supported");
});
