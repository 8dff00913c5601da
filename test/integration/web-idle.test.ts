// No wake-ups once a scraper has gone: the server in a process of its own, with its per-connection
// deadlines (web/slow-client-guard.ts) short enough to fall inside the watched window, serves a few
// scrapes on one keep-alive connection; the connection is closed; then the server's main thread
// must not run at all while those deadlines would have come due. A cleared timer of a duration
// nobody else uses can still wake the loop when it was due, which is what this watches for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { request } from '../helpers/http-request.js';

/** Deadlines due 1.5–2 s after the scrapes; keep-alive long enough that Node's own (at +11 s) is not. */
const TIMEOUTS = { headersTimeoutMs: 200, requestTimeoutMs: 1500, responseTimeoutMs: 2000, keepAliveTimeoutMs: 10_000 };
/** Node's Date header cache has a timer of its own, due within a second of the last response. */
const WINDOW = { fromMs: 1100, toMs: 2600 };

const SERVER = `
import { createApp, startServer } from ${JSON.stringify(new URL('../../src/web/server.js', import.meta.url).href)};
import { createLogger } from ${JSON.stringify(new URL('../../src/runtime/logger.js', import.meta.url).href)};
const logger = createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } });
const source = { expose: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: [Buffer.from('up 1\\n')] }) };
const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger });
const running = await startServer(app, { host: '127.0.0.1', port: 0 }, { timeouts: ${JSON.stringify(TIMEOUTS)} });
console.log(running.address);
`;

/** Context switches of one thread so far: every time it went to sleep or was put off the CPU. */
function switches(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  const count = (name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(status)?.[1]);
  return count('voluntary_ctxt_switches') + count('nonvoluntary_ctxt_switches');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test("the server's main thread sleeps through the deadlines of a connection that has closed", async (t) => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await request(`http://${address}`, '/metrics', { agent });
      assert.equal(r.status, 200);
    }
    agent.destroy();
    const closedAt = Date.now();
    await sleep(WINDOW.fromMs);
    const before = switches(child.pid as number);
    await sleep(WINDOW.toMs - (Date.now() - closedAt));
    const woke = switches(child.pid as number) - before;
    t.diagnostic(`main thread context switches ${WINDOW.fromMs}–${WINDOW.toMs} ms after the connection closed: ${woke}`);
    assert.equal(woke, 0, `the main thread woke ${woke} times with nothing to do`);
  } finally {
    child.kill('SIGKILL');
  }
});
