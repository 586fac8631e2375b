// Client for the management REST API under /api. Every call sends the
// principal token the user pasted (kept in sessionStorage only) as
// "Authorization: Bearer <token>". All /api paths of the app are written in
// this file, each as the literal first argument of an api.get/post/put/del/blob
// call; a Go test checks each against the documented routes.

const TOKEN_KEY = 'maas.token';

// ApiError carries the HTTP status and the {"error":{"code","message"}} body.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

export function getToken() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
}

// errorFrom builds an ApiError from a failed response, whatever its body.
export async function errorFrom(res) {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text);
    const e = j && (j.error || j);
    if (e && (e.message || e.code)) return new ApiError(res.status, e.code, e.message);
  } catch { /* not JSON */ }
  return new ApiError(res.status, '', text.trim().slice(0, 300) || `${res.status} ${res.statusText}`);
}

async function call(method, path, body, accept = 'application/json') {
  const headers = { Accept: accept };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) {
    // A rejected token (expired, principal deleted) is the app's concern, not the page's.
    if (res.status === 401) window.dispatchEvent(new CustomEvent('maas:unauthorized'));
    throw await errorFrom(res);
  }
  if (accept !== 'application/json') return res.blob();
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

const api = {
  get: (path) => call('GET', path),
  post: (path, body) => call('POST', path, body),
  put: (path, body) => call('PUT', path, body),
  del: (path) => call('DELETE', path),
  blob: (path, accept) => call('GET', path, undefined, accept),
};

// items returns the array of a list response: a bare array or {"value":[...]}.
export function items(x) {
  if (Array.isArray(x)) return x;
  if (x && Array.isArray(x.value)) return x.value;
  if (x && Array.isArray(x.items)) return x.items;
  return [];
}

const e = encodeURIComponent;

export const listModels = async () => items(await api.get(`/api/models`));
export const listHubs = async () => items(await api.get(`/api/hubs`));
export const listProjects = async () => items(await api.get(`/api/projects`));
export const listRegions = async () => items(await api.get(`/api/regions`));
export const createHub = (hub, location) => api.put(`/api/hubs/${e(hub)}`, { location });
export const createProject = (hub, project) => api.put(`/api/hubs/${e(hub)}/projects/${e(project)}`, {});

export const listEndpoints = async (project) =>
  items(await api.get(`/api/projects/${e(project)}/serverlessEndpoints`));
export const deleteEndpoint = (project, name) =>
  api.del(`/api/projects/${e(project)}/serverlessEndpoints/${e(name)}`);

// createEndpoint sends the ARM body of a serverless endpoint.
export const createEndpoint = (project, name, modelId, contentSafety) =>
  api.put(`/api/projects/${e(project)}/serverlessEndpoints/${e(name)}`, {
    sku: { name: 'Consumption' },
    properties: {
      modelSettings: { modelId },
      authMode: 'Key',
      contentSafety: { contentSafetyStatus: contentSafety ? 'Enabled' : 'Disabled' },
    },
  });

// listKeys returns {primaryKey, secondaryKey}.
export const listKeys = (project, name) =>
  api.post(`/api/projects/${e(project)}/serverlessEndpoints/${e(name)}/listKeys`, {});

// regenerateKeys renews one key; keyType is "Primary" or "Secondary".
export const regenerateKeys = (project, name, keyType) =>
  api.post(`/api/projects/${e(project)}/serverlessEndpoints/${e(name)}/regenerateKeys`, { keyType });

// getQuota returns {tokensPerMinute, requestsPerMinute}.
export const getQuota = (project, name) =>
  api.get(`/api/projects/${e(project)}/serverlessEndpoints/${e(name)}/quota`);

// usageQuery builds the query string of the usage report.
export function usageQuery({ groupBy, endpoint, from, to, format }) {
  const q = new URLSearchParams();
  if (groupBy) q.set('groupBy', groupBy);
  if (endpoint) q.set('endpoint', endpoint);
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  if (format) q.set('format', format);
  return q.toString();
}

export const getUsage = (project, query) => api.get(`/api/projects/${e(project)}/usage?${usageQuery(query)}`);
export const getUsageCSV = (project, query) =>
  api.blob(`/api/projects/${e(project)}/usage?${usageQuery({ ...query, format: 'csv' })}`, 'text/csv');
