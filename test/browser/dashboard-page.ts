import { existsSync } from 'node:fs';
import { Browser, chromium, Page } from 'playwright-core';

/**
 * Driving the dashboard in Debian's chromium through playwright-core (which downloads no
 * browser of its own). The test is compiled without the DOM library: code that runs in the
 * page reaches the browser's globals through BrowserGlobals.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_PRESENT = existsSync(CHROMIUM_PATH);
/** CI sets it: there, a missing browser fails the suite instead of skipping it. */
export const BROWSER_REQUIRED = process.env.DASHBOARD_BROWSER_REQUIRED === '1';

/**
 * How long a wait for the page may last before it fails: a guard against what never shows,
 * not a budget (a loaded machine renders slowly, and the live stream reconnects with backoff).
 */
export const WAIT_MS = 20_000;

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM_PRESENT) throw new Error(`DASHBOARD_BROWSER_REQUIRED=1 but there is no chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The browser globals that page functions below use. */
interface BrowserElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): BrowserElement | null;
}
interface BrowserGlobals {
  document: {
    getElementById(id: string): BrowserElement | null;
    querySelector(selector: string): BrowserElement | null;
    querySelectorAll(selector: string): Iterable<BrowserElement>;
    scrollingElement: { scrollWidth: number } | null;
  };
  innerWidth: number;
  sessionStorage: { getItem(key: string): string | null };
}

export interface Stats {
  total: number;
  byStatus: Record<string, number>;
  byCurrency: Record<string, number>;
  amountByCurrency: Record<string, number | string>;
  refundedAmountByCurrency: Record<string, number | string>;
  series?: { start: string; total: number; amountByCurrency: Record<string, number | string> }[];
}

/** What the page shows, as text. */
export interface Figures {
  total: string;
  byStatus: Record<string, string>;
  currencies: { currency: string; count: string; amount: string; refunded: string }[];
}

export const STATUSES = ['pending', 'completed', 'failed', 'refunded'] as const;

/**
 * Runs in the page (as source text: the test has no DOM types). Lists every visible form
 * control without a label or name, and every visible text whose contrast with the background
 * behind it is below 4.5:1 (WCAG AA, normal text).
 */
const ACCESSIBILITY_AUDIT = `(() => {
  const problems = [];
  for (const el of document.querySelectorAll('input, select, textarea, button')) {
    if (!el.checkVisibility()) continue;
    const labelled = (el.labels && [...el.labels].some((l) => l.textContent.trim())) || el.getAttribute('aria-label')
      || (el.tagName === 'BUTTON' && el.textContent.trim());
    if (!labelled) problems.push('no label: #' + el.id);
  }
  const rgba = (text) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(text);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || seen.has(el) || !walker.currentNode.textContent.trim()) continue;
    seen.add(el);
    if (!el.checkVisibility() || el.closest('.visually-hidden, option')) continue;
    const fg = rgba(getComputedStyle(el).color);
    if (!fg) continue;
    const [hi, lo] = [luminance(fg), luminance(background(el))].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ': ' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + el.textContent.trim().slice(0, 40) + '"');
  }
  return problems;
})()`;

export class DashboardPage {
  /** Script errors and Content-Security-Policy violations seen so far: there must be none. */
  readonly problems: string[] = [];

  constructor(readonly page: Page) {
    page.on('pageerror', (error) => this.problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
        this.problems.push(`console: ${message.text()}`);
      }
    });
  }

  /** Read in one go in the page: a live update may replace the rows between two reads. */
  async figures(): Promise<Figures> {
    return this.page.evaluate((statuses) => {
      const { document } = globalThis as unknown as BrowserGlobals;
      const text = (element: BrowserElement | null) => (element?.textContent ?? '').trim();
      return {
        total: text(document.querySelector('#total')),
        byStatus: Object.fromEntries(statuses.map((s) => [s, text(document.querySelector(`#count-${s}`))])),
        currencies: [...document.querySelectorAll('#currencies tbody tr[data-currency]')].map((row) => ({
          currency: row.getAttribute('data-currency') ?? '',
          count: text(row.querySelector('.count')),
          amount: text(row.querySelector('.amount')),
          refunded: text(row.querySelector('.refunded')),
        })),
      };
    }, [...STATUSES]);
  }

  /**
   * The figures a stats document should show, formatted in the page's browser exactly as the
   * brief says: Intl.NumberFormat(undefined, {style: 'currency', currency}) of
   * amount / 10 ** (the currency's fraction digits in 'en').
   */
  async expectedFigures(stats: Stats): Promise<Figures> {
    const currencies = Object.keys(stats.amountByCurrency).sort();
    return this.page.evaluate(
      ({ stats, currencies, statuses }) => {
        const count = (n: number) => new Intl.NumberFormat(undefined).format(n);
        const money = (amount: number | string, currency: string) => {
          const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
          return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(Number(amount) / 10 ** digits);
        };
        return {
          total: count(stats.total),
          byStatus: Object.fromEntries(statuses.map((s) => [s, count(stats.byStatus[s])])),
          currencies: currencies.map((currency) => ({
            currency,
            count: count(stats.byCurrency[currency]),
            amount: money(stats.amountByCurrency[currency], currency),
            refunded: money(stats.refundedAmountByCurrency[currency], currency),
          })),
        };
      },
      { stats, currencies, statuses: [...STATUSES] },
    );
  }

  /** Waits until the page shows `expected` (it loads and updates asynchronously), then compares. */
  async expectFigures(expected: Figures, timeoutMs = WAIT_MS): Promise<void> {
    const shown = await this.#poll(() => this.figures(), (figures) => JSON.stringify(figures) === JSON.stringify(expected), timeoutMs);
    expect(shown).toEqual(expected);
  }

  async paymentIds(): Promise<string[]> {
    return this.page.evaluate(() =>
      [...(globalThis as unknown as BrowserGlobals).document.querySelectorAll('#payments tbody tr[data-payment-id]')].map(
        (row) => row.getAttribute('data-payment-id') ?? '',
      ),
    );
  }

  async expectPaymentIds(expected: string[], timeoutMs = WAIT_MS): Promise<void> {
    const shown = await this.#poll(() => this.paymentIds(), (ids) => JSON.stringify(ids) === JSON.stringify(expected), timeoutMs);
    expect(shown).toEqual(expected);
  }

  async errorText(timeoutMs = WAIT_MS): Promise<string> {
    const region = this.page.locator('#error');
    await region.waitFor({ state: 'visible', timeout: timeoutMs });
    return ((await region.textContent()) ?? '').trim();
  }

  /** Resolves when #total reads `text`, polling on every animation frame (for timing). */
  async waitForTotal(text: string, timeoutMs = WAIT_MS): Promise<void> {
    await this.page.waitForFunction(
      (expected) => (globalThis as unknown as BrowserGlobals).document.getElementById('total')?.textContent === expected,
      text,
      { polling: 'raf', timeout: timeoutMs },
    );
  }

  async formatCount(n: number): Promise<string> {
    return this.page.evaluate((value) => new Intl.NumberFormat(undefined).format(value), n);
  }

  /** Whether the page scrolls sideways at the current viewport width. */
  async overflowsHorizontally(): Promise<{ scrollWidth: number; innerWidth: number; overflows: boolean }> {
    return this.page.evaluate(() => {
      const w = globalThis as unknown as BrowserGlobals;
      const scrollWidth = w.document.scrollingElement?.scrollWidth ?? 0;
      return { scrollWidth, innerWidth: w.innerWidth, overflows: scrollWidth > w.innerWidth };
    });
  }

  /** Controls without a label and texts below 4.5:1 contrast: there must be none. */
  async accessibilityProblems(): Promise<string[]> {
    return this.page.evaluate<string[]>(ACCESSIBILITY_AUDIT);
  }

  /** The focused element's id and outline, after the keys pressed. */
  async focusAfter(keys: string[]): Promise<{ id: string; outline: string }> {
    for (const key of keys) await this.page.keyboard.press(key);
    return this.page.evaluate<{ id: string; outline: string }>(
      `(() => { const el = document.activeElement; const s = getComputedStyle(el); return { id: el.id || el.className, outline: s.outlineStyle + ' ' + s.outlineWidth }; })()`,
    );
  }

  async sessionItem(key: string): Promise<string | null> {
    return this.page.evaluate((k) => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem(k), key);
  }

  async #poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
