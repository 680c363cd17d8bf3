// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, so the
// dashboard reads the text/event-stream body itself. Follows the HTML standard's parsing
// rules for the fields it uses (event, data; comments such as ": ping" are skipped).

/**
 * A push parser: feed it decoded text in chunks of any size; it calls onMessage({ event, data })
 * for every complete message (a blank line ends one). A line ending split across two chunks
 * (\r at the end of one, \n at the start of the next) counts once.
 */
export function createSseParser(onMessage) {
  let buffer = '';
  let eventType = '';
  let data = [];

  function processLine(line) {
    if (line === '') {
      if (data.length > 0) onMessage({ event: eventType || 'message', data: data.join('\n') });
      eventType = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return; // a comment: keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') eventType = value;
    else if (field === 'data') data.push(value);
    // id and retry are not used: the dashboard reconnects with its own backoff
  }

  return {
    push(text) {
      buffer += text;
      const lineEnd = /\r\n|\r|\n/g;
      let start = 0;
      let match;
      while ((match = lineEnd.exec(buffer)) !== null) {
        if (match[0] === '\r' && match.index === buffer.length - 1) break; // maybe the first half of \r\n
        processLine(buffer.slice(start, match.index));
        start = lineEnd.lastIndex;
      }
      buffer = buffer.slice(start);
    },
  };
}

/** Reads a fetch() response body as an event stream until the server ends it. */
export async function readEventStream(body, onMessage) {
  const parser = createSseParser(onMessage);
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}
