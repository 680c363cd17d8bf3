// The live stats stream: GET /payments/stats/stream with the page's filters, read with fetch()
// so that the bearer token is sent. Reconnects with exponential backoff (1 s doubling to 30 s,
// with jitter) whenever the stream ends or fails, except where retrying cannot help.

import { ApiError, isAbort, request } from './api.js';
import { readEventStream } from './sse.js';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

export class LiveStats {
  #handlers;
  #params;
  #controller;
  #timer;
  #failures = 0;

  /**
   * handlers.onStats(stats): each `stats` event's document.
   * handlers.onState(state, detail): 'connecting' | 'live' | 'retrying' (detail: delay in ms) | 'off'.
   * handlers.onFailure(error): the stream failed or ended (error undefined when the server
   * ended it); return true to reconnect after the backoff, false to stay off.
   */
  constructor(handlers) {
    this.#handlers = handlers;
  }

  start(params) {
    this.stop();
    this.#params = params;
    this.#failures = 0;
    void this.#connect();
  }

  stop() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller?.abort();
    this.#controller = undefined;
    this.#handlers.onState('off');
  }

  async #connect() {
    const controller = new AbortController();
    this.#controller = controller;
    this.#handlers.onState('connecting');
    let failure;
    try {
      const response = await request('payments/stats/stream', this.#params, {
        signal: controller.signal,
        accept: 'text/event-stream',
      });
      if (!/^text\/event-stream\b/.test(response.headers.get('content-type') ?? '')) {
        throw new ApiError('protocol', response.status, 'The service does not offer live updates.');
      }
      this.#handlers.onState('live');
      await readEventStream(response.body, (message) => {
        if (message.event !== 'stats' || controller.signal.aborted) return;
        let stats;
        try {
          stats = JSON.parse(message.data);
        } catch {
          return; // a damaged event: the next one carries the whole document again
        }
        this.#failures = 0;
        this.#handlers.onStats(stats);
      });
    } catch (error) {
      if (controller.signal.aborted || isAbort(error)) return;
      failure = error;
    }
    if (controller.signal.aborted) return;
    if (!this.#handlers.onFailure(failure)) {
      this.#handlers.onState('off');
      return;
    }
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.#failures) * (0.75 + Math.random() * 0.5);
    this.#failures += 1;
    this.#handlers.onState('retrying', delay);
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}
