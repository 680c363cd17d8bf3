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
