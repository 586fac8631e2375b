// Streaming chat over Server-Sent Events. Self-contained (no imports) so that
// its parser can be tested on its own.

// SSEParser turns a byte-agnostic text stream into events. push(text) takes
// any slice of the stream (chunks may split lines anywhere); onEvent(data) is
// called with the joined "data:" lines of each event when its blank line
// arrives. Lines starting with ":" are comments; other fields are ignored.
export class SSEParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = '';
    this.data = [];
  }

  push(text) {
    this.buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      // A lone "\r" at the end may be the first half of "\r\n": wait for more.
      if (!m || (m[0] === '\r' && m.index === this.buf.length - 1)) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  // end flushes an event left without its final blank line.
  end() {
    if (this.buf) this.line(this.buf.replace(/\r$/, ''));
    this.buf = '';
    this.line('');
  }

  line(line) {
    if (line === '') {
      if (this.data.length) {
        const d = this.data.join('\n');
        this.data = [];
        this.onEvent(d);
      }
      return;
    }
    if (line[0] === ':') return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') this.data.push(value);
  }
}

// ChatError is an error answer of the inference API.
export class ChatError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

async function chatError(res) {
  const text = await res.text().catch(() => '');
  try {
    const e = JSON.parse(text).error;
    if (e) return new ChatError(res.status, e.code, e.message);
  } catch { /* not JSON */ }
  return new ChatError(res.status, '', text.trim().slice(0, 300) || `${res.status} ${res.statusText}`);
}

// chatURL returns the chat completions URL of an endpoint URI.
export function chatURL(uri, apiVersion = '2024-05-01-preview') {
  return `${String(uri).replace(/\/+$/, '')}/chat/completions?api-version=${encodeURIComponent(apiVersion)}`;
}

// chat posts a chat completion request to an endpoint and reports progress:
// on.token(text) for each content delta, on.usage(usage) for a usage object,
// on.finish(reason) for a finish_reason. With body.stream it reads SSE chunks
// until "data: [DONE]" or the end of the response. It resolves to
// {content, usage, finishReason, model}. signal cancels the request.
export async function chat(uri, key, body, on = {}, signal = undefined) {
  const res = await fetch(chatURL(uri), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'api-key': key, Accept: body.stream ? 'text/event-stream' : 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw await chatError(res);
  const out = { content: '', usage: null, finishReason: null, model: '' };
  const take = (obj) => {
    if (obj.model) out.model = obj.model;
    const c = obj.choices && obj.choices[0];
    if (c) {
      const text = c.delta ? c.delta.content : c.message && c.message.content;
      if (text) {
        out.content += text;
        if (on.token) on.token(text);
      }
      if (c.finish_reason) {
        out.finishReason = c.finish_reason;
        if (on.finish) on.finish(c.finish_reason);
      }
    }
    if (obj.usage) {
      out.usage = obj.usage;
      if (on.usage) on.usage(obj.usage);
    }
  };
  // A server may answer a stream request with one JSON body; take it whole.
  if (!body.stream || !/text\/event-stream/i.test(res.headers.get('Content-Type') || '')) {
    take(await res.json());
    return out;
  }
  if (!res.body) throw new ChatError(0, '', 'this browser cannot read streamed responses');
  let done = false;
  let streamErr = null;
  const parser = new SSEParser((data) => {
    if (done) return;
    if (data.trim() === '[DONE]') { done = true; return; }
    let obj;
    try { obj = JSON.parse(data); } catch { streamErr = new ChatError(0, '', `bad stream chunk: ${data.slice(0, 120)}`); return; }
    if (obj.error) { streamErr = new ChatError(0, obj.error.code, obj.error.message); return; }
    take(obj);
  });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  try {
    while (!done && !streamErr) {
      const { value, done: eof } = await reader.read();
      if (eof) break;
      parser.push(dec.decode(value, { stream: true }));
    }
    if (!done && !streamErr) { parser.push(dec.decode()); parser.end(); }
  } finally {
    reader.cancel().catch(() => {});
  }
  if (streamErr) throw streamErr;
  return out;
}
