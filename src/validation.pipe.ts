import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, ValidateBy, ValidationError, ValidationOptions, validateSync } from 'class-validator';
import { FieldError, RequestValidationError } from './errors';

/** A DTO may add checks that span several fields; they run once every field is valid. */
export interface CrossFieldChecks {
  crossFieldErrors(): FieldError[];
}

type Dto<T> = new () => T;

/**
 * Optional statics of a DTO class: `nested` names properties holding another DTO (checked for
 * unknown keys too); `opaque` names free-form properties (e.g. metadata) that are validated as
 * they are, never run through class-transformer, which would drop or choke on keys such as
 * `toString` or `constructor`.
 */
export interface DtoStatics {
  nested?: Record<string, Dto<object>>;
  opaque?: readonly string[];
  /**
   * A fast path for valid values: the instance validateDto would return, or undefined to let
   * the decorators decide (and name every bad field). It may refuse a valid value, never accept
   * one the decorators refuse; each one has a property test comparing it with them.
   */
  fast?: (value: Readonly<Record<string, unknown>>) => object | undefined;
  /**
   * Query parameters that take a list. A client may send one as a comma-separated text
   * (`status=completed,refunded`), as a repeated parameter (`status=completed&status=refunded`,
   * OpenAPI's default form style, what generated clients send), or as both: the parts are
   * joined into the comma-separated form before any check. Any other parameter given more
   * than once is an error.
   */
  lists?: readonly string[];
}

/** The query with every repeated list parameter joined into its comma-separated form. */
function joinLists(cls: Dto<object>, query: object): object {
  const lists = (cls as DtoStatics).lists;
  if (lists === undefined) return query;
  let joined: Record<string, unknown> | undefined;
  for (const key of lists) {
    const v = Object.prototype.hasOwnProperty.call(query, key) ? (query as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(v) && v.every((part) => typeof part === 'string')) {
      joined ??= { ...query };
      joined[key] = v.join(',');
    }
  }
  return joined ?? query;
}

const declaredCache = new WeakMap<object, Set<string>>();

/** The properties a DTO declares: those with at least one class-validator decorator. */
function declaredProperties(cls: Dto<object>): Set<string> {
  let names = declaredCache.get(cls);
  if (names === undefined) {
    names = new Set(getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false).map((m) => m.propertyName));
    declaredCache.set(cls, names);
  }
  return names;
}

/** A value kept away from class-transformer, put back on the instance at `path` afterwards. */
type RawValue = { path: string[]; value: unknown };

/**
 * A copy of `value` holding only what `cls` declares (own keys only, so `__proto__`,
 * `constructor` or `toString` are never looked up on a prototype), and an error for every
 * other key, nested DTOs included. Opaque properties, and objects or arrays found where a
 * scalar is declared, are set aside as `raw`: class-transformer would copy them key by key,
 * dropping or choking on keys such as `constructor`; the validator rejects them as they are.
 */
function knownPart(
  cls: Dto<object>,
  value: object,
  prefix: string[] = [],
): { known: Record<string, unknown>; errors: FieldError[]; raw: RawValue[] } {
  const declared = declaredProperties(cls);
  const { nested = {}, opaque = [] } = cls as DtoStatics;
  const known: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  const raw: RawValue[] = [];
  for (const key of Object.keys(value)) {
    const path = [...prefix, key];
    const v = (value as Record<string, unknown>)[key];
    if (!declared.has(key)) {
      errors.push({ field: path.join('.'), message: `${path.join('.')} is not an allowed property` });
    } else if (Object.prototype.hasOwnProperty.call(nested, key) && isPlainObject(v)) {
      const inner = knownPart(nested[key], v, path);
      known[key] = inner.known;
      errors.push(...inner.errors);
      raw.push(...inner.raw);
    } else if (opaque.includes(key) || (v !== null && typeof v === 'object')) {
      raw.push({ path, value: v });
    } else {
      known[key] = v;
    }
  }
  return { known, errors, raw };
}

function putBack(instance: object, { path, value }: RawValue): void {
  let target = instance as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(target[key])) return;
    target = target[key] as Record<string, unknown>;
  }
  target[path[path.length - 1]] = value;
}

function isPlainObject(v: unknown): v is object {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Turns an untrusted value into a validated DTO instance, or the list of every bad field.
 * Unknown properties are errors (a client can never set a server-owned field).
 */
export function validateDto<T extends object>(
  cls: Dto<T>,
  value: unknown,
  what: 'body' | 'query' = 'body',
): { ok: true; value: T } | { ok: false; errors: FieldError[] } {
  return validate(cls, value, what, true);
}

/** validateDto with the decorators only (no fast path): what every fast path is tested against. */
export function validateDtoWithDecorators<T extends object>(
  cls: Dto<T>,
  value: unknown,
  what: 'body' | 'query' = 'body',
): { ok: true; value: T } | { ok: false; errors: FieldError[] } {
  return validate(cls, value, what, false);
}

function validate<T extends object>(
  cls: Dto<T>,
  value: unknown,
  what: 'body' | 'query',
  fastPath: boolean,
): { ok: true; value: T } | { ok: false; errors: FieldError[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [{ field: what, message: `the ${what} must be a JSON object` }] };
  }
  const input = what === 'query' ? joinLists(cls, value) : value;
  // the class's own fast path only: one inherited from a parent DTO would miss the child's fields
  const fast = fastPath && Object.prototype.hasOwnProperty.call(cls, 'fast') ? (cls as DtoStatics).fast : undefined;
  if (fast !== undefined) {
    const instance = fast(input as Record<string, unknown>);
    const crossField = (instance as Partial<CrossFieldChecks> | undefined)?.crossFieldErrors;
    if (instance !== undefined && (typeof crossField !== 'function' || crossField.call(instance).length === 0)) {
      return { ok: true, value: instance as T };
    }
  }
  if (what === 'query') {
    const repeated = Object.entries(input).filter(([, v]) => Array.isArray(v));
    if (repeated.length > 0) {
      return { ok: false, errors: repeated.map(([k]) => ({ field: k, message: `${k} must be given at most once` })) };
    }
  }
  const { known, errors: unknown, raw } = knownPart(cls, input);
  const instance = plainToInstance(cls, known);
  for (const r of raw) putBack(instance, r);
  const errors = unknown.concat(
    flatten(
      validateSync(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
        validationError: { target: false, value: false },
      }),
    ),
  );
  if (errors.length === 0 && typeof (instance as Partial<CrossFieldChecks>).crossFieldErrors === 'function') {
    errors.push(...(instance as unknown as CrossFieldChecks).crossFieldErrors());
  }
  return errors.length === 0 ? { ok: true, value: instance } : { ok: false, errors };
}

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = prefix + e.property;
    const messages = Object.values(e.constraints ?? {});
    if (messages.length > 0) {
      out.push({ field, message: messages.join('; ').replace(/^property .* should not exist$/, `${field} is not an allowed property`) });
    }
    if (e.children?.length) out.push(...flatten(e.children, `${field}.`));
  }
  return out;
}

/** Validates every @Body() and @Query() whose type is a DTO class; errors become a 400 problem. */
@Injectable()
export class ProblemValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const cls = metadata.metatype;
    if ((metadata.type !== 'body' && metadata.type !== 'query') || !cls || isPrimitive(cls)) return value;
    const result = validateDto(cls as Dto<object>, value, metadata.type);
    if (!result.ok) throw new RequestValidationError(result.errors);
    return result.value;
  }
}

function isPrimitive(cls: unknown): boolean {
  return [String, Boolean, Number, Array, Object].includes(cls as never);
}

/** A field-level check with access to the whole object (for simple rules on one field). */
export function Satisfies(
  check: (value: unknown) => boolean,
  message: string,
  options?: ValidationOptions,
): PropertyDecorator {
  return ValidateBy({ name: 'satisfies', validator: { validate: (v) => check(v), defaultMessage: () => message } }, options);
}
