import type { Type } from '@nestjs/common';
import type { EventIdProvider, IEvent } from '@nestjs/cqrs';

/**
 * The EventBus's ids of event classes: one per class, given the first time the bus asks. The
 * bus asks for the id of a published event's class once per handler subscription (each
 * handler filters the one event stream by id), and the default provider reads it from
 * reflect-metadata each time: with two handlers of four to five event types each, nine
 * metadata reads per published event. The bus asks this provider both when it registers a
 * handler and when it filters an event, so ids only have to be stable and distinct per class.
 */
export class ClassEventIds implements EventIdProvider {
  readonly #ids = new WeakMap<object, string>();
  #next = 0;

  getEventId(event: Type<IEvent>): string {
    let id = this.#ids.get(event);
    if (id === undefined) {
      id = `${event.name}#${this.#next++}`;
      this.#ids.set(event, id);
    }
    return id;
  }
}
