/** The crash check's model of each payment: what was acknowledged, what is in flight, and how it is keyed. */
import type { Payment } from '../e2e-helpers';
import type { Body, Expected } from './expectations';

/** A request in flight at the kill, or several of one race. */
type InFlight =
  | { kind: 'create' } // the create of a payment never acknowledged
  | { kind: 'inert'; what: string } // a replay, a conflict, a refusal: may change nothing
  | { kind: 'event'; eventId?: string; body: Body; expected: Expected }
  | { kind: 'race'; base: Payment; x: number; eventIds: string[]; occurredAt: string; applied: number; unknown: number };

export interface Tracked {
  /** paymentId; the payment is (org, id). */
  id: string;
  org: string;
  /** keyOf(org, id): its key in Load.payments. */
  key: string;
  /** id@org, in reports. */
  name: string;
  /** The create body (the valid one; a 409 re-create differs from it). */
  body: Body;
  /** The latest state acknowledged (or verified after a restart): certain while no request is in flight. */
  known?: Payment;
  busy: boolean;
  /** A request on it got no answer this round: no more requests until verified. */
  inFlight?: InFlight;
  /** Event ids applied to it, with their bodies (redelivered later: must change nothing). */
  applied: { eventId: string; body: Body }[];
  /** Every event id ever sent for it (a new event never reuses one by accident). */
  sentEventIds: Set<string>;
}

export interface RoundStats {
  round: number;
  acknowledged: number;
  refused: number;
  unknown: number;
  refusedByStatus: Record<string, number>;
  /** The kill came as the round's killAfterWrites-th write was answered. */
  killAfterWrites: number;
  /** How long the load had run then (shown, never judged: it is how fast the machine is). */
  killedAtMs: number;
  inFlightAtKill: number;
  checked: number;
  lost: number;
}

/** A payment's identity: paymentIds are unique per organization. */
export const keyOf = (organizationId: string, paymentId: string) => `${organizationId}\u0000${paymentId}`;
export const eventKey = (organizationId: string, paymentId: string, eventId: string) => `${organizationId}\u0000${paymentId}\u0000${eventId}`;
export const nameOf = (organizationId: string, paymentId: string) => `${paymentId}@${organizationId}`;
/** The URL of one payment of one organization (GET, or its events with suffix '/events'). */
export const paymentPath = (organizationId: string, paymentId: string, suffix = '') =>
  `/payments/${encodeURIComponent(paymentId)}${suffix}?organizationId=${encodeURIComponent(organizationId)}`;
export const track = (organizationId: string, id: string, body: Body): Tracked => ({
  id,
  org: organizationId,
  key: keyOf(organizationId, id),
  name: nameOf(organizationId, id),
  body,
  busy: true,
  applied: [],
  sentEventIds: new Set(),
});
