// Endpoints page: a project's serverless endpoints with state, target URI and
// keys; create, delete and key regeneration.
import { h, clear, badge, copyButton, secretField, modal, confirmDialog, toast, spinner, errorBox, emptyState } from './dom.js';
import * as api from './api.js';
import * as f from './format.js';
import { modelName, prices } from './catalog.js';

// NAME_RE is the serverless endpoint name rule (ARM): a letter, then up to 51
// letters, digits or hyphens.
export const NAME_RE = /^[a-zA-Z][a-zA-Z0-9-]{0,51}$/;
const BUSY = /^(creating|updating|deleting)$/i;
const POLL_MS = 2000;

export function render(view, ctx) {
  if (!ctx.project) {
    view.append(emptyState('No project selected', 'Choose or create a project in the top bar to see its endpoints.'));
    return undefined;
  }
  let timer = null;
  let gone = false;
  const body = h('div', {}, spinner());
  view.append(
    h('div', { class: 'toolbar' },
      h('p', { class: 'lead', text: `Serverless endpoints of project ${ctx.project}.` }),
      h('span', { class: 'grow' }),
      h('button', { class: 'btn', type: 'button', text: 'Refresh', onclick: () => load() }),
      h('button', { class: 'btn btn-primary', type: 'button', text: 'New endpoint', onclick: () => createDialog(ctx, '', load) })),
    body);

  async function load() {
    clearTimeout(timer);
    try {
      const eps = await api.listEndpoints(ctx.project);
      if (gone) return;
      clear(body, eps.length ? table(eps, ctx, load)
        : emptyState('No endpoints yet', 'Deploy a model from the catalog as a serverless API.',
          h('button', { class: 'btn btn-primary', type: 'button', text: 'New endpoint', onclick: () => createDialog(ctx, '', load) })));
      if (eps.some((ep) => BUSY.test(ep.properties && ep.properties.provisioningState))) timer = setTimeout(load, POLL_MS);
    } catch (err) {
      if (!gone) clear(body, errorBox(err));
    }
  }
  load();

  const deploy = new URLSearchParams(location.search).get('deploy');
  if (deploy) {
    history.replaceState(null, '', location.pathname);
    createDialog(ctx, deploy, load);
  }
  return () => { gone = true; clearTimeout(timer); };
}

function table(eps, ctx, reload) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, ['Name', 'Model', 'State', 'Target URI', ''].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, eps.map((ep) => row(ep, ctx, reload)))));
}

function row(ep, ctx, reload) {
  const p = ep.properties || {};
  const uri = (p.inferenceEndpoint && p.inferenceEndpoint.uri) || '';
  const ok = /^succeeded$/i.test(p.provisioningState || '');
  return h('tr', {},
    h('td', { class: 'nowrap' }, h('strong', { text: ep.name }),
      h('div', { class: 'muted small', title: f.dateTime(ep.systemData && ep.systemData.createdAt), text: `created ${f.date(ep.systemData && ep.systemData.createdAt)}` })),
    h('td', { class: 'nowrap', text: modelName(p.modelSettings && p.modelSettings.modelId) }),
    h('td', {}, h('div', { class: 'badges' }, badge(p.provisioningState), badge(p.endpointState)),
      p.failureReason ? h('div', { class: 'muted small', text: p.failureReason }) : null),
    h('td', {}, uri ? h('div', { class: 'uri-cell' }, h('code', { class: 'mono ellipsis', title: uri, text: uri }), copyButton(uri)) : '\u2013'),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { class: 'btn btn-small', type: 'button', text: 'Keys', disabled: !ok, onclick: () => keysDialog(ctx, ep) }),
      h('button', { class: 'btn btn-small', type: 'button', text: 'Try it', title: 'Open in the playground', disabled: !ok, onclick: () => ctx.navigate(`/playground?endpoint=${encodeURIComponent(ep.name)}`) }),
      h('button', {
        class: 'btn btn-small btn-danger', type: 'button', text: 'Delete',
        onclick: async () => {
          if (!await confirmDialog(`Delete ${ep.name}?`, 'Its keys stop working at once and its URI is freed.')) return;
          try {
            await api.deleteEndpoint(ctx.project, ep.name);
            toast(`Deleted ${ep.name}`);
          } catch (err) {
            toast(err.message, 'error');
          }
          reload();
        },
      }))));
}

async function keysDialog(ctx, ep) {
  const p = ep.properties || {};
  const uri = (p.inferenceEndpoint && p.inferenceEndpoint.uri) || '';
  const body = h('div', { class: 'stack' }, spinner());
  modal(`Keys for ${ep.name}`, body);
  const show = (keys) => {
    const regen = (keyType) => h('button', {
      class: 'btn btn-small', type: 'button', text: 'Regenerate',
      onclick: async () => {
        if (!await confirmDialog(`Regenerate the ${keyType.toLowerCase()} key?`,
          'The current key stops working immediately; the other key keeps working.', 'Regenerate')) return;
        try {
          show(await api.regenerateKeys(ctx.project, ep.name, keyType));
          toast(`${keyType} key regenerated`);
        } catch (err) {
          toast(err.message, 'error');
        }
      },
    });
    clear(body,
      h('label', { class: 'field' }, h('span', { text: 'Target URI' }),
        h('div', { class: 'field-row' }, h('input', { class: 'mono', readOnly: true, value: uri, 'aria-label': 'Target URI' }), copyButton(uri))),
      h('div', { class: 'field' }, h('span', { text: 'Primary key' }), h('div', { class: 'field-row' }, secretField(keys.primaryKey, 'Primary key'), regen('Primary'))),
      h('div', { class: 'field' }, h('span', { text: 'Secondary key' }), h('div', { class: 'field-row' }, secretField(keys.secondaryKey, 'Secondary key'), regen('Secondary'))),
      quota,
      h('div', { class: 'field' }, h('span', { text: 'Sample request' }),
        h('div', { class: 'field-row' }, h('pre', { class: 'mono code', text: sample }), copyButton(sample))));
  };
  const sample = sampleRequest(uri);
  const quota = h('div', { class: 'muted small' });
  api.getQuota(ctx.project, ep.name).then((q) => {
    quota.textContent = `Rate limits: ${f.int(q.tokensPerMinute)} tokens/min, ${f.int(q.requestsPerMinute)} requests/min.`;
  }).catch(() => {});
  try {
    show(await api.listKeys(ctx.project, ep.name));
  } catch (err) {
    clear(body, errorBox(err));
  }
}

// sampleRequest is a curl command for the endpoint; the key is read from the
// shell variable KEY rather than written out.
export function sampleRequest(uri) {
  return [
    `curl -X POST '${uri.replace(/\/+$/, '')}/chat/completions?api-version=2024-05-01-preview' \\`,
    `  -H "api-key: $KEY" -H 'Content-Type: application/json' \\`,
    `  -d '{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":64}'`,
  ].join('\n');
}

async function createDialog(ctx, preselect, reload) {
  const name = h('input', { class: 'mono', required: true, placeholder: 'e.g. phi3-mini-chat', 'aria-label': 'Endpoint name', maxlength: 52 });
  const model = h('select', { 'aria-label': 'Model' }, h('option', { value: '', text: 'Loading models\u2026' }));
  const safety = h('input', { type: 'checkbox', checked: true });
  const info = h('p', { class: 'muted small' });
  const status = h('div');
  const create = h('button', { class: 'btn btn-primary', type: 'button', text: 'Deploy' });
  const m = modal('New serverless endpoint', h('div', { class: 'stack' },
    h('label', { class: 'field' }, h('span', { text: 'Model' }), model),
    info,
    h('label', { class: 'field' }, h('span', { text: 'Endpoint name' }), name,
      h('small', { class: 'muted', text: 'Part of the endpoint URL; unique in the region. A letter, then letters, digits or hyphens (at most 52).' })),
    h('label', { class: 'check' }, safety, h('span', { text: 'Content safety filter' })),
    status), [create]);

  let models = [];
  let taken = new Set(); // model ids that already have an endpoint in this project
  try {
    const [ms, eps] = await Promise.all([ctx.models(), api.listEndpoints(ctx.project)]);
    models = ms;
    taken = new Set(eps.map((ep) => ep.properties && ep.properties.modelSettings && ep.properties.modelSettings.modelId));
  } catch (err) {
    clear(status, errorBox(err));
  }
  // why returns why a model cannot be deployed here, or ''.
  const why = (x) => {
    if (/^(deprecated|retired)$/i.test(x.lifecycleStage || '')) return x.lifecycleStage.toLowerCase();
    if (ctx.projectRegion && !(x.regions || []).includes(ctx.projectRegion)) return `not offered in ${ctx.projectRegion}`;
    if (taken.has(x.catalogId)) return 'already deployed in this project';
    return '';
  };
  const usable = models.filter((x) => !why(x));
  const first = usable.some((x) => x.name === preselect) ? preselect : (usable[0] && usable[0].name);
  clear(model, models.map((x) => h('option', {
    value: x.name,
    disabled: !!why(x),
    selected: x.name === first,
    text: why(x) ? `${x.name} (${why(x)})` : x.name,
  })));
  const describe = () => {
    const x = models.find((y) => y.name === model.value);
    if (!x) { info.textContent = ''; return; }
    const [inP, outP] = prices(x);
    info.textContent = `${x.catalogId} \u00b7 ${f.contextLen(x.contextLength)} context \u00b7 ${f.price(inP)} input / ${f.price(outP)} output per 1K tokens`;
    if (!name.value || name.dataset.auto) {
      name.value = x.name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').slice(0, 40) + '-' + Math.random().toString(36).slice(2, 6);
      name.dataset.auto = '1';
    }
  };
  model.addEventListener('change', describe);
  name.addEventListener('input', () => { delete name.dataset.auto; });
  describe();

  create.addEventListener('click', async () => {
    const n = name.value.trim();
    const x = models.find((y) => y.name === model.value);
    if (!NAME_RE.test(n)) { clear(status, errorBox(new Error('The name must start with a letter and hold 1\u201352 letters, digits or hyphens.'))); return; }
    if (!x) { clear(status, errorBox(new Error('Choose a model.'))); return; }
    create.disabled = true;
    try {
      await api.createEndpoint(ctx.project, n, x.catalogId, safety.checked);
      m.close();
      toast(`Deploying ${n}`);
      reload();
    } catch (err) {
      clear(status, errorBox(err));
    } finally {
      create.disabled = false;
    }
  });
}
