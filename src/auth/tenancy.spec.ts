import type { FastifyRequest } from 'fastify';
import { OrganizationForbiddenError } from '../errors';
import { Caller } from './caller';
import { actingOrganization, administeredOrganization, applyTenancy } from './tenancy';

const caller = (org: string, ...scopes: string[]): Caller => ({ org, scopes: new Set(scopes) });
const requestWith = (body: unknown, query: Record<string, unknown> = {}) =>
  ({ body, query, refusedItems: null }) as unknown as FastifyRequest;

describe('the tenancy rule', () => {
  it("acts for the token's organization when the request names it or none", () => {
    expect(actingOrganization(caller('a'), 'a')).toBe('a');
    expect(actingOrganization(caller('a'), undefined)).toBe('a');
  });

  it.each([['b'], [''], [42], [null], [['a']]])('refuses %p, which is not the token’s organization, with ORGANIZATION_FORBIDDEN', (named) => {
    expect(() => actingOrganization(caller('a'), named)).toThrow(OrganizationForbiddenError);
  });

  it("lets the operator name any organization on admin routes, and holds an organization's admin to its own", () => {
    expect(administeredOrganization(caller('p', 'operator'), 'b')).toBe('b');
    expect(administeredOrganization(caller('p', 'operator'), undefined)).toBeUndefined();
    expect(administeredOrganization(caller('a', 'admin'), undefined)).toBe('a');
    expect(() => administeredOrganization(caller('a', 'admin'), 'b')).toThrow(OrganizationForbiddenError);
  });
});

describe('applyTenancy', () => {
  it("fills an omitted organizationId of a body and of a query with the token's", () => {
    const request = requestWith({ amount: 1 }, {});

    applyTenancy(request, caller('a'));

    expect(request.body).toEqual({ amount: 1, organizationId: 'a' });
    expect(request.query).toEqual({ organizationId: 'a' });
  });

  it('refuses a body or a query naming another organization before anything else runs', () => {
    expect(() => applyTenancy(requestWith({ organizationId: 'b' }), caller('a'))).toThrow(OrganizationForbiddenError);
    expect(() => applyTenancy(requestWith(undefined, { organizationId: 'b' }), caller('a'))).toThrow(OrganizationForbiddenError);
  });

  it('sets aside the bulk items naming another organization, by index, and scopes the others', () => {
    const items: unknown[] = [{ organizationId: 'b', amount: -1 }, { amount: 1 }, 42, { organizationId: 'a' }, { organizationId: 'c' }];
    const request = requestWith({ payments: items });

    applyTenancy(request, caller('a'));

    expect([...(request.refusedItems ?? new Map()).keys()]).toEqual([0, 4]);
    expect(request.refusedItems?.get(0)).toBeInstanceOf(OrganizationForbiddenError);
    expect(items.slice(1, 4)).toEqual([{ amount: 1, organizationId: 'a' }, 42, { organizationId: 'a' }]);
  });

  it('refuses no item when every one is the caller’s', () => {
    const request = requestWith({ payments: [{ organizationId: 'a' }, {}] });

    applyTenancy(request, caller('a'));

    expect(request.refusedItems).toBeNull();
  });
});
