import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { DashboardAssets } from './dashboard.assets';
import { DashboardController } from './dashboard.controller';

/** The live dashboard page (public/dashboard) and the chart library it uses. */
@Module({
  controllers: [DashboardController],
  providers: [DashboardAssets],
})
export class DashboardModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /**
   * /dashboard/ redirects to /dashboard (query kept): the page names its files relatively
   * (dashboard/app.js, so that it works under a path prefix), and from /dashboard/ they would
   * resolve one level too deep. A Fastify route: Nest maps /dashboard/ and /dashboard alike.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.get('/dashboard/', (request, reply) => {
      const at = request.url.indexOf('?');
      void reply.redirect(`../dashboard${at < 0 ? '' : request.url.slice(at)}`, 301);
    });
  }
}
