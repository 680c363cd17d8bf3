// The payments API as the dashboard uses it: same origin, bearer token from sessionStorage,
// errors turned into ApiError with the problem+json detail.

const TOKEN_KEY = 'payments-dashboard.token';

export class ApiError extends Error {
  /**
   * kind: 'network' (no answer: service down or network out), 'unauthorized' (401),
   * 'http' (any other error status), 'protocol' (an answer that is not what was asked for).
   */
  constructor(kind, status, detail) {
    super(detail);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.detail = detail;
  }
}

export function isAbort(error) {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** Kept for this tab only (sessionStorage), never in the URL or localStorage. */
export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The `org` claim of a JWT, read without verifying it (the service verifies; this is for display). */
export function tokenOrganization(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(part.padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    return typeof claims.org === 'string' ? claims.org : undefined;
  } catch {
    return undefined;
  }
}

/** A URL of the service, relative to the page (/dashboard), so that a path prefix is kept. */
export function apiUrl(path, params) {
  const url = new URL(path, document.baseURI);
  url.search = params.toString();
  return url;
}

/** GET with the token; resolves to the response when it is a 2xx, else throws ApiError. */
export async function request(path, params, { signal, accept = 'application/json' } = {}) {
  const headers = { accept };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(apiUrl(path, params), { headers, signal, cache: 'no-store' });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError('network', 0, 'Cannot reach the payments service: it may be down, or the network is out.');
  }
  if (!response.ok) throw await problemError(response);
  return response;
}

export async function getJson(path, params, options) {
  const response = await request(path, params, options);
  try {
    return await response.json();
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError('protocol', response.status, 'The service sent an answer that is not JSON.');
  }
}

async function problemError(response) {
  let detail = '';
  try {
    const body = await response.json();
    detail = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : '';
  } catch {
    // not problem+json (a proxy's error page, say): the status says enough
  }
  if (!detail) detail = `HTTP ${response.status} ${response.statusText}`.trim();
  return new ApiError(response.status === 401 ? 'unauthorized' : 'http', response.status, detail);
}
