import { Payment } from './payment';

/** Published on the EventBus after a write is stored, for whatever reacts (metrics, feeds). */
export class PaymentCreated {
  constructor(readonly payment: Payment) {}
}
export class PaymentProcessed {
  constructor(readonly payment: Payment) {}
}
export class PaymentFailed {
  constructor(readonly payment: Payment) {}
}
export class PaymentRefunded {
  constructor(
    readonly payment: Payment,
    readonly refundAmount: number,
  ) {}
}

/**
 * PostgreSQL mode: a payment written by another instance, applied here through the change
 * feed (the writing instance published its own event; this one only learns the new state).
 */
export class PaymentSynced {
  constructor(readonly payment: Payment) {}
}
