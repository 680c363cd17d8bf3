import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath, OpenAPIObject, ResponseObject } from '@nestjs/swagger';
import { ERROR_CATALOGUE, ErrorCode } from './errors';
import { ProblemResponse } from './payments/payment.responses';

/** The codes per HTTP status, in the order given. */
function byStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const statuses = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CATALOGUE[code].status;
    statuses.set(status, [...(statuses.get(status) ?? []), code]);
  }
  return statuses;
}

function titles(codes: readonly ErrorCode[]): string {
  return codes.map((c) => `${c}: ${ERROR_CATALOGUE[c].title}`).join('; ');
}

function problemContent() {
  return { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemResponse) } } };
}

/** Declares the problem+json answers a route can give, with the catalogue codes behind each. */
export function ApiProblems(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemResponse),
    ...[...byStatus(codes)].map(([status, list]) => ApiResponse({ status, description: titles(list), content: problemContent() })),
  );
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * Adds problem answers that do not come from a route's own code but from a hook or the router
 * (which run before any route) to every operation whose path `applies` to, beside what its
 * decorators declare: a status it already declares gets these codes added to its description.
 */
export function declareProblems(document: OpenAPIObject, codes: readonly ErrorCode[], applies: (path: string) => boolean = () => true): void {
  const schemas = document.components?.schemas ?? {};
  if (!(ProblemResponse.name in schemas)) throw new Error(`The OpenAPI document has no ${ProblemResponse.name} schema to refer to`);
  for (const [path, pathItem] of Object.entries(document.paths)) {
    if (!applies(path)) continue;
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (operation === undefined) continue;
      for (const [status, list] of byStatus(codes)) {
        const existing = operation.responses[status] as ResponseObject | undefined;
        if (existing === undefined) {
          operation.responses[status] = { description: titles(list), content: problemContent() };
          continue;
        }
        const added = list.filter((code) => !existing.description.includes(`${code}:`));
        if (added.length > 0) operation.responses[status] = { ...existing, description: `${existing.description}; ${titles(added)}` };
      }
    }
  }
}
