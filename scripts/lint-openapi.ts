/**
 * Lints the OpenAPI document exactly as the service serves it: builds the app in memory mode
 * with the project's own createApp(loadConfig(...)), reads GET /docs/json through app.inject,
 * writes it to a temporary file (pretty-printed, so that redocly's line:col point somewhere
 * readable) and runs `redocly lint --format=stylish` on it with redocly.yaml (the recommended
 * ruleset). Exits 0 only with no error and no warning; 1 when redocly reports any problem;
 * 2 when the document could not be fetched or redocly not run.
 *
 *   npm run lint:openapi
 *
 * Redocly is told to send no telemetry and to check for no update (REDOCLY_TELEMETRY=off,
 * REDOCLY_SUPPRESS_UPDATE_NOTICE=true; redocly.yaml also says `telemetry: off`). Its Node 20
 * deprecation banner cannot be switched off: it is dropped from the output here.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../src/app.setup';
import { loadConfig } from '../src/config';

const ROOT = resolve(__dirname, '..');
const REDOCLY = join(ROOT, 'node_modules', '.bin', 'redocly');

async function servedDocument(): Promise<string> {
  // Memory mode and default settings whatever this shell's environment says (a DATABASE_URL
  // would switch to PostgreSQL): the document does not depend on them.
  const app = await createApp(loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' }));
  try {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    if (res.statusCode !== 200) throw new Error(`GET /docs/json answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
    return JSON.stringify(JSON.parse(res.body), null, 2) + '\n';
  } finally {
    await app.close();
  }
}

/** Redocly's boxed "Node.js 20 support is ending" notice, printed on every run under Node 20. */
function withoutNodeBanner(text: string): string {
  return text.replace(/[^\n]*╔[\s\S]*?╚[^\n]*\n*/g, (box) => (box.includes('Node.js 20') ? '' : box));
}

/** Runs a command; its stdout and stderr are returned as one text, in the order they came. */
function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, output }));
  });
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'payments-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, await servedDocument());
    const result = await run(REDOCLY, ['lint', file, '--format=stylish', `--config=${join(ROOT, 'redocly.yaml')}`]);
    const { code } = result;
    const output = withoutNodeBanner(result.output);
    process.stdout.write(output);
    // redocly exits 1 on errors only; a warning fails this lint too. Stylish problem lines
    // are `  line:col  error|warning  rule  message`; the summary says "You have N warnings".
    const problems = output.match(/^\s+\d+:\d+\s+(error|warning)\s/gm)?.length ?? 0;
    const warned = /You have \d+ warnings?/.test(output);
    if (code !== 0 || problems > 0 || warned) {
      process.stderr.write(`lint:openapi: failed (redocly exit code ${code}, ${problems} problem line(s)): 0 errors and 0 warnings are required\n`);
      return 1;
    }
    process.stdout.write('lint:openapi: GET /docs/json passes redocly\'s recommended ruleset with 0 errors and 0 warnings\n');
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lint:openapi: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
