import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors';
import { DashboardAssets } from './dashboard.assets';

/**
 * Stricter than the service-wide helmet policy, for the dashboard only: its scripts and styles
 * are files of this origin (no inline code, no inline style attributes), it talks to this
 * origin only, and no other site may frame it.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET /dashboard: the live dashboard page; GET /dashboard/<file>: its scripts, styles and the
 * chart library. Public like /docs: the page holds no data, and the API calls it makes carry
 * the user's token.
 */
@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly assets: DashboardAssets) {}

  @Get()
  page(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    this.#send(request, reply, 'index.html');
  }

  @Get(':file')
  file(@Param('file') file: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    this.#send(request, reply, file);
  }

  #send(request: FastifyRequest, reply: FastifyReply, name: string): void {
    const asset = this.assets.get(name);
    if (asset === undefined) throw new AppError('ROUTE_NOT_FOUND', `No dashboard file named '${name.slice(0, 100)}'`);
    void reply
      .header('content-security-policy', DASHBOARD_CSP)
      .header('cache-control', 'no-cache') // revalidated on every load: a new release is seen at once
      .header('etag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) {
      void reply.status(304).send();
      return;
    }
    void reply.type(asset.contentType).send(asset.body);
  }
}
