import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { Injectable } from '@nestjs/common';

export interface DashboardAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** public/dashboard: two levels up from both src/dashboard (ts-node, jest) and dist/dashboard (the build). */
export const DASHBOARD_DIR = join(__dirname, '..', '..', 'public', 'dashboard');

/** The chart library, served by the service itself from node_modules (no CDN: many users have no internet). */
export const CHART_LIBRARY = 'chart.umd.min.js';
const CHART_LIBRARY_PATH = join(dirname(require.resolve('chart.js')), CHART_LIBRARY);

/**
 * The dashboard's files, read once at boot and held in memory (about 250 KB, most of it the
 * chart library). Only these names are ever served: a request names an entry of this map,
 * never a path, so nothing outside public/dashboard can be reached. A missing file stops the
 * boot, so that a build or image without public/ fails its health check instead of serving a
 * broken page.
 */
@Injectable()
export class DashboardAssets {
  readonly #assets = new Map<string, DashboardAsset>();

  constructor() {
    for (const name of readdirSync(DASHBOARD_DIR)) {
      if (CONTENT_TYPES[extname(name)] !== undefined) this.#add(name, join(DASHBOARD_DIR, name));
    }
    this.#add(CHART_LIBRARY, CHART_LIBRARY_PATH);
    if (!this.#assets.has('index.html')) throw new Error(`The dashboard page is missing: ${join(DASHBOARD_DIR, 'index.html')}`);
  }

  get(name: string): DashboardAsset | undefined {
    return this.#assets.get(name);
  }

  #add(name: string, path: string): void {
    const body = readFileSync(path);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    this.#assets.set(name, { body, contentType: CONTENT_TYPES[extname(name)], etag });
  }
}
