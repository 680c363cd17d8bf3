import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule, EventBus, EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { ClassEventIds } from './event-ids';

class Paid {
  constructor(readonly id: string) {}
}
class Failed {
  constructor(readonly id: string) {}
}
/** Same name as Paid, another class: must not share its id. */
const Shadow = (() => {
  class Paid {
    constructor(readonly id: string) {}
  }
  return Paid;
})();

const seen: string[] = [];

@EventsHandler(Paid, Failed)
class Recorder implements IEventHandler<Paid | Failed> {
  handle(event: Paid | Failed): void {
    seen.push(`${event.constructor === Paid ? 'paid' : 'failed'}:${event.id}`);
  }
}

@Module({ imports: [CqrsModule.forRoot({ eventIdProvider: new ClassEventIds() })], providers: [Recorder] })
class EventsModule {}

describe('ClassEventIds', () => {
  it('gives one stable id per class, distinct between classes of the same name', () => {
    const ids = new ClassEventIds();

    expect(ids.getEventId(Paid)).toBe(ids.getEventId(Paid));
    expect(ids.getEventId(Paid)).not.toBe(ids.getEventId(Failed));
    expect(ids.getEventId(Paid)).not.toBe(ids.getEventId(Shadow));
  });

  it('routes each event to the handlers of its class through the EventBus', async () => {
    const app = await NestFactory.createApplicationContext(EventsModule, { logger: false });
    const bus = app.get(EventBus);
    seen.length = 0;

    bus.publish(new Paid('a'));
    bus.publish(new Shadow('ignored'));
    bus.publish(new Failed('b'));
    await new Promise((r) => setImmediate(r));

    expect(seen).toEqual(['paid:a', 'failed:b']);
    await app.close();
  });
});
