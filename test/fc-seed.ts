import { randomInt } from 'node:crypto';

/**
 * The seed of the fast-check suites: random per local run (each suite prints or reports it),
 * fixed in CI. `FC_SEED=<n> npm test` replays a run.
 */
export const FC_SEED = Number(process.env.FC_SEED ?? randomInt(2 ** 31));
