import type { Payment, PaymentStatus } from '../payments/payment';
import { timeMs } from '../iso-time';

/** The columns of a payment as read back: times as epoch milliseconds (exact, any year). */
export const PAYMENT_COLUMNS = `payment_id, organization_id, user_id, amount, currency, status, description, metadata,
  refunded_amount, error, ${['created_at', 'updated_at', 'completed_at', 'failed_at', 'refunded_at']
    .map((c) => `(extract(epoch FROM ${c}) * 1000)::float8 AS ${c}`)
    .join(', ')}, version, seq`;

export interface PaymentRow {
  payment_id: string;
  organization_id: string;
  user_id: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  description: string | null;
  metadata: Record<string, string>;
  refunded_amount: number;
  error: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  failed_at: number | null;
  refunded_at: number | null;
  version: number;
  seq: number;
}

const iso = (ms: number): string => new Date(Math.round(ms)).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
const msOf = (time: string): number => timeMs(time);
const msOrNull = (time: string | null): number | null => (time === null ? null : timeMs(time));

/** A stored payment from its row: one literal in createPayment()'s field order (one hidden class). */
export function paymentFromRow(r: PaymentRow): Payment {
  return Object.freeze({
    paymentId: r.payment_id,
    organizationId: r.organization_id,
    userId: r.user_id,
    amount: r.amount,
    currency: r.currency,
    status: r.status,
    description: r.description,
    metadata: Object.freeze(r.metadata),
    refundedAmount: r.refunded_amount,
    error: r.error,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    completedAt: isoOrNull(r.completed_at),
    failedAt: isoOrNull(r.failed_at),
    refundedAt: isoOrNull(r.refunded_at),
    version: r.version,
  });
}

const ts = (param: string) => `to_timestamp(${param} / 1000.0)`;

/**
 * One INSERT for many new payments (arrays unnested in order, so sequence numbers follow
 * the order of the batch). Times travel as epoch milliseconds.
 */
export const INSERT_PAYMENTS = `
  INSERT INTO payments (payment_id, organization_id, user_id, amount, currency, status, description, metadata,
    refunded_amount, error, created_at, updated_at, completed_at, failed_at, refunded_at, version, seq)
  SELECT id, org, usr, amount, currency, status, description, metadata, refunded, error,
    ${ts('created')}, ${ts('updated')}, ${ts('completed')}, ${ts('failed')}, ${ts('refunded_at')}, version, nextval('payments_seq')
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
    $9::bigint[], $10::text[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], $15::float8[], $16::integer[])
    WITH ORDINALITY AS t(id, org, usr, amount, currency, status, description, metadata, refunded, error,
      created, updated, completed, failed, refunded_at, version, n)
  ORDER BY n
  ON CONFLICT (organization_id, payment_id) DO NOTHING`;

export function insertParams(payments: readonly Payment[]): unknown[] {
  return [
    payments.map((p) => p.paymentId),
    payments.map((p) => p.organizationId),
    payments.map((p) => p.userId),
    payments.map((p) => p.amount),
    payments.map((p) => p.currency),
    payments.map((p) => p.status),
    payments.map((p) => p.description),
    payments.map((p) => JSON.stringify(p.metadata)),
    payments.map((p) => p.refundedAmount),
    payments.map((p) => p.error),
    payments.map((p) => msOf(p.createdAt)),
    payments.map((p) => msOf(p.updatedAt)),
    payments.map((p) => msOrNull(p.completedAt)),
    payments.map((p) => msOrNull(p.failedAt)),
    payments.map((p) => msOrNull(p.refundedAt)),
    payments.map((p) => p.version),
  ];
}

/** One UPDATE for many lifecycle changes: the fields the state machine may change, and seq. */
export const UPDATE_PAYMENTS = `
  UPDATE payments AS p SET status = t.status, refunded_amount = t.refunded, error = t.error,
    updated_at = ${ts('t.updated')}, completed_at = ${ts('t.completed')}, failed_at = ${ts('t.failed')},
    refunded_at = ${ts('t.refunded_at')}, version = t.version, seq = nextval('payments_seq')
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::float8[], $6::float8[], $7::float8[],
    $8::float8[], $9::integer[], $10::text[]) AS t(id, status, refunded, error, updated, completed, failed, refunded_at, version, org)
  WHERE p.organization_id = t.org AND p.payment_id = t.id`;

export function updateParams(payments: readonly Payment[]): unknown[] {
  return [
    payments.map((p) => p.paymentId),
    payments.map((p) => p.status),
    payments.map((p) => p.refundedAmount),
    payments.map((p) => p.error),
    payments.map((p) => msOf(p.updatedAt)),
    payments.map((p) => msOrNull(p.completedAt)),
    payments.map((p) => msOrNull(p.failedAt)),
    payments.map((p) => msOrNull(p.refundedAt)),
    payments.map((p) => p.version),
    payments.map((p) => p.organizationId),
  ];
}
