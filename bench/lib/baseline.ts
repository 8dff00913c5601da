// The baseline exporter of the scrape-baseline step: another revision of this repository, checked
// out as a git worktree under bench/out/.baseline/<revision> (git-ignored; the leading dot keeps
// it out of tsconfig.json's `bench/**/*.ts`, whose `**` skips dot directories), its dependencies
// installed with its own lock file (`npm ci --ignore-scripts`: koffi ships its prebuilt binaries
// and needs no install script), built with its own tsc. The build is cached by revision: a
// worktree whose dist/.bench-baseline names the revision is used as it is.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Baseline {
  /** the full commit id */
  readonly revision: string;
  /** git describe-ish: the short id and the subject */
  readonly subject: string;
  readonly dir: string;
  /** <dir>/dist/src/main.js */
  readonly main: string;
  /** seconds spent preparing it (0 when the cached build was used) */
  readonly prepareSeconds: number;
  readonly cached: boolean;
}

function git(repo: string, args: readonly string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Checks out, installs and builds `rev` (anything git rev-parse takes) once; later calls reuse the build. */
export function prepareBaseline(repo: string, rev: string, log: (msg: string) => void): Baseline {
  const revision = git(repo, ['rev-parse', '--verify', `${rev}^{commit}`]);
  const subject = git(repo, ['log', '-1', '--format=%h %s', revision]);
  const dir = join(repo, 'bench', 'out', '.baseline', revision.slice(0, 12));
  const main = join(dir, 'dist', 'src', 'main.js');
  const stamp = join(dir, 'dist', '.bench-baseline');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === revision && existsSync(main)) {
    log(`baseline ${subject}: cached build in ${dir}`);
    return { revision, subject, dir, main, prepareSeconds: 0, cached: true };
  }
  const t0 = Date.now();
  const head = existsSync(join(dir, '.git')) ? spawnSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim() : '';
  if (head !== revision) {
    // A directory left by an interrupted run, or one git no longer knows: start again.
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    git(repo, ['worktree', 'prune']);
    mkdirSync(join(dir, '..'), { recursive: true });
    log(`baseline ${subject}: git worktree add ${dir}`);
    git(repo, ['worktree', 'add', '--detach', '--force', dir, revision]);
  }
  const run = (cmd: string, args: readonly string[]): void => {
    log(`baseline: ${cmd} ${args.join(' ')} (in ${dir})`);
    const r = spawnSync(cmd, args, { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, npm_config_update_notifier: 'false' } });
    if (r.status !== 0) throw new Error(`baseline ${revision.slice(0, 12)}: ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
  };
  if (!existsSync(join(dir, 'node_modules', '.package-lock.json'))) run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts']);
  run('npx', ['tsc', '-p', 'tsconfig.json']);
  // What `npm run build` does after tsc: the revision for linkstate_exporter_build_info.
  if (existsSync(join(dir, 'scripts', 'write-build-info.mjs'))) run(process.execPath, ['scripts/write-build-info.mjs']);
  if (!existsSync(main)) throw new Error(`baseline ${revision.slice(0, 12)}: the build made no ${main}`);
  writeFileSync(stamp, revision + '\n');
  const prepareSeconds = (Date.now() - t0) / 1000;
  log(`baseline ${subject}: built in ${prepareSeconds.toFixed(0)} s`);
  return { revision, subject, dir, main, prepareSeconds, cached: false };
}
