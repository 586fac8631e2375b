// Unit tests of the app's pure JavaScript, run by TestJavaScript under Node
// with the modules of static/js copied next to this file as ./js/.
import assert from 'node:assert/strict';
import { SSEParser, chat, chatURL, ChatError } from './js/sse.js';
import * as f from './js/format.js';
import { modelName, findModel, prices, humanize } from './js/catalog.js';
import { NAME_RE, sampleRequest } from './js/endpoints.js';
import { sameOriginURI } from './js/playground.js';
import { totals, nextDay, share } from './js/usage.js';
import { items, usageQuery } from './js/api.js';

const tests = [];
const test = (name, fn) => tests.push([name, fn]);

// parse feeds text to a parser in the given chunk sizes and returns the events.
function parse(text, size) {
  const out = [];
  const p = new SSEParser((d) => out.push(d));
  for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
  p.end();
  return out;
}

test('SSE events survive any chunking', () => {
  const text = ': comment\r\ndata: {"a":1}\r\n\r\nevent: x\ndata:{"b":2}\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n';
  for (let size = 1; size <= text.length; size++) {
    assert.deepEqual(parse(text, size), ['{"a":1}', '{"b":2}', 'line1\nline2', '[DONE]'], `chunk size ${size}`);
  }
});

test('SSE lone CR line ends and unterminated last event', () => {
  assert.deepEqual(parse('data: a\r\rdata: b', 3), ['a', 'b']);
  assert.deepEqual(parse('\n\n\n', 1), []);
});

// sseResponse returns a fetch Response streaming body in chunks of size bytes.
function sseResponse(body, size, status = 200) {
  const bytes = new TextEncoder().encode(body);
  let i = 0;
  const stream = new ReadableStream({
    pull(c) {
      if (i >= bytes.length) { c.close(); return; }
      c.enqueue(bytes.slice(i, i + size));
      i += size;
    },
  });
  return new Response(stream, { status, headers: { 'Content-Type': 'text/event-stream' } });
}

const chunk = (obj) => `data: ${JSON.stringify(obj)}\n\n`;
const STREAM =
  chunk({ object: 'chat.completion.chunk', model: 'Phi-3-mini-4k-instruct', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }) +
  chunk({ choices: [{ index: 0, delta: { content: 'Héllo' }, finish_reason: null }] }) +
  chunk({ choices: [{ index: 0, delta: { content: ', wörld' }, finish_reason: null }] }) +
  chunk({ choices: [{ index: 0, delta: { content: '' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }) +
  'data: [DONE]\n\n';

test('chat streams tokens, finish reason and usage', async () => {
  for (const size of [1, 2, 5, 64, 4096]) {
    let seen = null;
    globalThis.fetch = async (url, init) => {
      seen = { url, init };
      return sseResponse(STREAM, size);
    };
    const tokens = [];
    const res = await chat('http://h:1/serverless/eastus2/ep/', 'k'.repeat(32),
      { messages: [{ role: 'user', content: 'hi' }], stream: true }, { token: (t) => tokens.push(t) });
    assert.equal(seen.url, 'http://h:1/serverless/eastus2/ep/chat/completions?api-version=2024-05-01-preview');
    assert.equal(seen.init.headers['api-key'], 'k'.repeat(32));
    assert.equal(JSON.parse(seen.init.body).stream, true);
    assert.deepEqual(tokens, ['Héllo', ', wörld'], `chunk size ${size}`);
    assert.equal(res.content, 'Héllo, wörld');
    assert.equal(res.finishReason, 'stop');
    assert.equal(res.model, 'Phi-3-mini-4k-instruct');
    assert.deepEqual(res.usage, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
  }
});

test('chat ignores events after [DONE]', async () => {
  globalThis.fetch = async () => sseResponse(STREAM + chunk({ choices: [{ delta: { content: 'late' } }] }), 7);
  const res = await chat('http://h', 'k', { messages: [], stream: true });
  assert.equal(res.content, 'Héllo, wörld');
});

test('chat non-streaming', async () => {
  globalThis.fetch = async () => new Response(JSON.stringify({
    model: 'm', choices: [{ message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  }), { status: 200 });
  const res = await chat('http://h', 'k', { messages: [], stream: false });
  assert.equal(res.content, 'ok');
  assert.equal(res.finishReason, 'length');
  assert.equal(res.usage.total_tokens, 2);
});

test('chat takes a JSON answer to a stream request', async () => {
  globalThis.fetch = async () => new Response(JSON.stringify({ choices: [{ message: { content: 'whole' }, finish_reason: 'stop' }] }),
    { status: 200, headers: { 'Content-Type': 'application/json' } });
  const tokens = [];
  const res = await chat('http://h', 'k', { messages: [], stream: true }, { token: (t) => tokens.push(t) });
  assert.equal(res.content, 'whole');
  assert.deepEqual(tokens, ['whole']);
});

test('chat errors carry status, code and message', async () => {
  globalThis.fetch = async () => new Response(JSON.stringify({ error: { code: 'RateLimitReached', message: 'slow down' } }), { status: 429 });
  await assert.rejects(chat('http://h', 'k', { messages: [], stream: true }),
    (e) => e instanceof ChatError && e.status === 429 && e.code === 'RateLimitReached' && e.message === 'slow down');
  globalThis.fetch = async () => new Response('upstream broke', { status: 502 });
  await assert.rejects(chat('http://h', 'k', { messages: [], stream: true }), (e) => e.status === 502 && e.message === 'upstream broke');
  globalThis.fetch = async () => sseResponse(chunk({ error: { code: 'internal', message: 'engine failed' } }), 3);
  await assert.rejects(chat('http://h', 'k', { messages: [], stream: true }), (e) => e.code === 'internal');
  globalThis.fetch = async () => sseResponse('data: {not json\n\n', 100);
  await assert.rejects(chat('http://h', 'k', { messages: [], stream: true }), /bad stream chunk/);
});

test('chatURL trims slashes and encodes the version', () => {
  assert.equal(chatURL('http://x/serverless/r/n//', '2024-04-01-preview'), 'http://x/serverless/r/n/chat/completions?api-version=2024-04-01-preview');
});

test('format', () => {
  assert.equal(f.int(1234567), '1,234,567');
  assert.equal(f.int(undefined), '\u2013');
  assert.equal(f.usd(0), '$0.00');
  assert.equal(f.usd(0.00052), '$0.00052');
  assert.equal(f.usd(0.0000013), '$0.0000013');
  assert.equal(f.usd(0.00000468), '$0.00000468');
  assert.equal(f.usd(0.003991), '$0.003991');
  assert.equal(f.usd(1e-9), '$0.000000001');
  assert.equal(f.usd(1.5), '$1.5000');
  assert.equal(f.usd(1234.5), '$1234.50');
  assert.equal(f.price(0.00013), '$0.00013');
  assert.equal(f.contextLen(4096), '4K');
  assert.equal(f.contextLen(131072), '128K');
  assert.equal(f.ms(850), '850 ms');
  assert.equal(f.ms(2300), '2.3 s');
  // 19 prompt and 72 completion tokens of Phi-3-mini: 19/1000*0.00013 + 72/1000*0.00052.
  assert.ok(Math.abs(f.cost(19, 72, 0.00013, 0.00052) - 0.00003991) < 1e-12);
});

test('catalog helpers', () => {
  const models = [
    { name: 'Phi-3-mini-4k-instruct', catalogId: 'azureml://registries/azureml/models/Phi-3-mini-4k-instruct', pricing: { inputPer1K: 0.00013, outputPer1K: 0.00052 } },
    { name: 'tiny', catalogId: 'azureml://registries/custom/models/tiny-x' },
  ];
  assert.equal(modelName('azureml://registries/azureml/models/Phi-3.5-MoE-instruct'), 'Phi-3.5-MoE-instruct');
  assert.equal(findModel(models, 'azureml://registries/azureml/models/Phi-3-mini-4k-instruct'), models[0]);
  assert.equal(findModel(models, 'azureml://registries/custom/models/tiny-x'), models[1]);
  assert.equal(findModel(models, 'azureml://registries/azureml/models/nope'), undefined);
  assert.deepEqual(prices(models[0]), [0.00013, 0.00052]);
  assert.deepEqual(prices(models[1]), [0, 0]);
  assert.equal(humanize('GenerallyAvailable'), 'Generally available');
  assert.equal(humanize('Preview'), 'Preview');
});

test('endpoint name rule', () => {
  for (const ok of ['a', 'phi3-mini', 'A'.repeat(52)]) assert.ok(NAME_RE.test(ok), ok);
  for (const bad of ['', '1abc', '-a', 'a_b', 'a.b', 'A'.repeat(53), 'a b']) assert.ok(!NAME_RE.test(bad), bad);
});

test('sample request names the chat route and no key', () => {
  const s = sampleRequest('http://127.0.0.1:8080/serverless/eastus2/ep/');
  assert.ok(s.includes("'http://127.0.0.1:8080/serverless/eastus2/ep/chat/completions?api-version=2024-05-01-preview'"), s);
  assert.ok(s.includes('"api-key: $KEY"'), s);
});

test('same-origin fallback for the data plane', () => {
  assert.equal(sameOriginURI('http://127.0.0.1:8080/serverless/eastus2/ep', 'http://localhost:8080'), 'http://localhost:8080/serverless/eastus2/ep');
  assert.equal(sameOriginURI('http://localhost:8080/serverless/eastus2/ep', 'http://localhost:8080'), null);
  assert.equal(sameOriginURI('https://ep.eastus2.example.test/', 'http://localhost:8080'), 'http://localhost:8080/serverless/eastus2/ep');
  assert.equal(sameOriginURI('https://ep.eastus2.example.test/other', 'http://localhost:8080'), null);
  assert.equal(sameOriginURI('http://10.0.0.1:8080/', 'http://localhost:8080'), null);
  assert.equal(sameOriginURI('not a url', 'http://localhost:8080'), null);
});

test('usage totals and query', () => {
  const t = totals([{ requests: 2, promptTokens: 10, totalCost: 0.5 }, { requests: 3, promptTokens: 5, totalCost: 0.25 }]);
  assert.equal(t.requests, 5);
  assert.equal(t.promptTokens, 15);
  assert.equal(t.totalCost, 0.75);
  assert.equal(t.completionTokens, 0);
  assert.equal(usageQuery({ groupBy: 'day', from: '2026-11-01', to: '' }), 'groupBy=day&from=2026-11-01');
  assert.deepEqual(items({ value: [1] }), [1]);
  assert.deepEqual(items([2]), [2]);
  assert.deepEqual(items(null), []);
  assert.equal(share({ totalCost: 0.25 }, { totalCost: 1 }), 0.25);
  assert.equal(share({ totalTokens: 5 }, { totalCost: 0, totalTokens: 20 }), 0.25);
  assert.equal(share({}, { totalCost: 0, totalTokens: 0 }), 0);
  assert.equal(nextDay('2026-11-30'), '2026-12-01');
  assert.equal(nextDay('2024-02-28'), '2024-02-29');
  assert.equal(nextDay('2026-12-31'), '2027-01-01');
});

let failed = 0;
for (const [name, fn] of tests) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n${err && err.stack}`);
  }
}
if (failed) {
  console.log(`${failed} of ${tests.length} failed`);
  process.exit(1);
}
console.log(`all ${tests.length} passed`);
