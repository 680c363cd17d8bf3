// The filters: read from and written to the page's query string (so that a link or a reload
// restores them), and turned into the API's query parameters.

export const STATUSES = ['pending', 'completed', 'failed', 'refunded'];
export const FILTER_KEYS = ['organizationId', 'from', 'to', 'interval', 'currency', 'status'];
const DAY_MS = 86_400_000;

/**
 * Empty strings stand for the defaults: all organizations (or, with a token, the caller's),
 * the last 7 days (whole UTC days, up to the end of today), interval day, every currency and
 * status. Defaults stay out of the URL, so that a link to "the last 7 days" keeps rolling.
 */
export function emptyFilters() {
  return { organizationId: '', from: '', to: '', interval: 'day', currency: '', status: '' };
}

export function defaultRange(now = Date.now()) {
  const today = new Date(now);
  const endOfToday = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1);
  return { from: new Date(endOfToday - 7 * DAY_MS).toISOString(), to: new Date(endOfToday).toISOString() };
}

/** The filters that take a list: in a link, repeated (status=a&status=b), comma-separated or both, as the API takes them. */
const LIST_KEYS = ['currency', 'status'];

/** Every value of a list parameter, as one comma-separated text ('' when there is none). */
function listParam(params, key) {
  return params
    .getAll(key)
    .flatMap((value) => value.split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .join(',');
}

export function filtersFromUrl(search) {
  const params = new URLSearchParams(search);
  const filters = emptyFilters();
  for (const key of FILTER_KEYS) {
    const value = LIST_KEYS.includes(key) ? listParam(params, key) : (params.get(key) ?? '').trim();
    if (value !== '') filters[key] = value;
  }
  return filters;
}

export function filtersToUrl(filters) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (value && !(key === 'interval' && value === 'day')) params.set(key, value);
  }
  return params;
}

/** "eur, usd" -> "EUR,USD": the API wants upper-case codes, comma-separated. */
export function normalizeCurrency(text) {
  return text
    .split(',')
    .map((code) => code.trim().toUpperCase())
    .filter((code) => code !== '')
    .join(',');
}

/**
 * The query of one load: the filters with the defaults filled in. Fixed for the life of the
 * load (its search cursors are only valid for exactly these parameters).
 */
export function effectiveQuery(filters, { scopedToToken }, now = Date.now()) {
  const range = defaultRange(now);
  return {
    // with a token the service scopes every read to the token's organization: send none
    organizationId: scopedToToken ? '' : filters.organizationId,
    from: filters.from || range.from,
    to: filters.to || range.to,
    interval: filters.interval || 'day',
    currency: normalizeCurrency(filters.currency),
    status: filters.status,
  };
}

function baseParams(query) {
  const params = new URLSearchParams();
  if (query.organizationId) params.set('organizationId', query.organizationId);
  if (query.status) params.set('status', query.status);
  if (query.currency) params.set('currency', query.currency);
  params.set('from', query.from);
  params.set('to', query.to);
  return params;
}

export function statsParams(query) {
  const params = baseParams(query);
  params.set('interval', query.interval);
  return params;
}

export function searchParams(query, cursor) {
  const params = baseParams(query);
  params.set('sort', '-createdAt');
  params.set('size', '20');
  if (cursor) params.set('cursor', cursor);
  return params;
}

/** ISO-8601 (UTC) -> the value of an <input type="datetime-local"> showing UTC. */
export function isoToInput(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '';
  const text = date.toISOString();
  return date.getUTCSeconds() === 0 && date.getUTCMilliseconds() === 0 ? text.slice(0, 16) : text.slice(0, 19);
}

/** The inverse of isoToInput; '' for an empty or unreadable value. */
export function inputToIso(value) {
  if (!value) return '';
  const date = new Date(`${value}Z`);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}
