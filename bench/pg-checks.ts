import { createHash } from 'node:crypto';
import type { Payment } from '../src/payments/payment';
import { canonicalJson } from './http';
import { Engine, searchChecksum, searchPath, searchVariant, statsChecksum, statsPath, statsVariant } from './queries';

/**
 * The correctness checks of the PostgreSQL load (bench/postgres.ts): the store loaded from the
 * database must hold exactly the data set (a digest over every payment, every field) and answer
 * as the in-memory engine does on the same data (checksums of a few searches and stats).
 */

export const CHECK_VARIANTS = 4;

/** Search and stats, mid-size and largest organization, CHECK_VARIANTS variants each. */
export async function checkAnswers(engine: Engine): Promise<{ query: string; checksum: string }[]> {
  const out: { query: string; checksum: string }[] = [];
  for (const cls of ['mid', 'largest'] as const) {
    for (let i = 0; i < CHECK_VARIANTS; i++) {
      const sq = searchVariant(cls, i);
      out.push({ query: searchPath(sq), checksum: searchChecksum(await engine.search(sq)) });
      const st = statsVariant(cls, i);
      out.push({ query: statsPath(st), checksum: statsChecksum(await engine.stats(st)) });
    }
  }
  return out;
}

/**
 * An order-independent digest of a set of payments: count, and two sums (mod 2^32, exact in a
 * double) of a SHA-1 of each payment's every field. Equal digests = the same payments, field for
 * field, whatever the order they were stored in.
 */
export function paymentsDigest(payments: Iterable<Payment>): string {
  let count = 0;
  let a = 0;
  let b = 0;
  for (const p of payments) {
    const text = [
      p.paymentId,
      p.organizationId,
      p.userId,
      p.amount,
      p.currency,
      p.status,
      p.description,
      canonicalJson(p.metadata),
      p.refundedAmount,
      p.error,
      p.createdAt,
      p.updatedAt,
      p.completedAt,
      p.failedAt,
      p.refundedAt,
      p.version,
    ]
      .map((v) => (v === null ? '\u0000' : String(v)))
      .join('\u001f');
    const h = createHash('sha1').update(text).digest();
    a = (a + h.readUInt32LE(0)) % 4294967296;
    b = (b + h.readUInt32LE(4)) % 4294967296;
    count++;
  }
  return `${count}:${a.toString(16)}:${b.toString(16)}`;
}
