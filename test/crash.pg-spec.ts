import { createTestDatabase, TestDatabase } from './test-app';
import { killStrayServices, runCrashCheck } from '../scripts/crash-check';

/**
 * Crash durability of the PostgreSQL mode, on the real process: 32 clients write (creates
 * with client-chosen ids, lifecycle events, partial refunds with event ids, and writes that
 * must be refused with 400, 404, 409 and 422), the service is killed with SIGKILL in the
 * middle of it, restarted on the same database, and every answer is checked against what
 * survived, over HTTP and in SQL. Three rounds, each continuing from the state the previous
 * one left. The model and each invariant are described in scripts/crash-check.ts.
 */
describe('crash durability: kill -9 under write load, restart, nothing acknowledged is lost', () => {
  jest.setTimeout(120_000);
  let database: TestDatabase | undefined;

  afterAll(async () => {
    killStrayServices();
    await database?.drop();
  });

  it('keeps every acknowledged write exactly as answered and no trace of a refused one, over 3 kill/restart rounds', async () => {
    database = await createTestDatabase();
    const result = await runCrashCheck({ databaseUrl: database.url, rounds: 3, clients: 32, seed: 20260301, logLevel: 'warn' });
    console.log(result.summary);

    expect(result.lost).toEqual([]);
    expect(result.problems).toEqual([]);
    expect(result.unexpected).toEqual([]);
    // the check means something only if each kill hit a real load with requests in flight
    // (the kill waits for 2000 answered writes, at most 6 s: a loaded machine may get fewer)
    for (const round of result.rounds) {
      expect(round.acknowledged).toBeGreaterThan(300);
      expect(round.refused).toBeGreaterThan(20);
      expect(round.inFlightAtKill).toBeGreaterThan(0);
      expect(round.checked).toBeGreaterThan(0);
    }
  });
});
