// The built binary's command line: help, version, and every kind of bad input is one line on
// stderr with a non-zero exit and no stack trace; SIGINT/SIGTERM exit 0 within a second.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { MAIN } from '../helpers/exporter.js';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.status, 0);
  assert.equal(r.status, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0] as string, /^linkstate-exporter: /);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('command line', () => {
  it('--help lists every flag and exits 0', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const flag of [
      '--web.listen-address',
      '--web.telemetry-path',
      '--web.config.file',
      '--web.max-requests',
      '--netlink.receive-buffer-bytes',
      '--collector.device-include',
      '--collector.device-exclude',
      '--no-collector.ethtool',
      '--log.level',
      '--log.format',
      '--version',
    ]) {
      assert.ok(r.stdout.includes(flag), `--help mentions ${flag}`);
    }
  });

  it('--version prints the package version and exits 0', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^linkstate-exporter version \d+\.\d+\.\d+/);
  });

  for (const [name, args, pattern] of [
    ['an unknown flag', ['--no-such-flag'], /unknown option/],
    ['a bad regular expression', ['--collector.device-include=('], /regular expression/],
    ['a bad listen address', ['--web.listen-address=nonsense'], /listen-address|address/],
    ['a bad log level', ['--log.level=loud'], /log\.level/],
    ['a receive buffer below the minimum', ['--netlink.receive-buffer-bytes=12'], /receive-buffer-bytes/],
    ['include and exclude together', ['--collector.device-include=a', '--collector.device-exclude=b'], /exclusive|together|both/],
  ] as const) {
    it(`${name}: one line on stderr, exit 1`, () => {
      assertOneLineError(run([...args]), pattern);
    });
  }

  it('a port in use: one line on stderr, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [MAIN, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        child.on('exit', (status) => resolve({ status, stderr }));
      });
      // the log may hold the netlink start-up; the error itself is the last line, alone
      const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('linkstate-exporter: '));
      assert.equal(errorLines.length, 1, r.stderr);
      assert.match(errorLines[0] as string, /in use|EADDRINUSE/i);
      assert.equal(r.status, 1);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: exits 0 within a second`, async () => {
      const child = spawn(process.execPath, [MAIN, '--web.listen-address=127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (c: string) => {
          stderr += c;
          if (stderr.includes('link dump applied')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
      });
      const t0 = Date.now();
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      const code = await exit;
      const ms = Date.now() - t0;
      assert.equal(code, 0, stderr);
      assert.ok(ms < 1000, `exit took ${ms} ms`);
    });
  }
});
