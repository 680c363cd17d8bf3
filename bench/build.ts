import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
/**
 * Where this bench's server processes run from: one directory per bench process (under the
 * git-ignored .bench-build/), so that two benches never rebuild under each other's servers.
 * Removed when the bench exits.
 */
export const BUILD_DIR = join(ROOT, '.bench-build', String(process.pid));
let built = false;

/**
 * The path of `entry` (a .ts file relative to the root) in a plain-JavaScript build of the
 * project, made once per bench run. The server processes run it with plain node, as
 * production runs `node dist/main.js`. Under ts-node they would not measure what ships:
 * ts-node loads node:repl, which loads node:domain, and domain wraps every EventEmitter and
 * nextTick of the process (about a tenth of a GET's CPU in a profile). Type errors are the
 * typecheck's job (`npm run typecheck`), so the build only emits (--noCheck, 3 s).
 */
export function compiled(entry: string): string {
  if (!built) {
    rmSync(BUILD_DIR, { recursive: true, force: true });
    const tsc = require.resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', BUILD_DIR, '--rootDir', ROOT, '--noCheck', '--sourceMap', 'false'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    // public/ (the dashboard's files) is two levels above src/dashboard, in this build as in dist/
    symlinkSync(join(ROOT, 'public'), join(BUILD_DIR, 'public'));
    process.once('exit', () => rmSync(BUILD_DIR, { recursive: true, force: true }));
    built = true;
  }
  return join(BUILD_DIR, entry.replace(/\.ts$/, '.js'));
}

/**
 * The node flags production runs the service with: those of `npm run start:prod` in
 * package.json (the Dockerfile's CMD repeats them; scripts/check-dockerfile.sh checks that).
 * The bench starts its service processes with them, so that it measures the service as it ships.
 */
export function serviceNodeFlags(): string[] {
  const script: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts['start:prod'];
  const m = /^node((?: --?[\w-]+(?:=\S+)?)*) dist\/main\.js$/.exec(script);
  if (!m) throw new Error(`package.json start:prod is not "node [flags] dist/main.js": ${script}`);
  return m[1].split(' ').filter(Boolean);
}

/**
 * The path of `entry` in a plain-JavaScript build of another commit (git archive of it, compiled
 * as compiled() compiles this tree, with this tree's node_modules): a baseline measured in the
 * same run. Removed when the bench exits.
 */
export function compiledAt(commit: string, entry: string): string {
  const dir = join(ROOT, '.bench-build', `${process.pid}-${commit}`);
  const source = join(dir, 'source');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(source, { recursive: true });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const archive = execFileSync('git', ['archive', '--format=tar', commit], { cwd: ROOT, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', source], { input: archive });
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'));
  const out = join(dir, 'build');
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', out, '--rootDir', source, '--noCheck', '--sourceMap', 'false'], { cwd: source, stdio: 'inherit' });
  symlinkSync(join(source, 'public'), join(out, 'public'));
  return join(out, entry.replace(/\.ts$/, '.js'));
}
