/**
 * Projects: unit specs beside the code; the e2e contract over real HTTP in memory mode; the
 * same e2e suites again in PostgreSQL mode (a database of their own on the local server);
 * the PostgreSQL-only suites (faults, several instances); a client generated from the OpenAPI
 * document; and the dashboard in a browser.
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
};
// one database per test run on the local PostgreSQL, created before and dropped after
const postgres = { globalSetup: '<rootDir>/postgres-setup.ts', globalTeardown: '<rootDir>/postgres-teardown.ts' };
const common = { testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'], transform };

module.exports = {
  // A test's timeout guards against a hang, never against a slow machine: CI runs on two shared,
  // loaded cores, where the e2e and PostgreSQL suites take several times as long as alone.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '\\.spec\\.ts$' },
    { ...common, displayName: 'e2e', rootDir: 'test', testRegex: '\\.e2e-spec\\.ts$' },
    {
      ...common,
      displayName: 'e2e-pg',
      rootDir: 'test',
      testRegex: '\\.e2e-spec\\.ts$',
      // process.e2e-spec boots real processes with an environment of its own, which this
      // project's PostgreSQL mode does not reach: here it would run the same again. Real
      // processes on PostgreSQL are crash.pg-spec's and messaging-faults.pg-spec's
      testPathIgnorePatterns: ['/process\\.e2e-spec\\.ts$'],
      setupFiles: ['<rootDir>/postgres-mode.ts'],
      ...postgres,
    },
    { ...common, displayName: 'pg', rootDir: 'test', testRegex: '\\.pg-spec\\.ts$', ...postgres },
    // the README's walk-through through a client generated from /docs/json (types made by globalSetup)
    { ...common, displayName: 'client', rootDir: 'test', testRegex: '\\.client-spec\\.ts$', globalSetup: '<rootDir>/client/global-setup.ts' },
    // the dashboard in Debian's chromium (skipped without it, unless DASHBOARD_BROWSER_REQUIRED=1)
    { ...common, displayName: 'browser', rootDir: 'test', testRegex: '\\.browser-spec\\.ts$' },
  ],
};
