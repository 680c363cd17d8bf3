import { maxHeaderSize, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AppError, ErrorCode } from '../errors';
import { toProblem } from '../problem.filter';

/** What a parser error code means for the client: the catalogue code and a detail naming the part at fault. */
const PARSE_ERRORS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['HEADERS_TOO_LARGE', `The request line and headers are larger than the ${maxHeaderSize} bytes this server reads`],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: ['PAYLOAD_TOO_LARGE', 'The chunk extensions of the request body are too large'],
  HPE_INVALID_TRANSFER_ENCODING: [
    'BAD_REQUEST',
    'Transfer-Encoding is not valid: it must end in chunked, and Content-Length must not be sent with it',
  ],
  HPE_UNEXPECTED_CONTENT_LENGTH: ['BAD_REQUEST', 'Content-Length must be sent once, and not with Transfer-Encoding'],
  HPE_INVALID_CONTENT_LENGTH: ['BAD_REQUEST', 'Content-Length must be a whole number of bytes'],
  HPE_INVALID_HEADER_TOKEN: ['BAD_REQUEST', 'A header name or value holds a character HTTP does not allow, or a header line is folded'],
  HPE_INVALID_CHUNK_SIZE: ['BAD_REQUEST', 'The chunked request body is malformed (a chunk size is not hexadecimal)'],
};
for (const code of ['HPE_INVALID_METHOD', 'HPE_INVALID_URL', 'HPE_INVALID_VERSION', 'HPE_INVALID_CONSTANT', 'HPE_CR_EXPECTED', 'HPE_LF_EXPECTED']) {
  PARSE_ERRORS[code] = ['BAD_REQUEST', 'The request line must be "METHOD /path HTTP/1.1" ended by CRLF'];
}

/** The problem for a connection-level error, as problem.filter.ts builds every other one. */
export function clientErrorProblem(error: { code?: string }, requestTimeoutMs: number): AppError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new AppError('REQUEST_TIMEOUT', `The request was not received in full within ${requestTimeoutMs / 1000} s`);
  }
  const [code, detail] = PARSE_ERRORS[error.code ?? ''] ?? ['BAD_REQUEST', 'The request is not valid HTTP/1.1'];
  return new AppError(code, detail);
}

/** The raw HTTP/1.1 answer carrying a problem; the connection is closed after it. */
export function clientErrorResponse(error: AppError, headers: Readonly<Record<string, string>>): string {
  const { headers: ownHeaders, ...problem } = toProblem(error);
  const body = JSON.stringify(problem);
  const lines = Object.entries({ ...headers, ...ownHeaders }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
    `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${lines}\r\n${body}`
  );
}

/**
 * Fastify's `clientErrorHandler`: errors Node's HTTP parser raises before there is a request
 * (headers over 16 KiB, a malformed request line or header, both Content-Length and
 * Transfer-Encoding, a request not received within requestTimeout) are answered as
 * application/problem+json like every other error, instead of Fastify's own JSON. The
 * connection is closed after the answer: the parser cannot know where a next request would
 * start. An answer to an earlier request of the same connection that is still on its way is
 * let finish first (Node's own handler would write over it, or drop it). Logged at debug: the
 * client's fault, not the service's.
 */
export function answerClientError(
  logger: Logger,
  requestTimeoutMs: number,
  headers: Readonly<Record<string, string>>,
  /** Counts the answer's problem code (payments_http_problems_total), as sendProblem does for the others. */
  countProblem: (code: ErrorCode) => void = () => undefined,
): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    logger.debug({ err: { code: error.code, message: error.message } }, 'client error');
    const answer = () => {
      if (socket.writable) {
        const problem = clientErrorProblem(error, requestTimeoutMs);
        countProblem(problem.code);
        socket.write(clientErrorResponse(problem, headers));
      }
      socket.destroy();
    };
    // Node's own field for the response being written on this socket (its default handler reads it too)
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (inFlight && !inFlight.writableFinished) {
      inFlight.once('finish', answer).once('close', () => socket.destroy());
    } else {
      answer();
    }
  };
}
