// Entry point: navigation between the four pages, the principal token and the
// current project. Pages are modules exporting render(view, ctx), which may
// return a cleanup function called when the user leaves the page.
import { h, clear, modal, toast, errorBox, emptyState } from './dom.js';
import * as api from './api.js';
import * as catalog from './catalog.js';
import * as endpoints from './endpoints.js';
import * as playground from './playground.js';
import * as usage from './usage.js';

const PAGES = {
  '/catalog': { title: 'Model catalog', page: catalog },
  '/endpoints': { title: 'Serverless endpoints', page: endpoints },
  '/playground': { title: 'Chat playground', page: playground },
  '/usage': { title: 'Usage and cost', page: usage },
};
const PROJECT_KEY = 'maas.project';

// ctx is what every page gets: the current project and its region, the
// cached catalog, and navigation. It is the app's only shared state.
const ctx = {
  project: localStorage.getItem(PROJECT_KEY) || '',
  projectRegion: '',
  modelsPromise: null,
  projectsPromise: null,
  // models returns the catalog, fetched once per token.
  models() {
    if (!this.modelsPromise) {
      this.modelsPromise = api.listModels();
      this.modelsPromise.catch(() => { this.modelsPromise = null; });
    }
    return this.modelsPromise;
  },
  // projects returns [{name, hub, region}] the token can see, fetched once
  // per token (and again after a project is created).
  projects() {
    if (!this.projectsPromise) {
      this.projectsPromise = api.listProjects().then((ps) => ps.map((p) => ({ name: p.name, hub: p.hub, region: p.location || '' })));
      this.projectsPromise.catch(() => { this.projectsPromise = null; });
    }
    return this.projectsPromise;
  },
  // forget drops the cached lists (after sign-in, sign-out or a new project).
  forget() {
    this.modelsPromise = null;
    this.projectsPromise = null;
  },
  navigate(path) {
    history.pushState(null, '', path);
    route();
  },
  setProject(name) {
    this.project = name;
    if (name) localStorage.setItem(PROJECT_KEY, name);
    else localStorage.removeItem(PROJECT_KEY);
    route();
  },
  askToken() { tokenDialog(); },
};

let cleanup = null;
let routeSeq = 0;

// route renders the page of the current URL. The project list is loaded
// first, so that pages know the project's region.
async function route() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  const seq = ++routeSeq;
  let path = location.pathname.replace(/\/+$/, '') || '/';
  if (!PAGES[path]) {
    path = '/catalog';
    history.replaceState(null, '', path + location.search);
  }
  const { title, page } = PAGES[path];
  document.title = `${title} \u00b7 MaaS`;
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.getAttribute('href') === path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = document.getElementById('view');
  clear(view, h('h1', { class: 'page-title', text: title }));
  renderAuth();
  if (!api.getToken()) {
    clear(document.getElementById('project-picker'));
    view.appendChild(emptyState('Sign in to continue', 'The dashboard uses the management API with your principal token.',
      h('button', { class: 'btn btn-primary', type: 'button', text: 'Sign in', onclick: tokenDialog })));
    return;
  }
  let projects = null;
  try {
    projects = await ctx.projects();
  } catch {
    projects = null; // the picker falls back to a text field
  }
  if (seq !== routeSeq) return;
  const cur = projects && projects.find((p) => p.name === ctx.project);
  if (projects && !cur) ctx.project = ''; // deleted, or not visible to this token
  ctx.projectRegion = cur ? cur.region : '';
  renderProjectPicker(projects);
  try {
    cleanup = page.render(view, ctx);
  } catch (err) {
    view.appendChild(errorBox(err));
  }
}

// renderAuth shows whether a token is set, with the action to change it.
function renderAuth() {
  const box = document.getElementById('auth');
  if (api.getToken()) {
    clear(box,
      h('span', { class: 'auth-state ok', text: 'Signed in' }),
      h('button', { class: 'btn btn-small', type: 'button', text: 'Sign out', onclick: () => {
        api.setToken('');
        ctx.forget();
        route();
      } }));
  } else {
    clear(box, h('button', { class: 'btn btn-primary btn-small', type: 'button', text: 'Sign in', onclick: tokenDialog }));
  }
}

function tokenDialog() {
  const input = h('input', { type: 'password', class: 'mono', autocomplete: 'off', placeholder: 'principal token', 'aria-label': 'Principal token' });
  const status = h('div');
  const save = h('button', { class: 'btn btn-primary', type: 'button', text: 'Sign in' });
  const form = h('form', { class: 'stack' },
    h('p', { text: 'Paste a principal token. The first start of "maas serve" prints the Owner\'s token (or set MAAS_ADMIN_TOKEN); "maas principal create" makes more. It is kept in this browser tab only.' }),
    h('label', { class: 'field' }, h('span', { text: 'Token' }), input), status);
  const m = modal('Sign in', form, [save]);
  const submit = async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    const old = api.getToken();
    api.setToken(token);
    save.disabled = true;
    try {
      await api.listModels();
      ctx.forget();
      m.close();
      toast('Signed in');
      route();
    } catch (err) {
      api.setToken(old);
      clear(status, errorBox(err.status === 401 ? new Error('This token was not accepted (401).') : err));
    } finally {
      save.disabled = false;
    }
  };
  form.addEventListener('submit', submit);
  save.addEventListener('click', submit);
  input.focus();
}

// renderProjectPicker shows the projects the token can see; when they cannot
// be listed (null), the user can still type a project name.
function renderProjectPicker(projects) {
  const box = document.getElementById('project-picker');
  const label = h('label', { class: 'picker', for: 'project-select', text: 'Project' });
  if (projects === null) {
    const input = h('input', { id: 'project-select', class: 'picker-input', value: ctx.project, placeholder: 'project name' });
    input.addEventListener('change', () => ctx.setProject(input.value.trim()));
    clear(box, label, input);
    return;
  }
  const sel = h('select', { id: 'project-select' },
    h('option', { value: '', text: projects.length ? 'Choose a project\u2026' : 'No projects yet' }),
    projects.map((p) => h('option', { value: p.name, selected: p.name === ctx.project, text: `${p.name} (${p.hub}, ${p.region || '?'})` })),
    h('option', { value: '+new', text: 'New project\u2026' }));
  sel.addEventListener('change', () => {
    if (sel.value === '+new') { sel.value = ctx.project; newProjectDialog(); return; }
    ctx.setProject(sel.value);
  });
  clear(box, label, sel);
}

// newProjectDialog creates a project in an existing or a new hub.
async function newProjectDialog() {
  const hubSel = h('select', { 'aria-label': 'Hub' }, h('option', { value: '+new', text: 'New hub\u2026' }));
  const hubName = h('input', { placeholder: 'hub name', 'aria-label': 'New hub name' });
  const region = h('select', { 'aria-label': 'Region' });
  const newHub = h('div', { class: 'stack' },
    h('label', { class: 'field' }, h('span', { text: 'New hub name' }), hubName),
    h('label', { class: 'field' }, h('span', { text: 'Region' }), region));
  hubSel.addEventListener('change', () => { newHub.hidden = hubSel.value !== '+new'; });
  const name = h('input', { placeholder: 'project name', 'aria-label': 'Project name', required: true });
  const status = h('div');
  const create = h('button', { class: 'btn btn-primary', type: 'button', text: 'Create' });
  const m = modal('New project', h('div', { class: 'stack' },
    h('label', { class: 'field' }, h('span', { text: 'Hub' }), hubSel), newHub,
    h('label', { class: 'field' }, h('span', { text: 'Project name' }), name), status), [create]);
  try {
    const [hubs, regions] = await Promise.all([api.listHubs(), api.listRegions()]);
    clear(hubSel, hubs.map((x) => h('option', { value: x.name, text: `${x.name} (${x.location})` })),
      h('option', { value: '+new', text: 'New hub\u2026' }));
    newHub.hidden = hubs.length > 0;
    clear(region, regions.map((r) => h('option', { value: r.name, text: r.displayName ? `${r.displayName} (${r.name})` : r.name })));
  } catch (err) {
    clear(status, errorBox(err));
  }
  create.addEventListener('click', async () => {
    create.disabled = true;
    try {
      let hub = hubSel.value;
      if (hub === '+new') {
        hub = hubName.value.trim();
        await api.createHub(hub, region.value);
      }
      await api.createProject(hub, name.value.trim());
      m.close();
      toast(`Project ${name.value.trim()} created`);
      ctx.forget();
      ctx.setProject(name.value.trim());
    } catch (err) {
      clear(status, errorBox(err));
    } finally {
      create.disabled = false;
    }
  });
}

// takeTokenFromHash signs in with a token passed as "#token=..." (the URL
// fragment never reaches the server) and removes it from the address bar.
function takeTokenFromHash() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return;
  api.setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

function start() {
  takeTokenFromHash();
  // "?project=name" selects a project (links can name one).
  const project = new URLSearchParams(location.search).get('project');
  if (project) {
    ctx.project = project;
    localStorage.setItem(PROJECT_KEY, project);
  }
  document.querySelector('.nav').addEventListener('click', (ev) => {
    const a = ev.target.closest('a');
    if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    ctx.navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', route);
  window.addEventListener('maas:unauthorized', () => {
    if (document.querySelector('dialog.modal[open]')) return;
    toast('The server rejected the token (401). Sign in again.', 'error');
    tokenDialog();
  });
  route();
  if (!api.getToken()) tokenDialog();
}

start();
