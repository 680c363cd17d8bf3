import { BadRequestException } from '@nestjs/common';
import { AppError } from './errors';
import { sendProblem, toProblem } from './problem.filter';

/** An error as Fastify's plugins raise them: a plain Error with a statusCode (http-errors' shape too). */
function pluginError(message: string, statusCode: number): Error {
  return Object.assign(new Error(message), { statusCode, status: statusCode });
}

describe('toProblem', () => {
  it('keeps an AppError\'s code, detail and headers', () => {
    const problem = toProblem(new AppError('RATE_LIMITED', 'slow down', undefined, { 'Retry-After': '3' }), '/payments');

    expect(problem).toEqual({
      type: '/problems/rate-limited',
      title: 'Too many requests',
      status: 429,
      detail: 'slow down',
      code: 'RATE_LIMITED',
      instance: '/payments',
      headers: { 'Retry-After': '3' },
    });
  });

  it('answers a plugin\'s 403 or 404 (the file server of /docs refusing a path) with 404, without its message', () => {
    for (const status of [403, 404]) {
      const problem = toProblem(pluginError('Forbidden: /srv/app/node_modules/x', status));

      expect(problem).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', detail: 'No file or route at this path' });
      expect(problem.detail).not.toContain('node_modules');
    }
  });

  it('answers a plugin\'s other 4xx with its status\'s code (400 BAD_REQUEST unless the catalogue has one)', () => {
    expect(toProblem(pluginError('Bad Request', 400))).toMatchObject({ status: 400, code: 'BAD_REQUEST', detail: 'The request path is not valid' });
    expect(toProblem(pluginError('Unsupported', 415))).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(toProblem(pluginError('Teapot', 418))).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });

  it('keeps every other error a 500 whose detail says nothing of it', () => {
    for (const error of [new Error('secret path /etc/x'), pluginError('upstream', 502), Object.assign(new Error('x'), { statusCode: '400' }), { statusCode: 400 }]) {
      expect(toProblem(error)).toMatchObject({ status: 500, code: 'INTERNAL_ERROR', detail: 'An unexpected error occurred; it has been logged' });
    }
  });

  it('maps Nest\'s HttpExceptions by status', () => {
    expect(toProblem(new BadRequestException('bad'))).toMatchObject({ status: 400, code: 'BAD_REQUEST', detail: 'bad' });
  });
});

describe('sendProblem', () => {
  it('counts the answer by its code on the reply\'s server, and sends it as problem+json with its headers', () => {
    const counted: string[] = [];
    const sent: Record<string, unknown> = { headers: {} };
    const reply = {
      server: { countProblem: (code: string) => counted.push(code) },
      headers: (h: Record<string, string>) => Object.assign(sent.headers as object, h) && reply,
      header: (name: string, value: string) => Object.assign(sent.headers as object, { [name]: value }) && reply,
      status: (status: number) => (sent.status = status) && reply,
      send: (body: unknown) => (sent.body = body) && reply,
    };

    sendProblem(reply as never, toProblem(new AppError('OVERLOADED', 'busy', undefined, { 'Retry-After': '5' })));

    expect(counted).toEqual(['OVERLOADED']);
    expect(sent).toEqual({
      status: 503,
      headers: { 'Retry-After': '5', 'content-type': 'application/problem+json; charset=utf-8' },
      body: expect.objectContaining({ code: 'OVERLOADED', status: 503, detail: 'busy' }),
    });
    expect(sent.body).not.toHaveProperty('headers');
  });
});
