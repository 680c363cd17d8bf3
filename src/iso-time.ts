const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * Parses an ISO-8601 date or date-time with an explicit offset (`Z` or `+hh:mm`) into epoch
 * milliseconds. Rejects what `Date.parse` would silently roll over (`2026-02-30`, `T24:00`)
 * and local times without an offset (their meaning depends on the server's time zone).
 */
export function parseIsoTime(text: string): number | undefined {
  return parseCanonical(text) ?? parseIsoTimeByRule(text);
}

/**
 * Epoch milliseconds of a time this service wrote (canonical, see parseCanonical) without a
 * Date.parse; other valid ISO text goes through Date.parse. For stored and already validated
 * times only: it does not refuse what Date.parse would roll over.
 */
export function timeMs(text: string): number {
  return parseCanonical(text) ?? Date.parse(text);
}

/**
 * The fast path: epoch milliseconds of a time in the canonical form `YYYY-MM-DDTHH:mm:ss.sssZ`
 * (what toISOString writes, so what this service writes and clients send back), read by
 * character codes; undefined for anything else, left to the rules (which also name what is
 * wrong). Years below 100 are left to them too, because Date.UTC reads them as 19xx.
 */
function parseCanonical(text: string): number | undefined {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 /* T */ ||
    text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 /* . */ ||
    text.charCodeAt(23) !== 90 /* Z */
  ) {
    return undefined;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const ms = digits(text, 20, 3);
  // digits() is -1 for a non-digit: every field below its lower bound fails one test here
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** The decimal number of text[at, at + count), or -1 if one of its characters is not a digit. */
function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** parseIsoTime() without its fast path: every form, field by field (exported for its spec). */
export function parseIsoTimeByRule(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', offset = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (m[4] !== undefined && m[8] === undefined) return undefined;
  let offsetMs = 0;
  if (offset !== 'Z') {
    const sign = offset[0] === '-' ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2));
    if (oh > 23 || om > 59) return undefined;
    offsetMs = sign * (oh * 60 + om) * 60_000;
  }
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear takes the year as written.
  const date = new Date(Date.UTC(2000, 0, 1, Number(h), Number(mi), Number(s), ms));
  date.setUTCFullYear(year, month - 1, day);
  const t = date.getTime() - offsetMs;
  return t >= MIN_TIME && t <= MAX_TIME ? t : undefined;
}

/** The canonical UTC form used everywhere inside the service (string order = time order). */
export function normalizeIsoTime(text: string): string | undefined {
  if (parseCanonical(text) !== undefined) return text; // already canonical: toISOString would write it back
  const t = parseIsoTimeByRule(text);
  return t === undefined ? undefined : new Date(t).toISOString();
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const MIN_TIME = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');
