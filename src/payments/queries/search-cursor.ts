import { hash } from 'node:crypto';
import { RequestValidationError } from '../../errors';
import { SearchSort } from '../payment-query';

/**
 * Where the previous page ended: the last item's sort key and tie-breaker (keyset pagination;
 * the tie-breaker is paymentId then organizationId, see tieOf).
 */
export interface CursorPosition {
  key: string | number;
  tie: string;
  /** The 0-based index of the page this cursor opens. */
  page: number;
}

interface CursorBody {
  v: 1;
  /** Fingerprint of the filters and sort the cursor belongs to. */
  q: string;
  k: string | number;
  id: string;
  p: number;
}

export function queryFingerprint(canonicalFilter: string, sort: SearchSort): string {
  // one-shot hash (no Hash object per page): the same digest as createHash's
  return hash('sha256', `${canonicalFilter}|${sort}`, 'base64url').slice(0, 16);
}

/** An opaque cursor: base64url JSON. It names a position, never grants access to anything. */
export function encodeCursor(fingerprint: string, position: CursorPosition): string {
  const body: CursorBody = { v: 1, q: fingerprint, k: position.key, id: position.tie, p: position.page };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string, sort: SearchSort): CursorPosition {
  let body: Partial<CursorBody>;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw RequestValidationError.field('cursor', 'cursor is not a cursor this service issued');
  }
  const keyType = sort.endsWith('amount') ? 'number' : 'string';
  if (
    body === null ||
    typeof body !== 'object' ||
    body.v !== 1 ||
    typeof body.q !== 'string' ||
    typeof body.k !== keyType ||
    typeof body.id !== 'string' ||
    !Number.isSafeInteger(body.p) ||
    (body.p as number) < 1
  ) {
    throw RequestValidationError.field('cursor', 'cursor is not a cursor this service issued');
  }
  if (body.q !== fingerprint) {
    throw RequestValidationError.field('cursor', 'cursor belongs to other filters or another sort; repeat the filters and sort of the first page');
  }
  return { key: body.k as string | number, tie: body.id as string, page: body.p as number };
}
