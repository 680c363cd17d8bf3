import fc from 'fast-check';
import { canonicalTimeMs, isoTime, normalizeIsoTime, parseIsoTime, parseIsoTimeByRule, timeMs } from './iso-time';

describe('parseIsoTime', () => {
  it('reads a UTC date-time with milliseconds', () => {
    expect(parseIsoTime('2026-03-01T12:34:56.789Z')).toBe(Date.UTC(2026, 2, 1, 12, 34, 56, 789));
  });

  it('reads a date-time without seconds or without a fraction', () => {
    expect(parseIsoTime('2026-03-01T12:34Z')).toBe(Date.UTC(2026, 2, 1, 12, 34));
    expect(parseIsoTime('2026-03-01T12:34:56Z')).toBe(Date.UTC(2026, 2, 1, 12, 34, 56));
  });

  it('reads a bare date as midnight UTC', () => {
    expect(parseIsoTime('2026-03-01')).toBe(Date.UTC(2026, 2, 1));
  });

  it.each([
    ['2026-03-01T12:00:00+01:00', Date.UTC(2026, 2, 1, 11)],
    ['2026-03-01T12:00:00+0530', Date.UTC(2026, 2, 1, 6, 30)],
    ['2026-03-01T12:00:00-05:00', Date.UTC(2026, 2, 1, 17)],
    ['2026-03-01T00:30:00+01:00', Date.UTC(2026, 1, 28, 23, 30)],
    ['2026-03-01T12:00:00+00:00', Date.UTC(2026, 2, 1, 12)],
  ])('converts the offset of %s to UTC', (text, expected) => {
    expect(parseIsoTime(text)).toBe(expected);
  });

  it('keeps milliseconds of a short fraction and drops digits past them', () => {
    expect(parseIsoTime('2026-03-01T12:00:00.5Z')).toBe(Date.UTC(2026, 2, 1, 12, 0, 0, 500));
    expect(parseIsoTime('2026-03-01T12:00:00.12Z')).toBe(Date.UTC(2026, 2, 1, 12, 0, 0, 120));
    expect(parseIsoTime('2026-03-01T12:00:00.123456789Z')).toBe(Date.UTC(2026, 2, 1, 12, 0, 0, 123));
  });

  it('accepts 29 February only in leap years', () => {
    expect(parseIsoTime('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoTime('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseIsoTime('2026-02-29T00:00:00Z')).toBeUndefined();
    expect(parseIsoTime('2100-02-29T00:00:00Z')).toBeUndefined();
  });

  it.each([
    ['a local time without an offset', '2026-03-01T12:00:00'],
    ['a local time without seconds or offset', '2026-03-01T12:00'],
    ['30 February', '2026-02-30T00:00:00Z'],
    ['31 April', '2026-04-31'],
    ['day 0', '2026-03-00'],
    ['month 0', '2026-00-10'],
    ['month 13', '2026-13-01'],
    ['hour 24', '2026-03-01T24:00:00Z'],
    ['minute 60', '2026-03-01T12:60:00Z'],
    ['second 60', '2026-03-01T12:00:60Z'],
    ['an offset of 24 hours', '2026-03-01T12:00:00+24:00'],
    ['an offset minute of 60', '2026-03-01T12:00:00+05:60'],
    ['a fraction of ten digits', '2026-03-01T12:00:00.1234567890Z'],
    ['an empty fraction', '2026-03-01T12:00:00.Z'],
    ['a two-digit year', '26-03-01'],
    ['a space instead of T', '2026-03-01 12:00:00Z'],
    ['surrounding space', ' 2026-03-01T12:00:00Z'],
    ['a trailing character', '2026-03-01T12:00:00Zx'],
    ['an empty string', ''],
    ['text', 'yesterday'],
    ['an epoch number', '1772366400000'],
    ['a time after year 9999', '9999-12-31T23:59:59-01:00'],
    // the canonical form's own shape, where the fast path reads it
    ['30 February', '2026-02-30T00:00:00.000Z'],
    ['hour 24', '2026-03-01T24:00:00.000Z'],
    ['minute 60', '2026-03-01T12:60:00.000Z'],
    ['second 60', '2026-03-01T12:00:60.000Z'],
    ['month 13', '2026-13-01T12:00:00.000Z'],
    ['a letter in the month', '2026-0a-01T12:00:00.000Z'],
    ['a sign before the year', '+026-03-01T12:00:00.000Z'],
    ['a colon in the milliseconds', '2026-03-01T12:00:00.0:0Z'],
    ['a slash for a dash', '2026/03-01T12:00:00.000Z'],
    ['a space in the hour', '2026-03-01T 2:00:00.000Z'],
  ])('rejects %s (%j)', (_what, text) => {
    expect(parseIsoTime(text)).toBeUndefined();
    expect(normalizeIsoTime(text)).toBeUndefined();
  });

  it('reads the canonical form as the field-by-field rules do, on every day, hour and minute shape', () => {
    let checked = 0;
    for (const year of ['0000', '0099', '1970', '2000', '2024', '2026', '2100', '9999']) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          for (const time of ['00:00:00.000', '23:59:59.999', '24:00:00.000', '12:60:00.000', '12:00:60.000', '07:08:09.010']) {
            const text = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${time}Z`;
            const byRule = parseIsoTimeByRule(text);
            expect(parseIsoTime(text)).toBe(byRule);
            expect(normalizeIsoTime(text)).toBe(byRule === undefined ? undefined : new Date(byRule).toISOString());
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(8 * 14 * 33 * 6);
  });

  it('accepts the last millisecond of year 9999', () => {
    expect(parseIsoTime('9999-12-31T23:59:59.999Z')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
  });

  it('never reads a year below 100 as a year of the 1900s', () => {
    // Date.UTC maps years 0-99 to 1900-1999; a parser must not roll 0050 over to 1950.
    for (const text of ['0050-06-15T00:00:00.000Z', '0099-12-31T00:00:00.000Z', '0001-01-01T00:00:00.000Z']) {
      const t = parseIsoTime(text);
      if (t !== undefined) expect(new Date(t).toISOString()).toBe(text);
    }
  });
});

describe('normalizeIsoTime', () => {
  it('writes the canonical UTC form with milliseconds', () => {
    expect(normalizeIsoTime('2026-03-01T12:00:00+01:00')).toBe('2026-03-01T11:00:00.000Z');
    expect(normalizeIsoTime('2026-03-01')).toBe('2026-03-01T00:00:00.000Z');
    expect(normalizeIsoTime('2026-03-01T12:34Z')).toBe('2026-03-01T12:34:00.000Z');
  });

  it('returns undefined for what parseIsoTime rejects', () => {
    expect(normalizeIsoTime('2026-02-30')).toBeUndefined();
    expect(normalizeIsoTime('2026-03-01T12:00:00')).toBeUndefined();
  });

  it('gives back any canonical instant from 1970 to 9999 unchanged', () => {
    let s = 12345;
    const max = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    for (let i = 0; i < 2000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const t = Math.floor((s / 2 ** 32) * max);
      const text = new Date(t).toISOString();
      expect(normalizeIsoTime(text)).toBe(text);
    }
  });

  it('orders canonical strings as the instants they name', () => {
    const texts = ['2026-03-01T12:00:00+01:00', '2026-03-01T11:30:00Z', '2026-03-01T10:59:59.999-00:30', '2025-12-31'];
    const normalized = texts.map((t) => normalizeIsoTime(t)!);
    const byString = [...normalized].sort();
    const byTime = [...normalized].sort((a, b) => Date.parse(a) - Date.parse(b));
    expect(byString).toEqual(byTime);
  });
});

describe('timeMs', () => {
  it('reads stored times as Date.parse does, canonical or not', () => {
    let s = 99;
    const max = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    const min = Date.UTC(0, 0, 1) - 1900 * 365.2425 * 86_400_000;
    for (let i = 0; i < 5000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const text = new Date(Math.floor(min + (s / 2 ** 32) * (max - min))).toISOString();
      expect(timeMs(text)).toBe(Date.parse(text));
    }
    for (const text of ['0050-06-15T00:00:00.000Z', '2026-03-01T12:00:00+01:00', '2026-03-01', '2026-03-01T12:34:56Z']) {
      expect(timeMs(text)).toBe(Date.parse(text));
    }
  });
});

describe('isoTime and canonicalTimeMs', () => {
  const MIN = Date.parse('0000-01-01T00:00:00.000Z');
  const MAX = Date.parse('9999-12-31T23:59:59.999Z');

  it('writes what toISOString writes, for every time of the years 0000-9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN, max: MAX }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
    for (const text of ['0000-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000Z', '2000-02-29T12:34:56.789Z', '2100-03-01T00:00:00.001Z', '9999-12-31T23:59:59.999Z']) {
      expect(isoTime(Date.parse(text))).toBe(text);
    }
  });

  it('reads back exactly the canonical texts (isoTime round-trips them), and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN, max: MAX }), (ms) => {
        const text = isoTime(ms);
        expect(canonicalTimeMs(text)).toBe(ms);
      }),
      { numRuns: 5_000 },
    );
    for (const other of ['2026-03-01T12:00:00Z', '2026-03-01T12:00:00.000+00:00', '2026-03-01T12:00:00.0000Z', '2026-02-30T00:00:00.000Z', '2026-03-01']) {
      expect(canonicalTimeMs(other)).toBeUndefined();
    }
  });
});
