/** The crash check's requests, seeded: the sequence of operations of each client is the same on every run. */
import type { Body } from './expectations';

export const MAX_AMOUNT = 99_999_999_999;

export type Rng = () => number;
export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
export const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));

export const ORGS = ['org-a', 'org-b', 'org-c', 'org-ü', '組織-1', `org-${'x'.repeat(60)}`];
const CURRENCIES = ['EUR', 'USD', 'JPY', 'GBP', 'CHF', 'BHD', 'KWD', 'SEK'];
const TEXTS = [
  'Test payment',
  '',
  'Zahlung für Bestellung #42 — “quoted” \\ backslash \'single\'',
  'emoji 😀🎉 and combining e\u0301 and ZWJ 👩‍👩‍👧',
  'RTL עברית العربية',
  'newline\nand\ttab\r\n',
  '\u2028\u2029 line separators',
  '{"not": "json", "a": [1, 2]}',
  '<script>alert(1)</script> & %s %d ${x}',
  'x'.repeat(1000),
  '😀'.repeat(1000), // 2000 UTF-16 units, 1000 characters for the validator
];
/** Lone surrogates: valid JSON (as \ud800 escapes), valid UTF-16 for JavaScript, not Unicode. */
const UNSAFE_TEXTS = ['lone high \ud800 surrogate', 'lone low \udfff surrogate'];
const META_KEYS = ['source', 'order_id', 'ключ', '鍵', 'emoji😀', 'with space', 'a.b', '$dollar', 'toString', 'x'.repeat(40)];
const META_VALUES = ['', 'v', 'значение 😀', '"quotes" \\ and \n', 'x'.repeat(500), '0', 'null', 'true'];
const VALID_TIMES = [
  '2026-03-01T12:00:00.000Z',
  '2024-02-29T23:59:59.999Z',
  '1999-12-31T23:59:59.5Z',
  '2000-01-01',
  '2026-03-01T12:00+05:30',
  '2026-03-01T12:00:00.123456789-08:00',
  '1970-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '0001-01-01T00:00:00.000Z',
  '0000-03-01T12:34:56.789Z',
];

export function genTime(rng: Rng): string {
  const r = rng();
  if (r < 0.5) return pick(rng, VALID_TIMES);
  if (r < 0.9) return new Date(Date.now() - Math.floor(rng() * 5e10)).toISOString();
  return new Date(Date.now() + 60_000).toISOString(); // in the future, within the 5 minutes allowed
}

export function genText(rng: Rng, unsafe: boolean): string {
  return unsafe && rng() < 0.1 ? pick(rng, UNSAFE_TEXTS) : pick(rng, TEXTS);
}

function genMetadata(rng: Rng): Record<string, string> {
  const n = rng() < 0.05 ? 50 : int(rng, 0, 5);
  const m: Record<string, string> = {};
  for (let i = 0; i < n; i++) m[i < META_KEYS.length && rng() < 0.7 ? META_KEYS[i] : `k${i}`] = pick(rng, META_VALUES);
  return m;
}

function genAmount(rng: Rng): number {
  const r = rng();
  if (r < 0.15) return pick(rng, [1, 2, 3, 4, 5, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, MAX_AMOUNT - 1, MAX_AMOUNT]);
  if (r < 0.6) return int(rng, 1, 10_000);
  return int(rng, 1, 1_000_000_000);
}

export function genPaymentId(rng: Rng, tag: string): string {
  switch (int(rng, 0, 3)) {
    case 0:
      return `pay-${tag}`;
    case 1:
      return `P_${tag}.x:y`;
    case 2:
      return `id-${tag}-`.padEnd(64, 'z');
    default:
      return `${tag}`;
  }
}

export function genCreate(rng: Rng, paymentId: string, unsafe: boolean): Body {
  const body: Body = {
    paymentId,
    organizationId: pick(rng, ORGS),
    userId: rng() < 0.8 ? `user-${int(rng, 1, 200)}` : pick(rng, ['ユーザー', 'user ü', 'u'.repeat(64)]),
    amount: genAmount(rng),
    currency: pick(rng, CURRENCIES),
  };
  const d = rng();
  if (d < 0.6) body.description = genText(rng, unsafe);
  else if (d < 0.7) body.description = null;
  const m = rng();
  if (m < 0.6) body.metadata = genMetadata(rng);
  else if (m < 0.65) body.metadata = null;
  if (rng() < 0.6) body.createdAt = genTime(rng);
  return body;
}

/** paymentIds that name routes or path segments: a create with one is a 400 (never GET: they are routes). */
export const RESERVED_IDS = ['search', 'stats', 'bulk', '.', '..'];

/** A create that must be refused with 400 (one defect each). */
export function genInvalidCreate(rng: Rng, paymentId: string): Body {
  const base: Body = { paymentId, organizationId: 'org-a', userId: 'u', amount: 100, currency: 'EUR' };
  const defects: Body[] = [
    { amount: 0 },
    { amount: -5 },
    { amount: 1.5 },
    { amount: MAX_AMOUNT + 1 },
    { amount: '100' },
    { currency: 'eur' },
    { currency: 'XXXX' },
    { userId: '' },
    { organizationId: 'o'.repeat(65) },
    { status: 'completed' },
    { version: 7 },
    { refundedAmount: 0 },
    { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) },
    { metadata: { k: 'x'.repeat(501) } },
    { metadata: { k: { nested: 'object' } } },
    { metadata: { '': 'empty key' } },
    { metadata: ['not', 'an', 'object'] },
    { description: 'x'.repeat(1001) },
    { createdAt: '2026-02-30T00:00:00Z' },
    { createdAt: '2026-03-01T12:00:00' },
    { createdAt: new Date(Date.now() + 86_400_000).toISOString() },
  ];
  const defect = pick(rng, defects);
  const body = { ...base, ...defect };
  if (rng() < 0.1) delete body.userId; // a required field absent
  return body;
}
