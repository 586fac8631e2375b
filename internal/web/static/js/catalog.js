// Catalog page: the Phi-3 models with context length, prices per 1K tokens,
// regions, lifecycle stage and capabilities, and a Deploy action.
import { h, clear, badge, copyButton, spinner, errorBox, emptyState } from './dom.js';
import * as f from './format.js';

// modelName returns the catalog name in a model id
// ("azureml://registries/azureml/models/Phi-3-mini-4k-instruct" -> "Phi-3-mini-4k-instruct").
export function modelName(modelId) {
  const m = /\/models\/([^/]+)/.exec(String(modelId || ''));
  return m ? m[1] : String(modelId || '');
}

// findModel returns the catalog entry an endpoint's modelId names, or undefined.
export function findModel(models, modelId) {
  return models.find((m) => m.catalogId === modelId) ||
    models.find((m) => m.name === modelName(modelId));
}

// prices returns [inputPer1K, outputPer1K] of a catalog entry (0 when unknown).
export function prices(m) {
  const p = (m && m.pricing) || {};
  return [Number(p.inputPer1K) || 0, Number(p.outputPer1K) || 0];
}

// humanize turns an enum word into words: "GenerallyAvailable" -> "Generally available".
export function humanize(s) {
  const w = String(s || '').replace(/([a-z])([A-Z])/g, '$1 $2');
  return w.charAt(0) + w.slice(1).toLowerCase();
}

function capabilities(m) {
  const c = m.capabilities || {};
  return [['System role', c.systemRole], ['Tools', c.tools], ['JSON mode', c.jsonMode]]
    .map(([label, on]) => h('span', { class: `cap ${on ? 'cap-on' : 'cap-off'}`, title: on ? 'supported' : 'not supported', text: label }));
}

function card(m, ctx) {
  const [inP, outP] = prices(m);
  const stage = m.lifecycleStage || 'Unknown';
  const deployable = !/^(deprecated|retired)$/i.test(stage);
  const inRegion = !ctx.projectRegion || (m.regions || []).includes(ctx.projectRegion);
  return h('article', { class: 'card model-card' },
    h('header', { class: 'card-head' },
      h('h2', { class: 'card-title', text: m.name }),
      badge(stage, humanize(stage))),
    m.description ? h('p', { class: 'muted', text: m.description }) : null,
    h('dl', { class: 'facts' },
      h('dt', { text: 'Parameters' }), h('dd', { text: m.parameters || '\u2013' }),
      h('dt', { text: 'Context' }), h('dd', { text: `${f.contextLen(m.contextLength)} tokens` }),
      h('dt', { text: 'Input' }), h('dd', { text: `${f.price(inP)} / 1K tokens` }),
      h('dt', { text: 'Output' }), h('dd', { text: `${f.price(outP)} / 1K tokens` }),
      h('dt', { text: 'Weights' }), h('dd', {}, m.ready ? badge('Ready') : h('span', { class: 'muted', text: 'not downloaded' }))),
    h('div', { class: 'chips', 'aria-label': 'Regions' },
      (m.regions || []).map((r) => h('span', { class: `chip${r === ctx.projectRegion ? ' chip-here' : ''}`, text: r }))),
    h('div', { class: 'chips' }, capabilities(m)),
    h('div', { class: 'card-id' },
      h('code', { class: 'mono ellipsis', title: m.catalogId, text: m.catalogId || '' }),
      m.catalogId ? copyButton(m.catalogId) : null),
    h('footer', { class: 'card-foot' },
      h('button', {
        class: 'btn btn-primary',
        type: 'button',
        disabled: !deployable || !inRegion || !ctx.project,
        title: !deployable ? `A ${stage.toLowerCase()} model cannot be deployed`
          : !inRegion ? `Not offered in ${ctx.projectRegion}`
            : !ctx.project ? 'Choose a project in the top bar first' : 'Create a serverless endpoint',
        text: 'Deploy',
        onclick: () => ctx.navigate(`/endpoints?deploy=${encodeURIComponent(m.name)}`),
      })));
}

export function render(view, ctx) {
  const body = h('div', {}, spinner());
  const search = h('input', { type: 'search', class: 'search', placeholder: 'Filter models', 'aria-label': 'Filter models' });
  view.append(
    h('p', { class: 'lead', text: 'Phi-3 models you can deploy as serverless APIs, billed per token.' +
      (ctx.project ? ` Deploying to project ${ctx.project}${ctx.projectRegion ? ` (${ctx.projectRegion})` : ''}.` : ' Choose a project in the top bar to deploy.') }),
    h('div', { class: 'toolbar' }, search),
    body);
  ctx.models().then((models) => {
    const show = () => {
      const q = search.value.trim().toLowerCase();
      const list = models.filter((m) => !q || `${m.name} ${m.catalogId} ${(m.regions || []).join(' ')}`.toLowerCase().includes(q));
      clear(body, list.length
        ? h('div', { class: 'grid' }, list.map((m) => card(m, ctx)))
        : emptyState('No models', q ? 'Nothing matches the filter.' : 'The catalog is empty.'));
    };
    search.addEventListener('input', show);
    show();
  }).catch((err) => clear(body, errorBox(err), err.status === 401 ? h('button', { class: 'btn', type: 'button', text: 'Sign in', onclick: () => ctx.askToken() }) : null));
}
