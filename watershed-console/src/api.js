// Fetch wrapper for the Watershed API: adds the bearer token, parses JSON, turns the server's
// {"error": {"code", "message", "retriable"}} into an Error carrying that message verbatim,
// and on 401 forgets the token and sends the user back to the login screen.

export const TOKEN_KEY = 'watershed.token';

export class ApiError extends Error {
  /** details: the server's error object as sent (e.g. a search's line, column and reason). */
  constructor(message, status, code, retriable, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || null;
    this.retriable = !!retriable;
    this.details = details || {};
  }
}

let unauthorizedHandler = null;

/** Registers the single listener told (with the server's message) when any call gets a 401. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: nothing to clear */
  }
}

/**
 * request('GET', '/v1/tables') -> parsed JSON.
 * opts: token (use this token instead of the stored one), noAuthRedirect (a 401 only throws),
 *       raw (return the body text instead of parsing it), signal (AbortSignal).
 */
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const token = opts.token !== undefined ? opts.token : getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers, signal: opts.signal, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(
      'Cannot reach the Watershed server (' + (e && e.message ? e.message : 'network error') +
        '). Check that it is running and reload the page.',
      0, 'NETWORK', true);
  }
  const text = await res.text();
  let data;
  let parsed = false;
  if (text) {
    try {
      data = JSON.parse(text);
      parsed = true;
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const err = parsed && data && typeof data === 'object' ? data.error : null;
    let message;
    if (err && typeof err === 'object' && err.message) message = String(err.message);
    else if (typeof err === 'string') message = err;
    else if (parsed && data && typeof data.message === 'string') message = data.message;
    else message = 'HTTP ' + res.status + (res.statusText ? ' ' + res.statusText : '') + ' from ' + method + ' ' + path +
      (text && !parsed ? ': ' + text.slice(0, 300) : '');
    const error = new ApiError(message, res.status, err && err.code, err && err.retriable, err && typeof err === 'object' ? err : null);
    if (res.status === 401 && !opts.noAuthRedirect) {
      clearToken();
      if (unauthorizedHandler) unauthorizedHandler(message);
    }
    throw error;
  }
  if (opts.raw) return text;
  if (!text) return null;
  if (!parsed) {
    throw new ApiError('The server sent a response that is not JSON for ' + method + ' ' + path + '.', res.status, 'BAD_RESPONSE', false);
  }
  return data;
}

const enc = encodeURIComponent;

export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body, opts) => request('POST', path, body === undefined ? {} : body, opts),
  put: (path, body, opts) => request('PUT', path, body, opts),
  del: (path, opts) => request('DELETE', path, undefined, opts),

  whoami: (token) => request('GET', '/v1/whoami', undefined, token === undefined ? {} : { token, noAuthRedirect: true }),
  streams: () => request('GET', '/v1/streams'),
  pipelines: () => request('GET', '/v1/pipelines'),
  models: () => request('GET', '/v1/models'),
  alerts: () => request('GET', '/v1/alerts'),
  lineage: () => request('GET', '/v1/lineage'),
  tables: () => request('GET', '/v1/tables'),
  table: (name) => request('GET', '/v1/tables/' + enc(name)),
  tableRows: (name, snapshot, limit = 50) =>
    request('GET', '/v1/tables/' + enc(name) + '/rows?limit=' + limit + (snapshot != null ? '&snapshot=' + enc(snapshot) : '')),
  sql: (sql, opts) => request('POST', '/v1/sql', { sql }, opts),
  queries: () => request('GET', '/v1/queries'),
  saveQuery: (name, body) => request('PUT', '/v1/queries/' + enc(name), body),
  deleteQuery: (name) => request('DELETE', '/v1/queries/' + enc(name)),
  dashboards: () => request('GET', '/v1/dashboards'),
  dashboard: (name) => request('GET', '/v1/dashboards/' + enc(name)),
  grafana: (name) => request('GET', '/v1/dashboards/' + enc(name) + '/grafana', undefined, { raw: true }),
  runs: (limit = 50, model) => request('GET', '/v1/runs?limit=' + limit + (model ? '&model=' + enc(model) : '')),
  runLog: (id) => request('GET', '/v1/runs/' + enc(id) + '/log'),
  triggerRun: (models) => request('POST', '/v1/runs', { models }),
  retryRun: (id) => request('POST', '/v1/runs/' + enc(id) + '/retry', {}),
  backfill: (body) => request('POST', '/v1/backfills', body),
  /** params: {stream, q, since | from, to, limit, top: [field, ...]}; empty ones are left out. */
  search: (params, opts) => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      const text = Array.isArray(v) ? v.join(',') : v;
      if (text != null && text !== '') qs.set(k, String(text));
    }
    return request('GET', '/v1/search?' + qs, undefined, opts);
  },
};
