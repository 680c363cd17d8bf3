const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * Parses an ISO-8601 date or date-time with an explicit offset (`Z` or `+hh:mm`) into epoch
 * milliseconds. Rejects what `Date.parse` would silently roll over (`2026-02-30`, `T24:00`)
 * and local times without an offset (their meaning depends on the server's time zone).
 */
export function parseIsoTime(text: string): number | undefined {
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
  const t = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), ms) - offsetMs;
  return t >= Date.UTC(0, 0, 1) && t <= Date.UTC(9999, 11, 31, 23, 59, 59, 999) ? t : undefined;
}

/** The canonical UTC form used everywhere inside the service (string order = time order). */
export function normalizeIsoTime(text: string): string | undefined {
  const t = parseIsoTime(text);
  return t === undefined ? undefined : new Date(t).toISOString();
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
