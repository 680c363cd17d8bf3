/**
 * Validates the AsyncAPI document exactly as the service serves it: builds the app in memory
 * mode with the project's own createApp(loadConfig(...)), reads GET /docs/asyncapi.json through
 * app.inject and validates it with @asyncapi/parser (the AsyncAPI 3.0 JSON Schema, the schemas
 * of the messages, references, and the parser's recommended rules). Prints every diagnostic;
 * exits 0 when none is an error (warnings and hints are shown, not failed on), 1 when one is, 2
 * when the document could not be fetched or the parser not run.
 *
 *   npm run lint:asyncapi
 */
import 'reflect-metadata';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { createApp } from '../src/app.setup';
import { loadConfig } from '../src/config';
import { ASYNCAPI_PATH } from '../src/messaging/asyncapi';

async function servedDocument(): Promise<string> {
  // Memory mode and default settings whatever this shell's environment says (a DATABASE_URL
  // would switch to PostgreSQL, a BROKER_URL would connect): the document does not depend on them.
  const app = await createApp(loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' }));
  try {
    const res = await app.inject({ method: 'GET', url: ASYNCAPI_PATH });
    if (res.statusCode !== 200) throw new Error(`GET ${ASYNCAPI_PATH} answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
    return JSON.stringify(JSON.parse(res.body), null, 2) + '\n';
  } finally {
    await app.close();
  }
}

const SEVERITY: Record<number, string> = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

async function main(): Promise<number> {
  const source = await servedDocument();
  const diagnostics = await new Parser().validate(source, { source: ASYNCAPI_PATH });
  for (const d of diagnostics) {
    const where = d.path.length > 0 ? d.path.join('.') : '(document)';
    process.stdout.write(`${SEVERITY[d.severity] ?? d.severity}  ${d.code}  ${where}  ${d.message}\n`);
  }
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
  if (errors > 0) {
    process.stderr.write(`lint:asyncapi: failed: ${errors} error(s) in GET ${ASYNCAPI_PATH} (0 are required)\n`);
    return 1;
  }
  const document = JSON.parse(source) as { asyncapi: string; channels: object; operations: object; components: { messages: object } };
  process.stdout.write(
    `lint:asyncapi: GET ${ASYNCAPI_PATH} is a valid AsyncAPI ${document.asyncapi} document (${Object.keys(document.channels).length} channels, ` +
      `${Object.keys(document.operations).length} operations, ${Object.keys(document.components.messages).length} messages; ` +
      `${diagnostics.length} non-error diagnostic(s))\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`lint:asyncapi: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
