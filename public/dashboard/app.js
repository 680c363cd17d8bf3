// The payments dashboard: filters in the URL, figures and a chart from GET /payments/stats,
// kept live by GET /payments/stats/stream, and the latest payments from GET /payments/search
// paged with its cursor.

import { clearToken, getJson, getToken, isAbort, setToken, tokenOrganization } from './api.js';
import {
  effectiveQuery,
  emptyFilters,
  filtersFromUrl,
  filtersToUrl,
  inputToIso,
  isoToInput,
  normalizeCurrency,
  searchParams,
  statsParams,
  STATUSES,
} from './filters.js';
import { formatBucket, formatCount, formatDateTime, formatMoney, formatMoneyCompact, fractionDigits, majorUnits } from './format.js';
import { LiveStats } from './live.js';

const $ = (id) => document.getElementById(id);
const form = $('filters');
const inputs = {
  organizationId: $('organizationId'),
  from: $('from'),
  to: $('to'),
  interval: $('interval'),
  currency: $('currency'),
  status: $('status'),
};

const state = {
  filters: emptyFilters(),
  /** The query of the current load (defaults filled in); its cursors belong to it. */
  query: undefined,
  /** Every load gets a number; answers to an older load are dropped. */
  generation: 0,
  controller: undefined,
  /** The cursor that fetched each page seen, newest first: pages[0] is null (the first page). */
  pages: [null],
  nextCursor: null,
  lastStats: '',
  chartCurrency: '',
  knownCurrencies: new Set(),
  tableBusy: false,
  tablePending: false,
  rollTimer: undefined,
};

// ---------------------------------------------------------------- messages

function showError(text) {
  const region = $('error');
  region.textContent = text;
  region.hidden = false;
}

function hideError() {
  const region = $('error');
  region.hidden = true;
  region.textContent = '';
}

function showStatus(text) {
  $('status-message').textContent = text;
}

function describeError(error) {
  if (error.kind === 'network') return error.detail;
  if (error.kind === 'unauthorized') return `Sign-in needed (401): ${error.detail}`;
  if (error.status === 400) return `The service refused these filters (400): ${error.detail}`;
  if (error.status === 403) return `Not allowed (403): ${error.detail}`;
  if (error.status === 429) return `Too many requests (429): ${error.detail}`;
  if (error.status >= 500) return `The payments service failed (${error.status}): ${error.detail}`;
  return error.status ? `Error ${error.status}: ${error.detail}` : error.detail;
}

function setBusy(busy) {
  document.querySelector('main').setAttribute('aria-busy', String(busy));
}

// ---------------------------------------------------------------- auth

function scopedToToken() {
  return getToken() !== '';
}

/** With a token, the organization is the token's and cannot be changed here. */
function applyAuthMode() {
  const input = inputs.organizationId;
  const hint = $('organizationId-hint');
  const changeToken = $('change-token');
  if (scopedToToken()) {
    const org = tokenOrganization(getToken());
    input.value = org ?? '';
    input.placeholder = org ? '' : 'Your organization';
    input.readOnly = true;
    hint.textContent = 'Your organization (from your token): the service shows no other.';
    changeToken.hidden = false;
    changeToken.textContent = 'Change token';
  } else {
    input.readOnly = false;
    input.placeholder = 'All organizations';
    input.value = state.filters.organizationId;
    hint.textContent = 'Empty: all organizations.';
  }
}

function askForToken(reason) {
  const dialog = $('token-dialog');
  if (dialog.open) return; // asked once, however many requests got the 401
  const error = $('token-error');
  error.textContent = reason ?? '';
  error.hidden = !reason;
  $('token-input').value = '';
  dialog.showModal();
  $('token-input').focus();
}

function onUnauthorized(error) {
  const hadToken = scopedToToken();
  if (hadToken) clearToken();
  applyAuthMode();
  showError(describeError(error));
  const changeToken = $('change-token');
  changeToken.hidden = false;
  changeToken.textContent = 'Enter a token';
  askForToken(hadToken ? `The service refused the token: ${error.detail}` : undefined);
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
  if (!token) {
    const error = $('token-error');
    error.textContent = 'Enter a token.';
    error.hidden = false;
    $('token-input').focus();
    return;
  }
  setToken(token);
  $('token-dialog').close();
  applyAuthMode();
  void load();
});

$('token-cancel').addEventListener('click', () => $('token-dialog').close());
$('change-token').addEventListener('click', () => askForToken());

// ---------------------------------------------------------------- filters <-> form <-> URL

function writeForm(filters) {
  const query = effectiveQuery(filters, { scopedToToken: false });
  if (!scopedToToken()) inputs.organizationId.value = filters.organizationId;
  inputs.from.value = isoToInput(query.from);
  inputs.to.value = isoToInput(query.to);
  inputs.interval.value = filters.interval === 'hour' ? 'hour' : 'day';
  inputs.currency.value = filters.currency;
  ensureOption(inputs.status, filters.status);
  inputs.status.value = filters.status;
}

/** A status list from a link (completed,refunded) gets an option of its own. */
function ensureOption(select, value) {
  if (!value || [...select.options].some((o) => o.value === value)) return;
  select.add(new Option(value.split(',').join(', '), value));
}

function readForm() {
  const defaults = effectiveQuery(emptyFilters(), { scopedToToken: false });
  const previous = state.filters;
  // a date left as shown keeps its exact previous value (the input shows whole seconds only);
  // one equal to the default is the default (and stays out of the URL)
  const date = (key) => {
    const shown = inputs[key].value;
    if (previous[key] && shown === isoToInput(previous[key])) return previous[key];
    if (shown === isoToInput(defaults[key])) return '';
    return inputToIso(shown);
  };
  return {
    organizationId: scopedToToken() ? previous.organizationId : inputs.organizationId.value.trim(),
    from: date('from'),
    to: date('to'),
    interval: inputs.interval.value,
    currency: normalizeCurrency(inputs.currency.value),
    status: inputs.status.value,
  };
}

function apply(filters) {
  state.filters = filters;
  const params = filtersToUrl(filters).toString();
  const url = `${location.pathname}${params ? `?${params}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.pushState(null, '', url);
  writeForm(filters);
  void load();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  apply(readForm());
});
inputs.interval.addEventListener('change', () => apply(readForm()));
inputs.status.addEventListener('change', () => apply(readForm()));
$('reset').addEventListener('click', () => apply(emptyFilters()));
window.addEventListener('popstate', () => {
  state.filters = filtersFromUrl(location.search);
  writeForm(state.filters);
  void load();
});

// ---------------------------------------------------------------- loading

const live = new LiveStats({
  onStats: (stats) => {
    hideError();
    if (!renderStats(stats)) return; // the same document again: nothing changed for this page
    void refreshTable();
  },
  onState: renderLiveState,
  onFailure: (error) => {
    if (error === undefined) return true; // the server ended the stream (a restart): come back
    if (error.kind === 'unauthorized') {
      onUnauthorized(error);
      return false;
    }
    if (error.kind === 'network' || error.status >= 500) {
      showError(`${describeError(error)} Live updates will reconnect.`);
      return true;
    }
    if (error.status === 404 || error.kind === 'protocol') return true; // a service without the stream (yet)
    if (error.status === 429) return true;
    showError(describeError(error));
    return false;
  },
});

async function load() {
  const generation = ++state.generation;
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  live.stop();
  clearTimeout(state.rollTimer);

  const query = effectiveQuery(state.filters, { scopedToToken: scopedToToken() });
  state.query = query;
  state.pages = [null];
  state.nextCursor = null;
  state.lastStats = '';
  hideError();
  showStatus('Loading payments…');
  setBusy(true);
  try {
    const [stats, page] = await Promise.all([
      getJson('payments/stats', statsParams(query), { signal: controller.signal }),
      getJson('payments/search', searchParams(query, null), { signal: controller.signal }),
    ]);
    if (generation !== state.generation) return;
    renderStats(stats);
    renderPage(page);
    live.start(statsParams(query));
  } catch (error) {
    if (generation !== state.generation || isAbort(error)) return;
    showStatus('');
    clearFigures();
    if (error.kind === 'unauthorized') {
      onUnauthorized(error);
      return;
    }
    showError(describeError(error));
    // the service is down or failing: the stream reconnects with backoff and its first event
    // brings the figures (and the table) back
    if (error.kind === 'network' || error.status >= 500) live.start(statsParams(query));
  } finally {
    if (generation === state.generation) setBusy(false);
  }
  scheduleRoll(generation);
}

/** The default range ends with today (UTC): at midnight, move it to the new day. */
function scheduleRoll(generation) {
  if (state.filters.to || generation !== state.generation) return;
  const wait = Date.parse(state.query.to) - Date.now() + 1000;
  state.rollTimer = setTimeout(() => {
    if (generation === state.generation && !state.filters.to) void load();
  }, Math.max(wait, 1000));
}

/** Re-reads the page of the table being shown; one request at a time, the last one wins. */
async function refreshTable() {
  if (state.tableBusy) {
    state.tablePending = true;
    return;
  }
  state.tableBusy = true;
  const generation = state.generation;
  try {
    do {
      state.tablePending = false;
      const cursor = state.pages[state.pages.length - 1];
      const page = await getJson('payments/search', searchParams(state.query, cursor), { signal: state.controller.signal });
      if (generation !== state.generation) return;
      renderPage(page);
    } while (state.tablePending);
  } catch (error) {
    if (generation !== state.generation || isAbort(error)) return;
    if (error.kind === 'unauthorized') onUnauthorized(error);
    else showError(describeError(error));
  } finally {
    state.tableBusy = false;
  }
}

async function goToPage(pages) {
  const generation = state.generation;
  const previous = state.pages;
  state.pages = pages;
  setBusy(true);
  try {
    const page = await getJson('payments/search', searchParams(state.query, pages[pages.length - 1]), {
      signal: state.controller.signal,
    });
    if (generation !== state.generation) return;
    hideError();
    renderPage(page);
  } catch (error) {
    if (generation !== state.generation || isAbort(error)) return;
    state.pages = previous;
    if (error.kind === 'unauthorized') onUnauthorized(error);
    else showError(describeError(error));
  } finally {
    if (generation === state.generation) setBusy(false);
  }
}

$('page-older').addEventListener('click', () => {
  if (state.nextCursor) void goToPage([...state.pages, state.nextCursor]);
});
$('page-newer').addEventListener('click', () => {
  if (state.pages.length > 1) void goToPage(state.pages.slice(0, -1));
});
$('page-first').addEventListener('click', () => void goToPage([null]));

// ---------------------------------------------------------------- rendering

function renderLiveState(live, delay) {
  const box = $('live-state');
  const text = {
    off: 'Live updates: off',
    connecting: 'Live updates: connecting…',
    live: 'Live updates: on',
    retrying: `Live updates: reconnecting in ${Math.max(1, Math.round((delay ?? 0) / 1000))} s`,
  }[live];
  box.dataset.state = live;
  $('live-text').textContent = text;
}

/** After a failed load: no figure of an earlier filter may stay on screen as if it were this one's. */
function clearFigures() {
  state.lastStats = '';
  $('total').textContent = '–';
  for (const status of STATUSES) $(`count-${status}`).textContent = '–';
  $('currencies').tBodies[0].replaceChildren(emptyRow(4, '–'));
  $('payments').tBodies[0].replaceChildren(emptyRow(6, '–'));
  $('series').tBodies[0].replaceChildren(emptyRow(3, '–'));
  state.nextCursor = null;
  for (const id of ['page-first', 'page-newer', 'page-older']) $(id).disabled = true;
  if (chart !== undefined) {
    chart.data.labels = [];
    for (const dataset of chart.data.datasets) dataset.data = [];
    chart.update('none');
  }
}

/** Returns false when the document is the one already shown. */
function renderStats(stats) {
  const json = JSON.stringify(stats);
  if (json === state.lastStats) return false;
  state.lastStats = json;

  $('total').textContent = formatCount(stats.total);
  for (const status of STATUSES) $(`count-${status}`).textContent = formatCount(stats.byStatus?.[status] ?? 0);
  showStatus(Number(stats.total) === 0 ? 'No payments in this range.' : '');

  const currencies = currenciesOf(stats);
  renderCurrencies(stats, currencies);
  rememberCurrencies(currencies);
  renderChart(stats, currencies);
  return true;
}

function currenciesOf(stats) {
  return [
    ...new Set([
      ...Object.keys(stats.byCurrency ?? {}),
      ...Object.keys(stats.amountByCurrency ?? {}),
      ...Object.keys(stats.refundedAmountByCurrency ?? {}),
    ]),
  ].sort();
}

function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function emptyRow(columns, text) {
  const row = document.createElement('tr');
  row.className = 'empty-row';
  const td = cell('td', text);
  td.colSpan = columns;
  row.append(td);
  return row;
}

function renderCurrencies(stats, currencies) {
  const body = $('currencies').tBodies[0];
  const rows = currencies.map((currency) => {
    const row = document.createElement('tr');
    row.dataset.currency = currency;
    const head = cell('th', currency);
    head.scope = 'row';
    row.append(
      head,
      cell('td', formatCount(stats.byCurrency?.[currency] ?? 0), 'num count'),
      cell('td', formatMoney(stats.amountByCurrency?.[currency] ?? 0, currency), 'num amount'),
      cell('td', formatMoney(stats.refundedAmountByCurrency?.[currency] ?? 0, currency), 'num refunded'),
    );
    return row;
  });
  body.replaceChildren(...(rows.length > 0 ? rows : [emptyRow(4, 'No payments in this range.')]));
}

function rememberCurrencies(currencies) {
  let added = false;
  for (const currency of currencies) {
    if (!state.knownCurrencies.has(currency)) {
      state.knownCurrencies.add(currency);
      added = true;
    }
  }
  if (added) $('currency-options').replaceChildren(...[...state.knownCurrencies].sort().map((c) => new Option(c, c)));
}

function renderPage(page) {
  state.nextCursor = page.nextCursor ?? null;
  const body = $('payments').tBodies[0];
  const rows = (page.items ?? []).map((payment) => {
    const row = document.createElement('tr');
    row.dataset.paymentId = payment.paymentId;
    row.append(
      cell('td', formatDateTime(payment.createdAt)),
      cell('td', formatMoney(payment.amount, payment.currency), 'num'),
      cell('td', payment.status, `status-cell status-${payment.status}`),
      cell('td', payment.paymentId, 'id-cell'),
      cell('td', payment.organizationId, 'id-cell'),
      cell('td', payment.userId, 'id-cell'),
    );
    return row;
  });
  body.replaceChildren(...(rows.length > 0 ? rows : [emptyRow(6, 'No payments in this range.')]));
  const depth = state.pages.length;
  $('page-label').textContent = `Page ${depth}`;
  $('page-first').disabled = depth <= 1;
  $('page-newer').disabled = depth <= 1;
  $('page-older').disabled = !state.nextCursor;
}

// ---------------------------------------------------------------- chart

let chart;

function setUpChartDefaults() {
  if (!window.Chart) return false;
  window.Chart.defaults.color = '#1b1f24';
  window.Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  window.Chart.defaults.animation = false;
  return true;
}
const chartAvailable = setUpChartDefaults();

/** Amounts go on their own axis, in one currency at a time: they are never added across currencies. */
function pickChartCurrency(stats, currencies) {
  const select = $('chart-currency');
  if (!currencies.includes(state.chartCurrency)) {
    const filtered = state.query?.currency.split(',').filter((c) => currencies.includes(c)) ?? [];
    const byCount = [...currencies].sort((a, b) => Number(stats.byCurrency?.[b] ?? 0) - Number(stats.byCurrency?.[a] ?? 0));
    state.chartCurrency = filtered[0] ?? byCount[0] ?? '';
  }
  // rebuilt only when the list changes: a live update must not disturb someone using the select
  const key = currencies.join(',');
  if (select.dataset.currencies !== key || select.options.length === 0) {
    const options = currencies.length > 0 ? currencies.map((c) => new Option(c, c)) : [new Option('No amounts', '')];
    select.replaceChildren(...options);
    select.dataset.currencies = key;
  }
  select.value = state.chartCurrency;
  select.disabled = currencies.length === 0;
}

$('chart-currency').addEventListener('change', (event) => {
  state.chartCurrency = event.target.value;
  if (state.lastStats) {
    const stats = JSON.parse(state.lastStats);
    renderChart(stats, currenciesOf(stats));
  }
});

function renderChart(stats, currencies) {
  pickChartCurrency(stats, currencies);
  const series = stats.series ?? [];
  const interval = state.query?.interval ?? 'day';
  const currency = state.chartCurrency;
  const labels = series.map((bucket) => formatBucket(bucket.start, interval));
  const counts = series.map((bucket) => Number(bucket.total));
  const amounts = series.map((bucket) => (currency ? majorUnits(bucket.amountByCurrency?.[currency] ?? 0, currency) : 0));
  renderSeriesTable(series, interval);
  $('chart').setAttribute(
    'aria-label',
    `Payments per ${interval}${currency ? ` and their amount in ${currency}` : ''}, ${labels[0] ?? ''} to ${labels[labels.length - 1] ?? ''}; the same data is in the table below the chart.`,
  );
  if (!chartAvailable) return;

  const amountLabel = currency ? `Amount (${currency})` : 'Amount';
  if (chart === undefined) {
    chart = new window.Chart($('chart'), {
      data: {
        labels,
        datasets: [
          // order: the amount line is drawn over the bars
          { type: 'bar', label: 'Payments', data: counts, yAxisID: 'y', order: 2, backgroundColor: '#93b4f5', borderColor: '#1d4ed8', borderWidth: 1 },
          { type: 'line', label: amountLabel, data: amounts, yAxisID: 'amount', order: 1, borderColor: '#b45309', backgroundColor: '#b45309', pointRadius: 3, borderWidth: 2 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { ticks: { maxRotation: 0, autoSkip: true } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'Payments' } },
          amount: {
            position: 'right',
            beginAtZero: true,
            grid: { drawOnChartArea: false },
            ticks: { callback: (value) => (state.chartCurrency ? formatMoneyCompact(value, state.chartCurrency) : value) },
          },
        },
        plugins: {
          legend: { position: 'bottom', reverse: true },
          tooltip: {
            callbacks: {
              label: (item) =>
                item.dataset.yAxisID === 'amount' && state.chartCurrency
                  ? `${item.dataset.label}: ${formatMoney(Math.round(item.raw * 10 ** fractionDigits(state.chartCurrency)), state.chartCurrency)}`
                  : `${item.dataset.label}: ${formatCount(item.raw)}`,
            },
          },
        },
      },
    });
    return;
  }
  chart.data.labels = labels;
  chart.data.datasets[0].data = counts;
  chart.data.datasets[1].data = amounts;
  chart.data.datasets[1].label = amountLabel;
  chart.update('none');
}

function renderSeriesTable(series, interval) {
  const body = $('series').tBodies[0];
  const rows = series.map((bucket) => {
    const row = document.createElement('tr');
    const amounts = Object.entries(bucket.amountByCurrency ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([currency, amount]) => formatMoney(amount, currency))
      .join(' · ');
    row.append(cell('td', formatBucket(bucket.start, interval)), cell('td', formatCount(bucket.total), 'num'), cell('td', amounts || '–', 'num'));
    return row;
  });
  body.replaceChildren(...(rows.length > 0 ? rows : [emptyRow(3, 'No data.')]));
}

// ---------------------------------------------------------------- start

state.filters = filtersFromUrl(location.search);
applyAuthMode();
writeForm(state.filters);
void load();
