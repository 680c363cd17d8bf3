import { maxHeaderSize } from 'node:http';
import { AppError } from '../errors';
import { clientErrorProblem, clientErrorResponse } from './client-error';

describe('clientErrorProblem', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'HEADERS_TOO_LARGE', String(maxHeaderSize)],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'REQUEST_TIMEOUT', '30 s'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413, 'PAYLOAD_TOO_LARGE', 'chunk extensions'],
    ['HPE_INVALID_TRANSFER_ENCODING', 400, 'BAD_REQUEST', 'Transfer-Encoding'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 400, 'BAD_REQUEST', 'Content-Length'],
    ['HPE_INVALID_CONTENT_LENGTH', 400, 'BAD_REQUEST', 'Content-Length'],
    ['HPE_INVALID_HEADER_TOKEN', 400, 'BAD_REQUEST', 'header'],
    ['HPE_INVALID_METHOD', 400, 'BAD_REQUEST', 'request line'],
    ['HPE_INVALID_VERSION', 400, 'BAD_REQUEST', 'request line'],
    ['HPE_SOMETHING_NEW', 400, 'BAD_REQUEST', 'HTTP/1.1'],
    [undefined, 400, 'BAD_REQUEST', 'HTTP/1.1'],
  ])('maps the parser error %s to %i %s, naming %s', (code, status, problemCode, named) => {
    const problem = clientErrorProblem({ code }, 30_000);

    expect(problem).toMatchObject({ status, code: problemCode });
    expect(problem.detail).toContain(named);
  });
});

describe('clientErrorResponse', () => {
  it('is a whole HTTP/1.1 answer: status line, problem+json, its length in bytes, the given headers, then close', () => {
    const raw = clientErrorResponse(new AppError('BAD_REQUEST', 'Content-Length must be sent once — not twice'), { 'x-content-type-options': 'nosniff' });
    const [head, body] = raw.split('\r\n\r\n');

    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 400 Bad Request',
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      'x-content-type-options: nosniff',
    ]);
    expect(Buffer.byteLength(body)).toBeGreaterThan(body.length); // the dash is 3 bytes in UTF-8
    expect(JSON.parse(body)).toEqual({
      type: '/problems/bad-request',
      title: 'Bad request',
      status: 400,
      detail: 'Content-Length must be sent once — not twice',
      code: 'BAD_REQUEST',
    });
  });
});
