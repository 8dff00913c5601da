// Basic auth under a password-guessing flood, against the built exporter in a lab namespace:
// 32 clients on one address sending wrong passwords (each one different, so no cache helps them)
// must not lock out a scraper on another address, whether its credentials were checked before or
// not. And a bcrypt cost above the ceiling is refused at start-up with one line and exit code 1.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { MAIN, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';

const FLOOD_CLIENTS = 32;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The guessers' address; the scrapers use 127.0.0.1. */
const FLOOD_ADDRESS = '127.0.0.2';

function get(agent: http.Agent, port: number, path: string, authorization: string, localAddress?: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent, headers: { authorization }, ...(localAddress === undefined ? {} : { localAddress }) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('basic auth under a wrong-password flood (built exporter)', { timeout: 120_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter;
  let dir: string;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    dir = mkdtempSync(join(tmpdir(), 'lsx-auth-flood-'));
    ns = await createNetns('lsx-authflood');
    await ns.ipBatch(['link add af0 type veth peer name af1', 'link set af0 up', 'link set af1 up']);
    const file = join(dir, 'web.yml');
    // Cost 10: what "htpasswd -nBC 10" and the docs' example produce.
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 10)}\n  grafana: ${bcrypt.hashSync('gr4fana', 10)}\n`);
    leave = enterNetns(ns.name);
    exporter = await startExporter(ns, [`--web.config.file=${file}`, '--log.level=info'], {
      headers: { authorization: basic('prometheus', 's3cret') },
    });
  });

  after(async () => {
    if (exporter) await exporter.stop();
    leave?.();
    if (ns) await ns.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('while 32 clients guess passwords, scrapers answer 200 in under a second, checked before or not', async (t) => {
    if (!requireRoot(t)) return;
    const valid = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const fresh = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const flood = new http.Agent({ keepAlive: true, maxSockets: FLOOD_CLIENTS });
    const statuses = new Map<number, number>();
    let stop = false;
    let guess = 0;
    const guesser = async (): Promise<void> => {
      while (!stop) {
        // A distinct password every time: nothing a cache could answer.
        const r = await get(flood, exporter.port, '/metrics', basic('prometheus', `guess-${++guess}`), FLOOD_ADDRESS).catch(() => ({ status: -1, ms: 0 }));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    try {
      // Prometheus' first scrape pays one bcrypt check; its later ones are what the flood must not delay.
      assert.equal((await get(valid, exporter.port, '/metrics', basic('prometheus', 's3cret'))).status, 200);
      const guessers = Array.from({ length: FLOOD_CLIENTS }, () => guesser());
      await new Promise((r) => setTimeout(r, 1000)); // the flood is in full swing
      const scrapes: Array<{ status: number; ms: number }> = [];
      for (let i = 0; i < 5; i++) {
        scrapes.push(await get(valid, exporter.port, '/metrics', basic('prometheus', 's3cret')));
        await new Promise((r) => setTimeout(r, 200));
      }
      // A scraper whose credentials were never checked (a new one, or after a restart): one bcrypt check.
      const first = await get(fresh, exporter.port, '/metrics', basic('grafana', 'gr4fana'));
      scrapes.push(first);
      stop = true;
      await Promise.all(guessers);
      const summary = `valid scrapes ${scrapes.map((s) => `${s.status}/${Math.round(s.ms)}ms`).join(' ')} (the last one never checked before); flood answers ${JSON.stringify(Object.fromEntries(statuses))}`;
      t.diagnostic(summary);
      assert.ok((statuses.get(401) ?? 0) > 0, `the guesses were checked and refused: ${summary}`);
      for (const s of scrapes) {
        assert.equal(s.status, 200, summary);
        assert.ok(s.ms < 1000, `a valid scrape took ${Math.round(s.ms)} ms: ${summary}`);
      }
    } finally {
      stop = true;
      valid.destroy();
      fresh.destroy();
      flood.destroy();
    }
  });
});

describe('bcrypt cost ceiling (built exporter)', () => {
  it('a hash above the ceiling is refused at start-up: one line, exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsx-auth-cost-'));
    try {
      const file = join(dir, 'web.yml');
      // A real cost-31 hash would take days to make; the cost is in the prefix only.
      writeFileSync(file, `basic_auth_users:\n  prometheus: $2b$31$${'a'.repeat(53)}\n`);
      const child = spawn(process.execPath, [MAIN, '--web.listen-address=127.0.0.1:0', '--log.level=error', `--web.config.file=${file}`], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      clearTimeout(killer);
      assert.equal(code, 1, stderr);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^linkstate-exporter: --web\.config\.file .*basic_auth_users\.prometheus: bcrypt cost 31 is above the maximum of \d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
