// The netlink socket against the real kernel, inside a throwaway network namespace that the
// test process itself enters (setns on the main thread), so the sockets opened here see only
// the namespace's links.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import {
  AF_NETLINK,
  NETLINK_GENERIC,
  NETLINK_ROUTE,
  SOCK_CLOEXEC,
  SOCK_RAW,
} from '../../src/netlink/constants.js';
import { RTMGRP_LINK, RTM_DELLINK, RTM_NEWLINK } from '../../src/rtnetlink/constants.js';
import { libc, lastErrno } from '../../src/netlink/libc.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import { decodeMessages, isDone } from '../../src/netlink/message.js';
import { encodeLinkDumpRequest } from '../../src/rtnetlink/request.js';
import { observeReceiveRounds, openLinkSocket, type NetlinkSocket, type ReceiveEvent } from '../../src/netlink/socket.js';
import type { LinkMessage, NetlinkMessage } from '../../src/netlink/types.js';
import { GENL_ID_CTRL, decodeEthtoolMessage, decodeFamily, encodeGetFamilyRequest, multicastGroupId } from '../../src/ethtool/index.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';

const SOCKET_MODULE = new URL('../../src/netlink/socket.js', import.meta.url).href;
const REQUEST_MODULE = new URL('../../src/rtnetlink/request.js', import.meta.url).href;
// Read before entering the namespace: net.core.rmem_max is only visible from the initial one.
const RMEM_MAX = readRmemMax();

function readRmemMax(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Collects a socket's events and waits for a condition on them. */
class Collector {
  readonly events: ReceiveEvent[] = [];
  private waiters: (() => void)[] = [];
  /** Lengths of the batches, in order. */
  readonly batches: number[] = [];
  readonly onEvents = (events: ReceiveEvent[]): void => {
    this.batches.push(events.length);
    // A datagram's bytes are a view of the socket's receive buffer, valid only during the call.
    for (const e of events) this.events.push(e.kind === 'datagram' ? { ...e, data: Buffer.from(e.data) } : e);
    for (const wake of this.waiters.splice(0)) wake();
  };

  /** Kernel link messages received so far, decoded. */
  links(): LinkMessage[] {
    const links: LinkMessage[] = [];
    for (const event of this.events) {
      if (event.kind !== 'datagram') continue;
      for (const message of decodeMessages(event.data)) {
        if (message.type === RTM_NEWLINK || message.type === RTM_DELLINK) links.push(decodeLink(message));
      }
    }
    return links;
  }

  async waitFor<T>(what: string, find: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what}; got ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Runs an ES module script in a child node; resolves with its stdout, exit code and how long it took to exit. */
function runChild(
  script: string,
  opts: { prefix?: string[]; afterLine?: (line: string, kill: (signal: NodeJS.Signals) => void) => void } = {},
): Promise<{ stdout: string; code: number | null; signal: NodeJS.Signals | null; exitMsAfterLastLine: number }> {
  return new Promise((resolve, reject) => {
    const prefix = opts.prefix ?? [];
    const argv = [...prefix, process.execPath, '--input-type=module', '-e', script];
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let lastLineAt = Date.now();
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      lastLineAt = Date.now();
      for (const line of chunk.split('\n')) if (line !== '') opts.afterLine?.(line, (signal) => child.kill(signal));
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      resolve({ stdout, code, signal, exitMsAfterLastLine: Date.now() - lastLineAt });
    });
  });
}

test('netlink socket against the real kernel', async (t) => {
  if (!requireRoot(t)) return;
  const netns: Netns = await createNetns('lsx-socket');
  const leave = enterNetns(netns.name);
  const sockets: NetlinkSocket[] = [];
  const open = (receiveBufferBytes: number, groups = RTMGRP_LINK): NetlinkSocket => {
    const socket = openLinkSocket({ receiveBufferBytes, groups });
    sockets.push(socket);
    return socket;
  };
  try {
    await t.test('reports the port id and the receive buffer the kernel granted', () => {
      const requested = 1 << 20;
      const socket = open(requested);
      assert.ok(socket.portId > 0, `port id ${socket.portId}`);
      assert.equal(socket.receiveBufferMode, 'SO_RCVBUFFORCE');
      assert.equal(socket.receiveBufferBytes, 2 * requested, 'the kernel doubles SO_RCVBUFFORCE');
      const other = open(requested);
      assert.notEqual(other.portId, socket.portId);
    });

    await t.test('falls back to SO_RCVBUF without CAP_NET_ADMIN', async () => {
      const requested = 16 << 20;
      const script = `
        import { openLinkSocket } from ${JSON.stringify(SOCKET_MODULE)};
        const s = openLinkSocket({ receiveBufferBytes: ${requested}, groups: 1 });
        console.log(JSON.stringify({ mode: s.receiveBufferMode, bytes: s.receiveBufferBytes }));
        await s.close();`;
      const result = await runChild(script, { prefix: ['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin'] });
      assert.equal(result.code, 0, result.stdout);
      const reported = JSON.parse(result.stdout) as { mode: string; bytes: number };
      assert.equal(reported.mode, 'SO_RCVBUF');
      if (RMEM_MAX !== undefined) assert.equal(reported.bytes, 2 * Math.min(requested, RMEM_MAX));
      else assert.ok(reported.bytes > 0 && reported.bytes <= 2 * requested);
    });

    await t.test('a dump request is answered by the kernel (nl_pid 0) with lo and NLMSG_DONE', async () => {
      const socket = open(1 << 20, 0);
      const collector = new Collector();
      socket.start(collector.onEvents);
      socket.send(encodeLinkDumpRequest(4242));
      const done = await collector.waitFor('NLMSG_DONE', () => {
        for (const event of collector.events) {
          if (event.kind !== 'datagram') continue;
          const message = decodeMessages(event.data).find((m) => isDone(m) && m.seq === 4242);
          if (message !== undefined) return message;
        }
        return undefined;
      });
      assert.equal(done.seq, 4242);
      const datagrams = collector.events.filter((e) => e.kind === 'datagram');
      assert.ok(datagrams.length >= 2);
      for (const event of datagrams) {
        assert.equal(event.senderPid, 0);
        assert.equal(event.truncated, false);
      }
      const names = collector.links().map((l) => l.ifname);
      assert.deepEqual(names, ['lo'], 'a fresh namespace holds only lo');
      await socket.close();
    });

    await t.test('sees a veth pair appear and lose carrier when its peer goes down', async () => {
      const socket = open(1 << 20);
      const collector = new Collector();
      socket.start(collector.onEvents);
      await netns.ipBatch(['link add lsxa type veth peer name lsxb', 'link set lsxa up', 'link set lsxb up']);
      const byName = (name: string, test: (l: LinkMessage) => boolean) => () =>
        collector.links().find((l) => l.ifname === name && test(l));
      await collector.waitFor('RTM_NEWLINK lsxa', byName('lsxa', (l) => l.kind === 'new'));
      await collector.waitFor('RTM_NEWLINK lsxb', byName('lsxb', (l) => l.kind === 'new'));
      await collector.waitFor('lsxa with carrier', byName('lsxa', (l) => l.carrier === 1));

      const before = collector.links().length;
      await netns.ipBatch(['link set lsxb down']);
      const lost = await collector.waitFor('lsxa without carrier', () =>
        collector.links().slice(before).find((l) => l.ifname === 'lsxa' && l.carrier === 0),
      );
      assert.equal(lost.flags & 0x10000 /* IFF_LOWER_UP */, 0);
      assert.equal(lost.flags & 0x1 /* IFF_UP */, 1);
      const kernel = (await netns.kernelCounters()).get('lsxa');
      assert.ok(kernel !== undefined);
      assert.equal(kernel.carrier, 0);
      assert.equal(lost.carrierChanges, kernel.carrierChanges);
      assert.equal(lost.carrierDownCount, kernel.down);
      assert.ok(collector.events.every((e) => e.kind !== 'datagram' || e.senderPid === 0));
      await socket.close();
      await netns.ipBatch(['link del lsxa']);
    });

    await t.test('a burst into a tiny receive buffer yields an overrun, then more datagrams', async () => {
      const socket = open(4096);
      assert.equal(socket.receiveBufferBytes, 8192);
      // Not started yet: the kernel queues into the 8 KiB buffer, then drops and flags ENOBUFS.
      const lines = ['link add lsxc type veth peer name lsxd', 'link set lsxc up'];
      for (let i = 0; i < 50; i++) lines.push('link set lsxd up', 'link set lsxd down');
      await netns.ipBatch(lines);
      const collector = new Collector();
      socket.start(collector.onEvents);
      const index = await collector.waitFor('overrun', () => {
        const at = collector.events.findIndex((e) => e.kind === 'overrun');
        return at < 0 ? undefined : at;
      });
      assert.equal(index, 0, 'the pending error is reported before the queued datagrams');
      await collector.waitFor('datagrams after the overrun', () =>
        collector.events.slice(index).some((e) => e.kind === 'datagram') ? true : undefined,
      );
      // After draining, the socket keeps receiving.
      const seen = collector.events.length;
      await netns.ipBatch(['link set lsxd up']);
      await collector.waitFor('an event after the storm', () =>
        collector.events.slice(seen).some((e) => e.kind === 'datagram') ? true : undefined,
      );
      await socket.close();
      await netns.ipBatch(['link del lsxc']);
    });

    await t.test('tells the round observer of a round that ends on its bound, then of the one that reads the socket empty', async () => {
      const calls: string[] = [];
      observeReceiveRounds({ busy: () => calls.push('busy'), drained: () => calls.push('drained') });
      const pairs = Array.from({ length: 120 }, (_, i) => i);
      try {
        const socket = open(8 << 20);
        // Queued before the socket is read: several rounds' worth of notifications.
        await netns.ipBatch(pairs.flatMap((i) => [`link add lsxr${i} type veth peer name lsxs${i}`, `link set lsxr${i} up`, `link set lsxs${i} up`]));
        const collector = new Collector();
        socket.start(collector.onEvents);
        await collector.waitFor('a round that read the socket empty', () => (calls.includes('drained') ? true : undefined));
        const datagrams = collector.events.filter((e) => e.kind === 'datagram').length;
        assert.ok(datagrams > 256, `${datagrams} datagrams queued, more than one round`);
        assert.equal(calls[0], 'busy', `the first round ended on its bound: ${calls.join(' ')}`);
        assert.equal(calls.at(-1), 'drained');
        await socket.close();
      } finally {
        observeReceiveRounds(undefined);
        await netns.ipBatch(pairs.map((i) => `link del lsxr${i}`));
      }
    });

    await t.test('receives on the main thread, in bounded rounds that let the event loop run between them', async () => {
      const threadsBefore = threadCount();
      const socket = open(8 << 20);
      // Queue a burst before starting, so that the first readiness finds many datagrams waiting.
      const lines = ['link add lsxe type veth peer name lsxf', 'link set lsxe up'];
      for (let i = 0; i < 400; i++) lines.push('link set lsxf up', 'link set lsxf down');
      await netns.ipBatch(lines);
      // A round is what the listener gets between two turns of the event loop: one or more
      // calls (one per recvmmsg), at most 256 datagrams in all.
      let immediateRan = true;
      const rounds: number[] = [];
      const collector = new Collector();
      socket.start((events) => {
        if (immediateRan) {
          rounds.push(0);
          immediateRan = false;
          setImmediate(() => (immediateRan = true));
        }
        rounds[rounds.length - 1]! += events.filter((e) => e.kind === 'datagram').length;
        collector.onEvents(events);
      });
      assert.equal(threadCount(), threadsBefore, 'no thread of its own');
      await collector.waitFor('the burst', () => (collector.links().length >= 600 ? true : undefined));
      assert.ok(rounds.length >= 3, `rounds: ${rounds.join(',')}`);
      assert.ok(Math.max(...rounds) <= 256, `largest round ${Math.max(...rounds)}`);
      // The burst was queued before start: a round takes as much as it may, so the event loop ran
      // because the bound was reached, not because the socket happened to be empty.
      assert.ok(Math.max(...rounds) > 16, `rounds: ${rounds.join(',')}`);
      await socket.close();
      await netns.ipBatch(['link del lsxe']);
    });

    await t.test('a round that ends on its bound exactly when the queue runs dry still reports the socket drained', async () => {
      // 256 datagrams (one whole round) queued before start, none after: the round takes all of
      // them without meeting EAGAIN, and the poll has nothing more to report. Only another round
      // finds the queue empty, and after an overrun the monitor waits for that (drained) before
      // it asks for the resync.
      const socket = open(8 << 20, 0);
      const forger = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      assert.ok(forger >= 0, `socket errno ${lastErrno()}`);
      try {
        const to = Buffer.alloc(12);
        to.writeUInt16LE(AF_NETLINK, 0);
        to.writeUInt32LE(socket.portId, 4);
        const bytes = encodeLinkDumpRequest(1);
        for (let i = 0; i < 256; i++) assert.equal(libc.sendto(forger, bytes, bytes.length, 0, to, 12), bytes.length, `errno ${lastErrno()}`);
        let received = 0;
        let drained = false;
        socket.start((events, isDrained) => {
          received += events.filter((e) => e.kind === 'datagram').length;
          if (isDrained) drained = true;
        });
        const deadline = Date.now() + 2000;
        while (!drained && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(received, 256);
        assert.equal(drained, true, 'the socket was reported drained');
      } finally {
        libc.close(forger);
        await socket.close();
      }
    });

    await t.test('a generic netlink socket resolves the ethtool family, joins its monitor group and hears a tap change', async () => {
      const socket = openLinkSocket({ receiveBufferBytes: 1 << 20, groups: 0, protocol: NETLINK_GENERIC });
      sockets.push(socket);
      const collector = new Collector();
      socket.start(collector.onEvents);
      const messages = (): NetlinkMessage[] =>
        collector.events.flatMap((e) => (e.kind === 'datagram' ? decodeMessages(e.data) : []));
      socket.send(encodeGetFamilyRequest(77));
      const family = await collector.waitFor('the ethtool family', () => {
        const reply = messages().find((m) => m.seq === 77 && m.type === GENL_ID_CTRL);
        return reply === undefined ? undefined : decodeFamily(reply);
      });
      const monitor = multicastGroupId(family, 'monitor');
      assert.ok(monitor !== undefined, 'the ethtool family has a monitor group');
      socket.addMembership(monitor);
      await netns.run('ip', ['tuntap', 'add', 'lsxtap', 'mode', 'tap']);
      try {
        await netns.run('ethtool', ['-s', 'lsxtap', 'speed', '100', 'duplex', 'half', 'autoneg', 'off']);
        const notified = await collector.waitFor('a LINKMODES notification', () =>
          messages()
            .filter((m) => m.type === family.familyId)
            .map((m) => decodeEthtoolMessage(m, family.familyId))
            .find((m) => m.kind === 'linkmodes' && m.notification),
        );
        assert.ok(notified.kind === 'linkmodes');
        assert.equal(notified.linkModes.speedMbps, 100);
        assert.equal(notified.linkModes.duplex, 'half');
        assert.equal(notified.linkModes.autoneg, false);
      } finally {
        await socket.close();
        await netns.run('ip', ['link', 'del', 'lsxtap']);
      }
    });

    await t.test('a datagram from another user-space socket arrives with its sender port id', async () => {
      const socket = open(1 << 20, 0);
      const collector = new Collector();
      socket.start(collector.onEvents);
      const forger = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      assert.ok(forger >= 0, `socket errno ${lastErrno()}`);
      try {
        const forged = encodeLinkDumpRequest(7); // any bytes: what matters is who sent them
        const to = Buffer.alloc(12);
        to.writeUInt16LE(AF_NETLINK, 0);
        to.writeUInt32LE(socket.portId, 4);
        assert.equal(libc.sendto(forger, forged, forged.length, 0, to, 12), forged.length, `errno ${lastErrno()}`);
        const name = Buffer.alloc(12);
        const nameLength = Buffer.alloc(4);
        nameLength.writeUInt32LE(12);
        assert.equal(libc.getsockname(forger, name, nameLength), 0);
        const forgerPid = name.readUInt32LE(4);
        assert.notEqual(forgerPid, 0);
        const event = await collector.waitFor('the forged datagram', () =>
          collector.events.find((e) => e.kind === 'datagram'),
        );
        assert.ok(event.kind === 'datagram');
        assert.equal(event.senderPid, forgerPid);
        assert.deepEqual(event.data, forged);
      } finally {
        libc.close(forger);
        await socket.close();
      }
    });

    await t.test('send and start fail with NetlinkSocketError once closed; close is idempotent', async () => {
      const socket = open(1 << 16);
      await Promise.all([socket.close(), socket.close()]);
      await socket.close();
      assert.throws(() => socket.send(encodeLinkDumpRequest(1)), { code: 'NETLINK_SOCKET', operation: 'sendto' });
      assert.throws(() => socket.start(() => {}), { code: 'NETLINK_SOCKET' });
    });

    await exitTests(t);
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
    leave();
    await netns.destroy();
  }
});

function threadCount(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}

async function exitTests(t: TestContext): Promise<void> {
  // Starts the socket and waits for the kernel's answer to a dump, so the poll handle is known to
  // be active; any error event makes the child fail.
  const preamble = `
    import { openLinkSocket } from ${JSON.stringify(SOCKET_MODULE)};
    import { encodeLinkDumpRequest } from ${JSON.stringify(REQUEST_MODULE)};
    const s = openLinkSocket({ receiveBufferBytes: 1 << 20, groups: 1 });
    let answered;
    const answer = new Promise((resolve) => (answered = resolve));
    s.start((events) => {
      for (const e of events) {
        if (e.kind === 'error') { console.error(e.error); process.exit(1); }
        if (e.kind === 'datagram') answered();
      }
    });
    const keepAlive = setInterval(() => {}, 1000); // the poll handle is unref'd: hold the loop open meanwhile
    s.send(encodeLinkDumpRequest(1));
    await answer;
    clearInterval(keepAlive);
    await new Promise((r) => setTimeout(r, 50));`;

  await t.test('a child that starts and closes exits at once', async () => {
    const result = await runChild(`${preamble}
      const t0 = performance.now();
      await s.close();
      console.log(JSON.stringify({ closeMs: performance.now() - t0 }));`);
    assert.equal(result.code, 0);
    const { closeMs } = JSON.parse(result.stdout) as { closeMs: number };
    assert.ok(closeMs < 1000, `close took ${closeMs} ms`);
    assert.ok(result.exitMsAfterLastLine < 1000, `exited ${result.exitMsAfterLastLine} ms after close`);
  });

  await t.test('a child with a SIGTERM handler that closes exits promptly', async () => {
    const result = await runChild(
      `${preamble}
      process.on('SIGTERM', async () => { await s.close(); console.log('closed'); process.exit(0); });
      setInterval(() => {}, 1000); // stay alive like a server would
      console.log('ready');`,
      { afterLine: (line, kill) => line === 'ready' && kill('SIGTERM') },
    );
    assert.equal(result.code, 0);
    assert.equal(result.stdout, 'ready\nclosed\n');
    assert.ok(result.exitMsAfterLastLine < 1000);
  });

  await t.test('an idle child that never closes still exits (the poll handle is unref\'d)', async () => {
    const result = await runChild(`${preamble}
      console.log('idle');`);
    assert.equal(result.code, 0);
    assert.equal(result.signal, null);
    assert.ok(result.exitMsAfterLastLine < 1000, `exited ${result.exitMsAfterLastLine} ms after going idle`);
  });

  await t.test('process.exit() without close does not hang', async () => {
    const result = await runChild(`${preamble}
      setInterval(() => {}, 1000);
      console.log('exiting');
      process.exit(7);`);
    assert.equal(result.code, 7);
    assert.ok(result.exitMsAfterLastLine < 1000);
  });
}
