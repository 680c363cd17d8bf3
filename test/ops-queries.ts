import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * The PromQL an operator runs, read from the ops files: every panel query and template variable
 * of the Grafana dashboard, and the signal of every alert rule (and every recording rule).
 * prometheus.pg-spec.ts runs each against a real Prometheus scraping the service.
 */

export const OPS_DIR = join(__dirname, '..', 'ops');
export const DASHBOARD_PATH = join(OPS_DIR, 'grafana', 'payments.json');
export const ALERTS_PATH = join(OPS_DIR, 'prometheus', 'alerts.yml');

/** What Grafana's $__rate_interval (and $__interval) become here: a window that holds several 1 s scrapes. */
export const RATE_WINDOW = '1m';

/** What a template variable becomes here: every value (the test's Prometheus scrapes the service only). */
const EVERY_VALUE = '.+';

export interface OpsQuery {
  /** Where it comes from: `panel "Title" A`, `variable instance`, `alert Name`, `record name`. */
  source: string;
  /** Runnable PromQL: template variables resolved, or the alert's comparison stripped. */
  expr: string;
}

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id?: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
  /** A collapsed row holds its panels. */
  panels?: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
}

export interface Dashboard {
  uid?: string;
  id?: number | null;
  schemaVersion?: number;
  panels: DashboardPanel[];
  templating?: { list?: DashboardVariable[] };
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
}

export function loadDashboard(path = DASHBOARD_PATH): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

export function loadRules(path = ALERTS_PATH): AlertRule[] {
  const file = parse(readFileSync(path, 'utf8')) as { groups?: { rules?: AlertRule[] }[] } | null;
  return (file?.groups ?? []).flatMap((group) => group.rules ?? []);
}

/** Every panel, the rows' own and those inside collapsed rows included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/**
 * An expression as Grafana would send it with every variable at "All": the interval variables
 * become RATE_WINDOW and each template variable (used as `label=~"$name"`) matches every value.
 * Throws on a variable it cannot resolve, so a new one is never sent to Prometheus as text.
 */
export function resolveVariables(expr: string, variables: readonly string[]): string {
  let resolved = expr.replace(/\$__rate_interval|\$__interval|\$\{__rate_interval\}|\$\{__interval\}/g, RATE_WINDOW);
  for (const name of variables) {
    const uses = new RegExp(`\\$${name}\\b|\\$\\{${name}\\}`, 'g');
    const asRegex = new RegExp(`=~"(?:\\$${name}\\b|\\$\\{${name}\\})"`, 'g');
    if ((resolved.match(uses) ?? []).length !== (resolved.match(asRegex) ?? []).length) {
      throw new Error(`variable $${name} is used outside a =~"$${name}" matcher (All would not match every value): ${expr}`);
    }
    resolved = resolved.replace(asRegex, `=~"${EVERY_VALUE}"`);
  }
  if (/\$|\[\[/.test(resolved)) throw new Error(`unresolved template variable in: ${expr}`);
  return resolved;
}

/** Grafana's `label_values(metric{...}, label)` as the PromQL that finds those values. */
export function variableQuery(definition: string): string {
  const match = /^\s*label_values\(\s*(.+?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/.exec(definition);
  if (!match) throw new Error(`only label_values(metric, label) variables are supported: ${definition}`);
  return `count by (${match[2]}) (${match[1]})`;
}

/** Every panel target's expr and every query variable, resolved. */
export function dashboardQueries(dashboard = loadDashboard()): OpsQuery[] {
  const variables = (dashboard.templating?.list ?? []).map((v) => v.name);
  const out: OpsQuery[] = [];
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const definition = typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? '');
    out.push({ source: `variable ${v.name}`, expr: resolveVariables(variableQuery(definition), variables) });
  }
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined) continue;
      out.push({ source: `panel "${panel.title}" ${target.refId ?? ''}`.trim(), expr: resolveVariables(target.expr, variables) });
    }
  }
  return out;
}

/** `<signal> <comparison> <number>` at the very end of an alert's expr. */
const TRAILING_COMPARISON = /^([\s\S]*?)\s*(==|!=|>=|<=|>|<)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*$/;

/**
 * The signal of an alert: its expr without the final threshold. The convention of
 * ops/prometheus/alerts.yml is one top-level comparison with a number, at the end; anything
 * else throws (a comparison or a set operator left at the top level of the signal would make
 * it a different query than the one the alert compares).
 */
export function alertSignal(expr: string): string {
  const match = TRAILING_COMPARISON.exec(expr.trim());
  if (!match) throw new Error(`alert expr does not end in "<comparison> <number>": ${expr}`);
  const signal = match[1].trim();
  const extra = topLevelOperators(signal);
  if (signal === '' || extra.length > 0) {
    throw new Error(`alert expr is not "<signal> <comparison> <number>" with one top-level comparison (found ${extra.join(', ') || 'no signal'}): ${expr}`);
  }
  return signal;
}

/** Comparison and set operators outside (), [] and {} and outside strings. */
function topLevelOperators(expr: string): string[] {
  const found: string[] = [];
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      const end = closingQuote(expr, i);
      i = end;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (depth === 0) {
      const rest = expr.slice(i);
      const op = /^(==|!=|>=|<=|>|<)/.exec(rest) ?? (/[\s)]/.test(expr[i - 1] ?? ' ') ? /^(and|or|unless)(?=[\s(])/.exec(rest) : null);
      if (op) {
        found.push(op[1]);
        i += op[1].length - 1;
      }
    }
  }
  return found;
}

function closingQuote(expr: string, open: number): number {
  const quote = expr[open];
  for (let i = open + 1; i < expr.length; i++) {
    if (expr[i] === '\\' && quote !== '`') i++;
    else if (expr[i] === quote) return i;
  }
  return expr.length;
}

/** Each alert's signal, and each recording rule's expr, of ops/prometheus/alerts.yml. */
export function alertQueries(rules = loadRules()): OpsQuery[] {
  return rules.map((rule) =>
    rule.alert !== undefined ? { source: `alert ${rule.alert}`, expr: alertSignal(rule.expr) } : { source: `record ${rule.record}`, expr: rule.expr.trim() },
  );
}

/** The dashboard's queries and the alerts' signals: what prometheus.pg-spec.ts runs. */
export function opsQueries(): OpsQuery[] {
  return [...dashboardQueries(), ...alertQueries()];
}
