import { createTestDatabase, TestDatabase } from './test-app';
import { runCrashCheck } from './crash-check/crash-check';
import { killStrayServices } from './service-process';

/**
 * Crash durability of the PostgreSQL mode, on the real process: 32 clients write (creates
 * with client-chosen ids, lifecycle events, partial refunds with event ids, and writes that
 * must be refused with 400, 404, 409 and 422), the service is killed with SIGKILL in the
 * middle of it, restarted on the same database, and every answer is checked against what
 * survived, over HTTP and in SQL. Three rounds, each continuing from the state the previous
 * one left. The model and each invariant are described in test/crash-check/crash-check.ts.
 */
describe('crash durability: kill -9 under write load, restart, nothing acknowledged is lost', () => {
  // three loads of 2000+ writes, three restarts and checks: minutes on a loaded machine
  jest.setTimeout(600_000);
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
    // the check means something only if each kill hit a real load with requests in flight: the
    // kill comes as the round's 2000th-2800th write is answered (however long that takes), while
    // every other client waits on a request of its own
    for (const round of result.rounds) {
      expect(round.acknowledged + round.refused).toBeGreaterThanOrEqual(round.killAfterWrites);
      expect(round.killAfterWrites).toBeGreaterThanOrEqual(2000);
      expect(round.acknowledged).toBeGreaterThan(300);
      expect(round.refused).toBeGreaterThan(20);
      expect(round.inFlightAtKill).toBeGreaterThan(0);
      expect(round.checked).toBeGreaterThan(0);
    }
  });
});
