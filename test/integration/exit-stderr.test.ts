// SIGTERM while stderr is a pipe nobody reads: the built exporter, logging at debug in a namespace
// of the test's own where hundreds of links appear, fills the pipe; the exit must still come
// within the shutdown deadline plus the exit flush's stall limit, with code 0.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EXIT_STALL_LIMIT_MS } from '../../src/runtime/fd-line-writer.js';
import { MAIN, eventually } from '../helpers/exporter.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { openUnreadPipe, type UnreadPipe } from '../helpers/unread-pipe.js';
import type { ChildProcess } from 'node:child_process';

/** run.ts resolves its shutdown after at most this long, then exits (and the exit flush runs). */
const SHUTDOWN_DEADLINE_MS = 900;
const MARGIN_MS = 600;
const PAIRS = 400;

describe('exit with stderr a pipe nobody reads', { timeout: 120_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let pipe: UnreadPipe | undefined;
  let child: ChildProcess | undefined;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-exitpipe');
    leave = enterNetns(ns.name);
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    leave?.();
    if (ns) await ns.destroy();
    pipe?.close();
  });

  it('exits with code 0 within the shutdown deadline plus the stall limit', async (t) => {
    if (!requireRoot(t)) return;
    pipe = openUnreadPipe();
    const port = 19_400 + (process.pid % 500);
    const exporter = ns.spawn(process.execPath, [MAIN, `--web.listen-address=127.0.0.1:${port}`, '--log.level=debug'], {
      stdio: ['ignore', 'ignore', pipe.writeFd],
    });
    child = exporter;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      exporter.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    await eventually('the exporter answering', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/-/healthy`)).status === 200;
      } catch {
        return false;
      }
    });
    // Lines for every link added and every carrier change: far more than the pipe holds.
    const lines: string[] = [];
    for (let i = 0; i < PAIRS; i++) lines.push(`link add lsxx${i} type veth peer name lsxy${i}`);
    for (let i = 0; i < PAIRS; i++) lines.push(`link set lsxx${i} up`, `link set lsxy${i} up`);
    await ns.ipBatch(lines);
    // Once the pipe stops filling, it has no page free (asked once: a pipe that is not full
    // would take the probe's 4 KiB).
    let last = -1;
    const queued = await eventually('the pipe to stop filling', async () => {
      const now = pipe!.queued();
      const stable = now === last && now > 0;
      last = now;
      return stable && now;
    }, 20_000, 500);
    assert.ok(pipe.full(), `the pipe is full (${queued} bytes unread)`);
    // Full, and still serving: the log never held the event loop.
    assert.equal((await fetch(`http://127.0.0.1:${port}/-/healthy`)).status, 200, `with ${queued} bytes unread`);

    const sentAt = Date.now();
    exporter.kill('SIGTERM');
    const limit = SHUTDOWN_DEADLINE_MS + EXIT_STALL_LIMIT_MS + MARGIN_MS;
    const outcome = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 10_000, undefined))]);
    if (outcome === undefined) {
      exporter.kill('SIGKILL');
      assert.fail('no exit 10 s after SIGTERM: the exit waited on stderr');
    }
    const ms = outcome.at - sentAt;
    assert.deepEqual({ code: outcome.code, signal: outcome.signal }, { code: 0, signal: null });
    assert.ok(ms < limit, `exited ${ms} ms after SIGTERM (limit ${limit} ms)`);
    t.diagnostic(`exit ${ms} ms after SIGTERM with ${queued} bytes unread in the pipe`);
  });
});
