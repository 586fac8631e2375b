// Playground page: chat with one of the project's endpoints through its
// inference URI and key, streaming tokens as they arrive, with time to first
// token, tokens per second, usage and cost.
import { h, clear, errorBox, emptyState } from './dom.js';
import * as api from './api.js';
import * as f from './format.js';
import { chat } from './sse.js';
import { modelName, findModel, prices } from './catalog.js';

// sameOriginURI maps an endpoint URI on another origin to this origin's
// /serverless/<region>/<name> route, for when a cross-origin call fails (the
// data plane sends no CORS headers): a path URI keeps its path (the server's
// public URL says 127.0.0.1 but the page was opened as localhost); a host URI
// https://<name>.<region>.<domain> becomes /serverless/<region>/<name>.
// Otherwise, or on the same origin, it returns null.
export function sameOriginURI(uri, origin) {
  let u;
  try {
    u = new URL(uri);
  } catch {
    return null;
  }
  if (u.origin === origin) return null;
  if (u.pathname.startsWith('/serverless/')) return origin + u.pathname.replace(/\/+$/, '');
  const labels = u.hostname.split('.');
  if ((u.pathname === '/' || u.pathname === '') && labels.length >= 3 && !/^\d+$/.test(labels[labels.length - 1])) {
    return `${origin}/serverless/${encodeURIComponent(labels[1])}/${encodeURIComponent(labels[0])}`;
  }
  return null;
}

export function render(view, ctx) {
  if (!ctx.project) {
    view.append(emptyState('No project selected', 'Choose a project in the top bar, then one of its endpoints.'));
    return undefined;
  }
  const s = {
    endpoint: null, // selected endpoint resource
    model: null, // its catalog entry
    key: '',
    uri: '',
    history: [], // [{role, content}] of the conversation, without the system prompt
    abort: null,
  };

  const epSel = h('select', { 'aria-label': 'Endpoint' }, h('option', { text: 'Loading\u2026' }));
  const epInfo = h('div', { class: 'muted small' });
  const system = h('textarea', { rows: 4, 'aria-label': 'System prompt', value: 'You are a helpful assistant.' });
  const temp = h('input', { type: 'range', min: 0, max: 2, step: 0.05, value: 0.7, 'aria-label': 'Temperature' });
  const tempOut = h('output', { text: '0.7' });
  const topP = h('input', { type: 'number', min: 0, max: 1, step: 0.05, value: 1, 'aria-label': 'Top p' });
  const maxTokens = h('input', { type: 'number', min: 1, step: 1, value: 256, 'aria-label': 'Max tokens' });
  const stream = h('input', { type: 'checkbox', checked: true });
  temp.addEventListener('input', () => { tempOut.textContent = temp.value; });

  const transcript = h('div', { class: 'transcript', 'aria-live': 'polite' });
  const stats = h('div', { class: 'stats' });
  const input = h('textarea', { rows: 3, class: 'composer-input', placeholder: 'Type a message (Enter to send, Shift+Enter for a new line)', 'aria-label': 'Message' });
  const send = h('button', { class: 'btn btn-primary', type: 'button', text: 'Send' });
  const stop = h('button', { class: 'btn', type: 'button', text: 'Stop', hidden: true });
  const reset = h('button', { class: 'btn', type: 'button', text: 'Clear chat' });

  view.append(h('div', { class: 'playground' },
    h('section', { class: 'panel settings', 'aria-label': 'Settings' },
      h('label', { class: 'field' }, h('span', { text: 'Endpoint' }), epSel), epInfo,
      h('label', { class: 'field' }, h('span', { text: 'System prompt' }), system),
      h('label', { class: 'field' }, h('span', {}, 'Temperature ', tempOut), temp),
      h('label', { class: 'field' }, h('span', { text: 'Top p' }), topP),
      h('label', { class: 'field' }, h('span', { text: 'Max tokens' }), maxTokens),
      h('label', { class: 'check' }, stream, h('span', { text: 'Stream tokens' }))),
    h('section', { class: 'panel chat', 'aria-label': 'Chat' },
      transcript, stats,
      h('div', { class: 'composer' }, input, h('div', { class: 'composer-actions' }, send, stop, reset)))));

  const setBusy = (busy) => {
    send.hidden = busy;
    stop.hidden = !busy;
    input.disabled = busy;
    epSel.disabled = busy;
  };

  const bubble = (role, text) => {
    const content = h('div', { class: 'bubble-text', text });
    const el = h('div', { class: `bubble bubble-${role}` }, h('div', { class: 'bubble-role', text: role }), content);
    transcript.appendChild(el);
    transcript.scrollTop = transcript.scrollHeight;
    return { el, content };
  };

  const showStats = (parts) => clear(stats, parts.filter(Boolean).map(([k, v]) => h('span', { class: 'stat' }, h('span', { class: 'stat-k', text: k }), h('span', { class: 'stat-v', text: v }))));

  async function selectEndpoint(eps, name) {
    const ep = eps.find((e) => e.name === name) || null;
    s.endpoint = ep;
    s.model = null;
    s.key = '';
    s.uri = '';
    clear(epInfo);
    if (!ep) return;
    const p = ep.properties || {};
    s.uri = (p.inferenceEndpoint && p.inferenceEndpoint.uri) || '';
    const modelId = p.modelSettings && p.modelSettings.modelId;
    try {
      const [keys, models] = await Promise.all([api.listKeys(ctx.project, name), ctx.models().catch(() => [])]);
      if (s.endpoint !== ep) return; // another endpoint was chosen meanwhile
      s.key = keys.primaryKey;
      s.model = findModel(models, modelId) || null;
      if (s.model && s.model.contextLength > 0) maxTokens.max = String(s.model.contextLength);
      const [inP, outP] = prices(s.model);
      clear(epInfo,
        h('div', { text: `Model: ${modelName(modelId)}` }),
        s.model ? h('div', { text: `Context ${f.contextLen(s.model.contextLength)} \u00b7 ${f.price(inP)} in / ${f.price(outP)} out per 1K` }) : null,
        h('div', { class: 'mono ellipsis', title: s.uri, text: s.uri }));
      if (s.model && s.model.capabilities && s.model.capabilities.systemRole === false) {
        epInfo.appendChild(h('div', { text: 'This model has no system role: the system prompt is sent as a user turn.' }));
      }
    } catch (err) {
      if (s.endpoint === ep) clear(epInfo, errorBox(err));
    }
  }

  async function run() {
    const text = input.value.trim();
    if (!text || !s.endpoint) return;
    if (!s.key) { clear(stats, errorBox(new Error('No key for this endpoint (listKeys failed).'))); return; }
    input.value = '';
    s.history.push({ role: 'user', content: text });
    bubble('user', text);
    const out = bubble('assistant', '');
    out.el.classList.add('pending');
    const messages = [];
    if (system.value.trim()) messages.push({ role: 'system', content: system.value.trim() });
    messages.push(...s.history);
    const body = {
      messages,
      temperature: Number(temp.value),
      top_p: Number(topP.value),
      max_tokens: Math.max(1, Math.floor(Number(maxTokens.value) || 1)),
      stream: stream.checked,
    };
    s.abort = new AbortController();
    setBusy(true);
    const t0 = performance.now();
    let tFirst = 0;
    let chunks = 0;
    const on = {
      token: (t) => {
        if (!tFirst) { tFirst = performance.now(); out.el.classList.remove('pending'); }
        chunks++;
        out.content.textContent += t;
        transcript.scrollTop = transcript.scrollHeight;
        const secs = (performance.now() - tFirst) / 1000;
        showStats([['time to first token', f.ms(tFirst - t0)], ['chunks', f.int(chunks)],
          secs > 0.2 ? ['chunks/s', (chunks / secs).toFixed(1)] : null]);
      },
    };
    try {
      let res;
      try {
        res = await chat(s.uri, s.key, body, on, s.abort.signal);
      } catch (err) {
        const alt = err instanceof TypeError && sameOriginURI(s.uri, location.origin);
        if (!alt) throw err;
        res = await chat(alt, s.key, body, on, s.abort.signal);
      }
      const tEnd = performance.now();
      out.el.classList.remove('pending');
      if (!out.content.textContent) out.content.textContent = res.content;
      s.history.push({ role: 'assistant', content: res.content });
      const u = res.usage || {};
      const [inP, outP] = prices(s.model);
      const decodeSecs = tFirst ? (tEnd - tFirst) / 1000 : (tEnd - t0) / 1000;
      const genTokens = Number(u.completion_tokens) || chunks;
      showStats([
        body.stream && tFirst ? ['time to first token', f.ms(tFirst - t0)] : null,
        ['total', f.ms(tEnd - t0)],
        decodeSecs > 0 && genTokens > 1 ? ['tokens/s', ((body.stream ? genTokens - 1 : genTokens) / decodeSecs).toFixed(1)] : null,
        ['prompt tokens', f.int(u.prompt_tokens)],
        ['completion tokens', f.int(u.completion_tokens)],
        ['total tokens', f.int(u.total_tokens)],
        s.model ? ['cost', f.usd(f.cost(u.prompt_tokens, u.completion_tokens, inP, outP))] : null,
        ['finish', res.finishReason || '\u2013'],
      ]);
    } catch (err) {
      out.el.classList.remove('pending');
      if (err.name === 'AbortError') {
        out.el.appendChild(h('div', { class: 'muted small', text: '(stopped)' }));
        if (out.content.textContent) s.history.push({ role: 'assistant', content: out.content.textContent });
        else s.history.pop();
      } else {
        s.history.pop();
        out.el.classList.add('bubble-error');
        out.el.appendChild(errorBox(err));
      }
    } finally {
      s.abort = null;
      setBusy(false);
      input.focus();
    }
  }

  send.addEventListener('click', run);
  stop.addEventListener('click', () => { if (s.abort) s.abort.abort(); });
  reset.addEventListener('click', () => { s.history = []; clear(transcript); clear(stats); });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); run(); }
  });

  api.listEndpoints(ctx.project).then((all) => {
    const eps = all.filter((e) => /^succeeded$/i.test((e.properties || {}).provisioningState || ''));
    if (!eps.length) {
      clear(epSel, h('option', { value: '', text: 'No ready endpoints' }));
      transcript.appendChild(emptyState('No ready endpoints', 'Create an endpoint on the Endpoints page; it shows up here once provisioning succeeds.',
        h('button', { class: 'btn btn-primary', type: 'button', text: 'Go to endpoints', onclick: () => ctx.navigate('/endpoints') })));
      send.disabled = true;
      return;
    }
    const want = new URLSearchParams(location.search).get('endpoint');
    const first = eps.some((e) => e.name === want) ? want : eps[0].name;
    clear(epSel, eps.map((e) => h('option', { value: e.name, selected: e.name === first, text: e.name })));
    epSel.addEventListener('change', () => { s.history = []; clear(transcript); clear(stats); selectEndpoint(eps, epSel.value); });
    selectEndpoint(eps, first);
  }).catch((err) => {
    clear(epSel, h('option', { value: '', text: 'Unavailable' }));
    clear(epInfo, errorBox(err));
  });

  clear(stats, h('span', { class: 'muted', text: 'Usage and speed appear here after each answer.' }));
  return () => { if (s.abort) s.abort.abort(); };
}
