import secureJson from 'secure-json-parse';
import { AppError, RequestValidationError } from './errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a request body as strict JSON for this API. Beyond JSON.parse it refuses, with a 400:
 * bytes that are not UTF-8; nesting deeper than `maxDepth`; `__proto__` and
 * `constructor.prototype` keys (never honoured as prototypes); and numbers that cannot be an
 * exact integer amount as written: exponents (`1e3`), negative zero and integers past 2^53,
 * which JSON.parse would silently round; and, in any string, the NUL character (\u0000) or a
 * lone UTF-16 surrogate (text that PostgreSQL cannot store as it was sent). Fractions are left to the validator, which names
 * the field. O(body length), one pass before JSON.parse.
 */
export function parseJsonBody(body: Buffer, maxDepth: number): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new AppError('MALFORMED_JSON', 'The body is not valid UTF-8');
  }
  if (text.trim() === '') throw new AppError('MALFORMED_JSON', 'The body is empty');
  const problem = scan(text, maxDepth);
  try {
    const value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    if (problem) throw problem;
    return value;
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('MALFORMED_JSON', `The body is not valid JSON: ${(e as Error).message}`);
  }
}

/** Finds the first depth or number problem outside strings; undefined when there is none. */
function scan(text: string, maxDepth: number): AppError | undefined {
  let depth = 0;
  let lastString = '';
  let key = 'body';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      let bad: string | undefined;
      let expectLow = false;
      for (i = start; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) !== 0x5c) {
          if (expectLow) bad = 'an unpaired surrogate (\\ud800-\\udfff)';
          expectLow = false;
          continue;
        }
        const unit = text.charCodeAt(i + 1) === 0x75 /* u */ ? parseInt(text.slice(i + 2, i + 6), 16) : -1;
        const low = unit >= 0xdc00 && unit <= 0xdfff;
        if (unit === 0) bad = 'the NUL character (\\u0000)';
        else if (expectLow !== low) bad = 'an unpaired surrogate (\\ud800-\\udfff)';
        expectLow = unit >= 0xd800 && unit <= 0xdbff;
        i += unit >= 0 ? 5 : 1;
      }
      if (expectLow) bad = 'an unpaired surrogate (\\ud800-\\udfff)';
      lastString = text.slice(start, i);
      // Text must be storable as sent: PostgreSQL text and jsonb hold neither U+0000 nor a
      // lone UTF-16 surrogate (which UTF-8 cannot encode: it would be stored as U+FFFD).
      if (bad !== undefined) {
        const isKey = /^\s*:/.test(text.slice(i + 1, i + 64));
        const field = isKey ? 'body' : key;
        return RequestValidationError.field(field, `${isKey ? 'keys' : field} must not contain ${bad}`);
      }
    } else if (c === 0x3a /* : */) {
      key = lastString;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return new AppError('MALFORMED_JSON', `The body nests deeper than ${maxDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      while (i + 1 < text.length && /[0-9eE+\-.]/.test(text[i + 1])) i++;
      const token = text.slice(start, i + 1);
      if (/[eE]/.test(token)) return RequestValidationError.field(key, `${key} must be written as a plain integer, not ${token}`);
      if (/^-0(\.0*)?$/.test(token)) return RequestValidationError.field(key, `${key} must not be negative zero`);
      if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        return RequestValidationError.field(key, `${key} is past 2^53 - 1 and cannot be represented exactly`);
      }
    }
  }
  return undefined;
}
