// Faults against the real kernel, in a throwaway network namespace:
// - the live netlink socket failing after start (its fd replaced or closed underneath the receive
//   worker) is reopened with a fresh dump, /-/ready answering 503 meanwhile, and counted;
// - a socket that cannot be opened at start (AF_NETLINK forbidden by a seccomp filter, as
//   systemd's RestrictAddressFamilies= does) is one line on stderr and exit code 1;
// - SIGKILL in the middle of a carrier storm and a restart never make a kernel-backed counter go
//   backwards, and the restarted exporter is exact.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import koffi from 'koffi';
import type { NetlinkSocketError } from '../../src/netlink/errors.js';
import { LinkTable } from '../../src/links/table.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { MetricsExposition } from '../../src/metrics/exposition.js';
import { LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { LinkMonitor } from '../../src/rtnetlink/link-monitor.js';
import { RTMGRP_LINK } from '../../src/rtnetlink/constants.js';
import { libc } from '../../src/netlink/libc.js';
import { openLinkSocket, type NetlinkSocket } from '../../src/netlink/socket.js';
import { createApp } from '../../src/web/server.js';
import { eventually, MAIN, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { parseSamples, sampleValue, type Sample } from '../helpers/exposition.js';
import { buildForbidNetlink } from '../helpers/forbid-netlink.js';
import { DISABLE_IPV6, MonotonicCheck, expectExact, netlinkSocketFd } from '../helpers/kernel-match.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';

const PAIRS = 8;
const dup2 = koffi.load('libc.so.6').func('int dup2(int oldfd, int newfd)') as (oldfd: number, newfd: number) => number;
const dup = koffi.load('libc.so.6').func('int dup(int oldfd)') as (oldfd: number) => number;

/** The exporter's pieces wired in this process (as cli/run.ts does) around the real netlink socket. */
interface InProcess {
  readonly monitor: LinkMonitor;
  readonly metrics: ExporterMetrics;
  /** Every real socket opened, in order. */
  readonly opened: NetlinkSocket[];
  /** Socket failures the receive side reported, with monitor.ready right after each was handled. */
  readonly failures: { error: NetlinkSocketError; readyAfter: boolean }[];
  /** Called when the monitor closes a socket, before the real close. */
  beforeClose: ((socket: NetlinkSocket) => void) | undefined;
  readonly log: string[];
  get(path: string): Promise<{ status: number; text: string }>;
  scrape(): Promise<Sample[]>;
  counter(name: string): Promise<number>;
  stop(): Promise<void>;
}

async function startInProcess(reopenDelayMs: number): Promise<InProcess> {
  const log: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'logfmt', destination: { write: (line: string) => log.push(line) } });
  const table = new LinkTable();
  const renderer = new LinkFamiliesRenderer(table);
  const metrics = new ExporterMetrics({ version: 'test', revision: 'test' }, () => renderer.exportedCount);
  const opened: NetlinkSocket[] = [];
  const failures: InProcess['failures'] = [];
  const harness: InProcess = {
    monitor: undefined as unknown as LinkMonitor,
    metrics,
    opened,
    failures,
    beforeClose: undefined,
    log,
    async get(path) {
      const res = await fetch(base + path);
      return { status: res.status, text: await res.text() };
    },
    async scrape() {
      const res = await harness.get('/metrics');
      assert.equal(res.status, 200);
      return parseSamples(res.text);
    },
    async counter(name) {
      const metric = metrics.registry.getSingleMetric(name);
      assert.ok(metric, name);
      return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await monitor.close();
    },
  };
  const monitor = new LinkMonitor({
    // The real socket behind a thin wrapper that watches what happens to it.
    openSocket: () => {
      const real = openLinkSocket({ receiveBufferBytes: 4 * 1024 * 1024, groups: RTMGRP_LINK });
      opened.push(real);
      return {
        portId: real.portId,
        receiveBufferBytes: real.receiveBufferBytes,
        receiveBufferMode: real.receiveBufferMode,
        send: (bytes) => real.send(bytes),
        addMembership: (group) => real.addMembership(group),
        start: (onEvents) =>
          real.start((events, drained) => {
            onEvents(events, drained);
            for (const event of events) if (event.kind === 'error') failures.push({ error: event.error, readyAfter: monitor.ready });
          }),
        close: () => {
          harness.beforeClose?.(real);
          return real.close();
        },
      };
    },
    table,
    metrics,
    logger,
    reopenBackoffMs: { initial: reopenDelayMs, max: reopenDelayMs * 4 },
  });
  (harness as { monitor: LinkMonitor }).monitor = monitor;
  const app = createApp({
    source: new MetricsExposition(renderer, metrics),
    telemetryPath: '/metrics',
    isReady: () => monitor.ready,
    version: 'test',
    logger,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  monitor.start();
  return harness;
}

function fdTarget(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

/** `ip -batch` reading commands as they are written, so that no new fd is opened in this process to send one. */
function ipShell(ns: Netns): { child: ChildProcessWithoutNullStreams; send(line: string): void; end(): Promise<void> } {
  const child = spawn('ip', ['-n', ns.name, '-batch', '-']);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<void>((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exited ${code}: ${stderr}`)))),
  );
  closed.catch(() => undefined); // reported by end(), if anyone waits for it
  return { child, send: (line) => child.stdin.write(`${line}\n`), end: () => (child.stdin.end(), closed) };
}

/** After a reopen: a fresh dump applied, ready again, exact, and events flow on the new socket. */
async function expectRecovered(ns: Netns, h: InProcess, flapPeer: string): Promise<void> {
  await eventually('ready again', async () => h.monitor.ready, 10_000, 10);
  assert.equal((await h.get('/-/ready')).status, 200);
  assert.equal(h.opened.length, 2, 'one new socket');
  // (the new socket may get the old port id back: the kernel hands out the pid first)
  assert.equal(h.monitor.socket?.portId, h.opened[1]!.portId);
  netlinkSocketFd(h.opened[1]!.portId); // a live socket of this process
  assert.equal(await h.counter('linkstate_exporter_netlink_socket_reopens_total'), 1);
  assert.equal(await h.counter('linkstate_exporter_netlink_resyncs_total'), 1, 'one fresh dump');
  assert.ok(h.log.some((l) => /msg="netlink socket failed, reopening"/.test(l)));
  assert.ok(h.log.some((l) => /msg="link dump applied, ready".*resync=true/.test(l)));
  await expectExact(ns, () => h.scrape());
  // the new socket receives events, not only its dump
  const before = await h.scrape();
  const lnk = flapPeer.replace('peer', 'lnk');
  const was = sampleValue(before, 'linkstate_carrier_changes_total', { device: lnk }) ?? NaN;
  await ns.ipBatch([`link set ${flapPeer} down`, `link set ${flapPeer} up`, `link set ${flapPeer} down`]);
  const after = await expectExact(ns, () => h.scrape());
  assert.equal(sampleValue(after, 'linkstate_carrier_changes_total', { device: lnk }), was + 3);
  assert.equal(await h.counter('linkstate_exporter_netlink_resyncs_total'), 1, 'events, not another dump');
}

describe('faults against the real kernel', { timeout: 120_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-faults');
    await ns.run('sysctl', DISABLE_IPV6);
    const lines: string[] = [];
    for (let i = 0; i < PAIRS; i++) lines.push(`link add lnk${i} type veth peer name peer${i}`);
    for (let i = 0; i < PAIRS; i++) lines.push(`link set lnk${i} up`, `link set peer${i} up`);
    await ns.ipBatch(lines);
    leave = enterNetns(ns.name);
  });

  after(async () => {
    leave?.();
    if (ns) await ns.destroy();
  });

  it('a socket whose fd stops being a socket (recvmsg fails: ENOTSOCK) is reopened with a fresh dump; 503 on /-/ready meanwhile', async (t) => {
    if (!requireRoot(t)) return;
    const h = await startInProcess(1000);
    try {
      await eventually('ready', async () => h.monitor.ready);
      assert.equal((await h.get('/-/ready')).status, 200);
      await expectExact(ns, () => h.scrape());
      const fd = netlinkSocketFd(h.opened[0]!.portId);
      // Atomically make the socket's fd name /dev/null. A second descriptor keeps the socket
      // itself open, so libuv's epoll still watches it under the old number: the next link event
      // reports it readable, and recvmsg on that number (now /dev/null) fails.
      const keep = dup(fd);
      assert.ok(keep >= 0);
      t.after(() => closeSync(keep));
      const devnull = openSync('/dev/null', 'r');
      assert.equal(dup2(devnull, fd), fd);
      closeSync(devnull);
      await ns.ipBatch(['link set peer0 down', 'link set peer0 up']);
      const failure = await eventually('the receive side to report the failure', async () => h.failures[0], 5000, 10);
      assert.equal(failure.error.operation, 'recvmsg');
      assert.equal(failure.error.errnoName, 'ENOTSOCK');
      assert.equal(failure.readyAfter, false, 'not ready once the socket failed');
      assert.equal((await h.get('/-/ready')).status, 503, '/-/ready during the reopen backoff');
      assert.equal((await h.get('/metrics')).status, 200, '/metrics keeps answering');
      await expectRecovered(ns, h, 'peer1');
    } finally {
      await h.stop();
    }
  });

  it('a socket whose fd is closed underneath (recvmsg: EBADF) is reopened, and the lost fd number is not closed again', async (t) => {
    if (!requireRoot(t)) return;
    const h = await startInProcess(1000);
    // started before the fd is closed: sending it a command opens no fd in this process
    const shell = ipShell(ns);
    const devnull = openSync('/dev/null', 'r');
    let fd = -1;
    try {
      await eventually('ready', async () => h.monitor.ready);
      await expectExact(ns, () => h.scrape());
      const first = h.opened[0]!;
      fd = netlinkSocketFd(first.portId);
      let occupied = false;
      h.beforeClose = (socket) => {
        // By the time the monitor closes the failed socket, its old fd number may belong to
        // someone else (here: /dev/null). Closing it again would close theirs.
        if (socket === first && !occupied) occupied = dup2(devnull, fd) === fd;
      };
      // A second descriptor keeps the socket open (and watched by libuv's epoll) after its number
      // is closed: the next link event makes the receive side use the closed number.
      const keep = dup(fd);
      assert.ok(keep >= 0);
      t.after(() => closeSync(keep));
      assert.equal(libc.close(fd), 0);
      shell.send('link set peer2 down');
      const failure = await eventually('the receive side to report the failure', async () => h.failures[0], 5000, 10);
      assert.equal(failure.error.operation, 'recvmsg');
      assert.equal(failure.error.errnoName, 'EBADF');
      assert.equal(failure.readyAfter, false);
      assert.equal((await h.get('/-/ready')).status, 503);
      await first.close();
      assert.ok(occupied, 'the monitor closed the failed socket');
      assert.equal(fdTarget(fd), '/dev/null', `fd ${fd} was closed again by the socket that had lost it`);
      shell.send('link set peer2 up');
      await shell.end();
      await expectRecovered(ns, h, 'peer3');
    } finally {
      if (shell.child.exitCode === null) shell.child.kill();
      if (fd >= 0) {
        try {
          if (readlinkSync(`/proc/self/fd/${fd}`) === '/dev/null') closeSync(fd);
        } catch {
          // already closed
        }
      }
      closeSync(devnull);
      await h.stop();
    }
  });

  it('a socket that cannot be opened at start (AF_NETLINK forbidden) is one line on stderr and exit code 1', async (t) => {
    if (!requireRoot(t)) return;
    let wrapper: string;
    try {
      wrapper = buildForbidNetlink();
    } catch (error) {
      const reason = `cannot build the seccomp wrapper (needs gcc and libc6-dev): ${(error as Error).message}`;
      if (process.env['CI'] === 'true') assert.fail(reason);
      t.skip(reason);
      return;
    }
    const child = ns.spawn(wrapper, [process.execPath, MAIN, '--web.listen-address=127.0.0.1:19299'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('close', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    assert.equal(signal, null, `killed: ${stderr}`);
    assert.equal(code, 1, stderr);
    assert.equal(stdout, '');
    assert.equal(stderr, 'linkstate-exporter: cannot open the rtnetlink socket: netlink socket failed: EAFNOSUPPORT (97)\n');
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  });

  it('SIGKILL in the middle of a storm and a restart never make a kernel counter go backwards; the restart is exact', async (t) => {
    if (!requireRoot(t)) return;
    const check = new MonotonicCheck();
    const observe = async (exporter: RunningExporter, origin: string): Promise<Sample[]> => {
      const res = await exporter.get('/metrics');
      assert.equal(res.status, 200, `${origin}: /metrics ${res.status}`);
      const samples = parseSamples(res.text);
      check.observe(samples, origin);
      return samples;
    };
    // warn, not info: at info the exporter writes one line per carrier change, and with this test
    // process as the (busy) reader of its stderr pipe, a storm blocks it in write() for seconds.
    const args = ['--log.level=warn'];
    const first = await startExporter(ns, args);
    let second: RunningExporter | undefined;
    // The storm: round-robin flaps over half the peers, fed in chunks until told to stop (or 60 s).
    const peers = [0, 1, 2, 3].map((i) => `peer${i}`);
    const chunk: string[] = [];
    for (let round = 0; round < 100; round++) for (const p of peers) chunk.push(`link set ${p} down`, `link set ${p} up`);
    let stopStorm = false;
    let chunks = 0;
    const stormDeadline = Date.now() + 60_000;
    const storm = (async () => {
      while (!stopStorm && Date.now() < stormDeadline) {
        await ns.ipBatch(chunk);
        chunks += 1;
      }
    })();
    const storming = (): boolean => !stopStorm && Date.now() < stormDeadline;
    try {
      await eventually('first exporter ready', async () => (await first.get('/-/ready')).status === 200, 20_000);
      const initial = await observe(first, 'first, before the kill');
      const lnk0Initial = sampleValue(initial, 'linkstate_carrier_changes_total', { device: 'lnk0' }) ?? NaN;
      // scrape while the storm runs, then kill -9 mid-storm
      let firstScrapes = 0;
      await eventually('the first exporter to see the storm', async () => {
        const s = await observe(first, 'first, during the storm');
        firstScrapes += 1;
        return firstScrapes >= 3 && (sampleValue(s, 'linkstate_carrier_changes_total', { device: 'lnk0' }) ?? 0) > lnk0Initial;
      }, 20_000, 20);
      const killed = new Promise<NodeJS.Signals | null>((resolve) => first.child.once('exit', (_c, s) => resolve(s)));
      first.child.kill('SIGKILL');
      assert.equal(await killed, 'SIGKILL');
      const chunksAtKill = chunks;
      second = await startExporter(ns, args);
      await eventually('restarted exporter ready', async () => (await second!.get('/-/ready')).status === 200, 20_000);
      // keep scraping the restarted exporter while the storm goes on
      const restarted = await observe(second, 'restarted, during the storm');
      const lnk0Restarted = sampleValue(restarted, 'linkstate_carrier_changes_total', { device: 'lnk0' }) ?? NaN;
      let scrapes = 1;
      let lnk0Latest = lnk0Restarted;
      while (storming() && (scrapes < 10 || lnk0Latest === lnk0Restarted)) {
        const s = await observe(second, 'restarted, during the storm');
        lnk0Latest = sampleValue(s, 'linkstate_carrier_changes_total', { device: 'lnk0' }) ?? NaN;
        scrapes += 1;
      }
      assert.ok(storming(), `the storm ran out (60 s) before the restarted exporter saw it (${scrapes} scrapes)`);
      assert.ok(chunks > chunksAtKill, 'the storm went on across the restart');
      assert.ok(lnk0Latest > lnk0Restarted, 'the restarted exporter followed the storm');
      stopStorm = true;
      await storm;
      const final = await expectExact(ns, async () => observe(second!, 'restarted, after the storm'));
      assert.deepEqual(check.violations, []);
      // 17 devices x 3 counters, over at least 1 + 3 scrapes before the kill and 10 + 1 after
      assert.ok(check.checked >= 17 * 3 * 15, `only ${check.checked} samples checked`);
      const lnk0Final = sampleValue(final, 'linkstate_carrier_changes_total', { device: 'lnk0' }) ?? NaN;
      assert.ok(lnk0Final > lnk0Restarted && lnk0Restarted > lnk0Initial, `lnk0 ${lnk0Initial} → ${lnk0Restarted} → ${lnk0Final}`);
      assert.equal(sampleValue(final, 'linkstate_exporter_netlink_socket_reopens_total'), 0);
    } finally {
      stopStorm = true;
      await storm.catch(() => undefined);
      if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
      if (second) await second.stop();
    }
  });
});
