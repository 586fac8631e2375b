// Usage page: tokens and cost of a project grouped by endpoint, day or model,
// with totals and a CSV download.
import { h, clear, spinner, errorBox, emptyState, toast } from './dom.js';
import * as api from './api.js';
import * as f from './format.js';

const GROUPS = [['endpoint', 'Endpoint'], ['day', 'Day'], ['model', 'Model']];

// COLUMNS of the table: [field of a usage row, heading, formatter].
const COLUMNS = [
  ['requests', 'Requests', f.int],
  ['promptTokens', 'Prompt tokens', f.int],
  ['completionTokens', 'Completion tokens', f.int],
  ['totalTokens', 'Total tokens', f.int],
  ['inputCost', 'Input cost', f.usd],
  ['outputCost', 'Output cost', f.usd],
  ['totalCost', 'Cost', f.usd],
];

// totals sums the numeric columns of rows.
export function totals(rows) {
  const t = {};
  for (const [k] of COLUMNS) t[k] = rows.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  return t;
}

// share is a row's fraction (0..1) of the total cost, or of the total tokens
// when nothing cost anything.
export function share(row, total) {
  if (total.totalCost > 0) return (Number(row.totalCost) || 0) / total.totalCost;
  if (total.totalTokens > 0) return (Number(row.totalTokens) || 0) / total.totalTokens;
  return 0;
}

function shareBar(frac) {
  const pct = Math.round(Math.max(0, Math.min(1, frac)) * 100);
  const bar = h('span', { class: 'bar-fill' });
  bar.style.width = `${pct}%`;
  return h('span', { class: 'bar', title: `${pct}%` }, h('span', { class: 'bar-track' }, bar), h('span', { class: 'bar-label', text: `${pct}%` }));
}

function isoDay(d) { return d.toISOString().slice(0, 10); }

// nextDay returns the YYYY-MM-DD after a YYYY-MM-DD date (UTC).
export function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : isoDay(new Date(d.getTime() + 86400e3));
}

export function render(view, ctx) {
  if (!ctx.project) {
    view.append(emptyState('No project selected', 'Choose a project in the top bar to see its usage.'));
    return undefined;
  }
  const params = new URLSearchParams(location.search);
  const groupBy = h('select', { 'aria-label': 'Group by' },
    GROUPS.map(([v, t]) => h('option', { value: v, text: t, selected: v === (params.get('groupBy') || 'endpoint') })));
  const today = new Date();
  const from = h('input', { type: 'date', 'aria-label': 'From', value: isoDay(new Date(today.getTime() - 29 * 86400e3)) });
  const to = h('input', { type: 'date', 'aria-label': 'To', value: isoDay(today) });
  const endpoint = h('select', { 'aria-label': 'Endpoint' }, h('option', { value: '', text: 'All endpoints' }));
  api.listEndpoints(ctx.project).then((eps) => {
    endpoint.append(...eps.map((ep) => h('option', { value: ep.name, text: ep.name })));
  }).catch(() => { endpoint.disabled = true; });
  const csv = h('button', { class: 'btn', type: 'button', text: 'Download CSV' });
  const refresh = h('button', { class: 'btn', type: 'button', text: 'Refresh', title: 'Usage is recorded within seconds of each request' });
  const body = h('div', {}, spinner());
  view.append(
    h('p', { class: 'lead', text: `Tokens and pay-as-you-go cost of project ${ctx.project}. Cost is tokens \u00d7 the model's price per 1K, input and output apart.` }),
    h('div', { class: 'toolbar' },
      h('label', { class: 'inline' }, h('span', { text: 'Group by' }), groupBy),
      h('label', { class: 'inline' }, h('span', { text: 'Endpoint' }), endpoint),
      h('label', { class: 'inline' }, h('span', { text: 'From (UTC)' }), from),
      h('label', { class: 'inline' }, h('span', { text: 'To (UTC)' }), to),
      h('span', { class: 'grow' }), h('span', { class: 'toolbar-actions' }, refresh, csv)),
    body);

  // The API's "to" is exclusive; the page's is the last day shown.
  const query = () => ({ groupBy: groupBy.value, endpoint: endpoint.value, from: from.value, to: to.value && nextDay(to.value) });
  let seq = 0;
  async function load() {
    const my = ++seq;
    clear(body, spinner());
    try {
      const rep = await api.getUsage(ctx.project, query());
      if (my !== seq) return;
      const rows = api.items(rep);
      const label = GROUPS.find(([v]) => v === groupBy.value)[1];
      if (!rows.length) { clear(body, emptyState('No usage in this period', 'Requests to the project\'s endpoints show up here.')); return; }
      const t = totals(rows);
      clear(body, h('div', { class: 'table-wrap' }, h('table', { class: 'table numeric' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: label }), COLUMNS.map(([, t2]) => h('th', { scope: 'col', text: t2 })),
          h('th', { scope: 'col', text: 'Share of cost' }))),
        h('tbody', {}, rows.map((r) => h('tr', {}, h('td', { text: r.key }), COLUMNS.map(([k, , fm]) => h('td', { text: fm(r[k]) })),
          h('td', {}, shareBar(share(r, t)))))),
        h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', text: 'Total' }), COLUMNS.map(([k, , fm]) => h('td', { text: fm(t[k]) })), h('td'))))));
    } catch (err) {
      if (my === seq) clear(body, errorBox(err));
    }
  }
  for (const el of [groupBy, endpoint, from, to]) el.addEventListener('change', load);
  refresh.addEventListener('click', load);
  csv.addEventListener('click', async () => {
    csv.disabled = true;
    try {
      const blob = await api.getUsageCSV(ctx.project, query());
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `usage-${ctx.project}-${groupBy.value}.csv`, class: 'offscreen', text: 'download' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      csv.disabled = false;
    }
  });
  load();
  return () => { seq++; };
}
