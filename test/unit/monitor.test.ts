import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { NetlinkSocketError } from '../../src/netlink/errors.js';
import { linkChangeLog } from '../../src/links/change-log.js';
import type { LinkChange } from '../../src/links/link-change.js';
import { LinkTable } from '../../src/links/table.js';
import { createLogger } from '../../src/runtime/logger.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { LinkMonitor } from '../../src/rtnetlink/link-monitor.js';
import { NLMSG_DONE, NLM_F_DUMP_INTR, NLM_F_MULTI } from '../../src/netlink/constants.js';
import {
  IFF_UP,
  IFLA_PARENT_DEV_NAME,
  IFLA_PROTO_DOWN,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { FakeSocket } from '../helpers/fake-socket.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { errorMessage, linkMessageBytes, nlmsg, rtattr, vethLink } from '../helpers/netlink-bytes.js';

interface Harness {
  monitor: LinkMonitor;
  table: LinkTable;
  metrics: ExporterMetrics;
  sockets: FakeSocket[];
  logs: Record<string, unknown>[];
  /** The monitor's clock: time moves only by clock.advance(). */
  clock: ManualClock;
  socket(): FakeSocket;
}

function harness(opts: { failOpen?: number; onChange?: (change: LinkChange) => void; onBacklog?: (behind: boolean) => void } = {}): Harness {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (line: string) => sink.write(line) } });
  const table = new LinkTable();
  // Wired as run.ts wires them: the log lines, then the per-link hook (the ethtool client's).
  table.subscribe(linkChangeLog(logger));
  if (opts.onChange) table.subscribe(opts.onChange);
  const metrics = new ExporterMetrics({ version: 't', revision: 't' }, () => table.size);
  const sockets: FakeSocket[] = [];
  let failures = opts.failOpen ?? 0;
  const clock = new ManualClock();
  const monitor = new LinkMonitor({
    openSocket: () => {
      if (sockets.length > 0 && failures-- > 0) throw new NetlinkSocketError('socket', 97);
      const s = new FakeSocket(100 + sockets.length);
      sockets.push(s);
      return s;
    },
    table,
    metrics,
    logger,
    clock,
    reopenBackoffMs: { initial: 5, max: 20 },
    dumpStallMs: 150,
    ...(opts.onBacklog === undefined ? {} : { onBacklog: opts.onBacklog }),
  });
  return { monitor, table, metrics, sockets, logs, clock, socket: () => sockets[sockets.length - 1] as FakeSocket };
}

const veth = vethLink;

/** Dump reply parts, as the kernel sends them: NLM_F_MULTI, our seq and port id. */
function dumpLink(s: FakeSocket, seq: number, link: LinkMessage, extraFlags = 0): Buffer {
  return linkMessageBytes(link, { flags: NLM_F_MULTI | extraFlags, seq, pid: s.portId });
}
function dumpDone(s: FakeSocket, seq: number, extraFlags = 0): Buffer {
  return nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI | extraFlags, seq, pid: s.portId }, Buffer.alloc(4));
}

async function value(metrics: ExporterMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name}`);
  const data = await metric.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

describe('LinkMonitor', () => {
  it('asks for a dump at start and becomes ready only when it is complete', () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    assert.equal(s.sent.length, 1);
    assert.equal(s.sent[0]!.readUInt16LE(4), RTM_GETLINK);
    const seq = s.sentSeq(0);
    s.kernel(dumpLink(s, seq, veth(1)), dumpLink(s, seq, veth(2)));
    assert.equal(h.monitor.ready, false);
    s.kernel(dumpDone(s, seq));
    assert.equal(h.monitor.ready, true);
    assert.equal(h.table.size, 2);
  });

  it('tells after each batch whether the socket still holds unread messages', async () => {
    const told: boolean[] = [];
    const h = harness({ onBacklog: (behind) => told.push(behind) });
    h.monitor.start();
    const s = h.socket();
    s.kernel(dumpDone(s, s.sentSeq(0)));
    const notification = { kind: 'datagram', data: linkMessageBytes(veth(1)), senderPid: 0, truncated: false } as const;
    s.deliverBatch([notification], false);
    s.deliverBatch([notification], false);
    s.deliverBatch([], true);
    assert.deepEqual(told, [false, true, true, false]);
    await h.monitor.close();
  });

  it('drops and counts a datagram from a user-space sender, and does not apply it', async () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    s.kernel(dumpDone(s, s.sentSeq(0)));
    s.deliver({ kind: 'datagram', data: linkMessageBytes(veth(66)), senderPid: 31337, truncated: false });
    assert.equal(h.table.get(66), undefined);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'foreign_sender' }), 1);
    assert.ok(h.logs.some((l) => l['reason'] === 'foreign_sender' && l['sender_pid'] === 31337));
  });

  it('drops a truncated datagram and a malformed one by reason, and carries on', async () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    s.kernel(dumpDone(s, s.sentSeq(0)));
    s.deliver({ kind: 'datagram', data: linkMessageBytes(veth(3)), senderPid: 0, truncated: true });
    s.deliver({ kind: 'datagram', data: Buffer.from([1, 2, 3]), senderPid: 0, truncated: false });
    s.kernel(linkMessageBytes(veth(4)));
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'truncated' }), 1);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'short_header' }), 1);
    assert.equal(h.table.get(3), undefined);
    assert.ok(h.table.get(4));
  });

  it('counts a link message with a short IFLA_PROTO_DOWN or a parent name without NUL by reason, and does not apply it', async () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    s.kernel(dumpDone(s, s.sentSeq(0)));
    s.kernel(linkMessageBytes(veth(5), {}, [rtattr(IFLA_PROTO_DOWN, Buffer.alloc(0))]));
    s.kernel(linkMessageBytes(veth(6), {}, [rtattr(IFLA_PARENT_DEV_NAME, Buffer.from('virtio2'))]));
    s.kernel(linkMessageBytes(veth(7, { protoDown: 0, parentDevice: 'virtio2', parentBus: 'virtio' })));
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'bad_attribute_size' }), 1);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'bad_string' }), 1);
    assert.equal(h.table.get(5), undefined);
    assert.equal(h.table.get(6), undefined);
    assert.ok(h.table.get(7));
  });

  it('an overrun is counted and answered by one resync dump that prunes missed deletions', async () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    const seq0 = s.sentSeq(0);
    s.kernel(dumpLink(s, seq0, veth(1)), dumpLink(s, seq0, veth(2)), dumpDone(s, seq0));
    s.deliver({ kind: 'overrun' }, { kind: 'overrun' });
    assert.equal(s.sent.length, 2, 'two overruns before the dump starts: one dump');
    const seq1 = s.sentSeq(1);
    assert.notEqual(seq1, seq0);
    s.kernel(dumpLink(s, seq1, veth(1, { carrier: 0, flags: IFF_UP, carrierChanges: 9, carrierDownCount: 5, carrierUpCount: 4 })));
    s.deliver({ kind: 'overrun' });
    assert.equal(s.sent.length, 2, 'one dump in flight at a time');
    s.kernel(dumpDone(s, seq1));
    // the third overrun arrived while the resync was in flight: one more dump follows
    assert.equal(s.sent.length, 3);
    s.kernel(dumpLink(s, s.sentSeq(2), veth(1, { carrier: 0, flags: IFF_UP, carrierChanges: 9, carrierDownCount: 5, carrierUpCount: 4 })), dumpDone(s, s.sentSeq(2)));
    assert.equal(s.sent.length, 3);
    assert.equal(h.table.get(2), undefined, 'link 2 vanished while we were deaf');
    assert.equal(h.table.get(1)!.carrierChanges, 9);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_overruns_total'), 3);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_resyncs_total'), 2);
  });

  it('an interrupted dump is repeated after a backoff and prunes nothing', async () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    const seq0 = s.sentSeq(0);
    s.kernel(dumpLink(s, seq0, veth(1)), dumpLink(s, seq0, veth(2)), dumpDone(s, seq0));
    s.deliver({ kind: 'overrun' });
    const seq1 = s.sentSeq(1);
    s.kernel(dumpLink(s, seq1, veth(1), NLM_F_DUMP_INTR), dumpDone(s, seq1, NLM_F_DUMP_INTR));
    assert.ok(h.table.get(2), 'not pruned by an interrupted dump');
    h.clock.advance(4);
    assert.equal(s.sent.length, 2, 'not at once');
    h.clock.advance(1);
    assert.equal(s.sent.length, 3);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dumps_interrupted_total'), 1);
    await h.monitor.close();
  });

  it('a dump interrupted every time is repeated at the backoff\'s pace; ready waits for a complete one of our namespace', async () => {
    const h = harness(); // backoff 5 ms, doubling up to 20
    h.monitor.start();
    const s = h.socket();
    /** Advances the clock until the n-th request is sent; returns how long that took. */
    const untilRequest = (n: number): number => {
      let waited = 0;
      while (s.sent.length <= n && waited < 1000) {
        h.clock.advance(1);
        waited++;
      }
      assert.equal(s.sent.length, n + 1);
      return waited;
    };
    const interrupt = (n: number): void => s.kernel(dumpLink(s, s.sentSeq(n), veth(1), NLM_F_DUMP_INTR), dumpDone(s, s.sentSeq(n)));
    interrupt(0);
    const gaps: number[] = [];
    for (let n = 1; n <= 4; n++) {
      gaps.push(untilRequest(n));
      interrupt(n);
    }
    assert.deepEqual(gaps, [5, 10, 20, 20], 'spaced by the backoff, not repeated at once');
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dumps_interrupted_total'), 5);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'done_error' }), 0, 'counted as interrupted only');
    assert.ok(h.table.get(1), 'what the interrupted dumps saw is applied');
    assert.equal(h.monitor.ready, false, 'our own namespace is ready after a complete dump only');
    untilRequest(5);
    s.kernel(dumpLink(s, s.sentSeq(5), veth(1)), dumpDone(s, s.sentSeq(5)));
    assert.equal(h.monitor.ready, true);
    // a complete dump resets the backoff
    s.deliver({ kind: 'overrun' });
    interrupt(6);
    assert.equal(untilRequest(7), 5);
    await h.monitor.close();
  });

  it('events carrying our dump seq from another sender are not taken for dump replies', () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    const seq = s.sentSeq(0);
    // a notification caused by another process's request: its pid, possibly the same seq
    s.kernel(linkMessageBytes(veth(5), { seq, pid: 999 }), nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: 999 }, Buffer.alloc(4)));
    assert.equal(h.monitor.ready, false);
    s.kernel(dumpDone(s, seq));
    assert.equal(h.monitor.ready, true);
    assert.ok(h.table.get(5));
  });

  describe('a datagram from another namespace (with an nsid) is never a dump reply, whatever its header', () => {
    // A tenant in a followed namespace can bind its socket to our port id (port ids are per
    // namespace) and make the kernel announce its own link changes with our dump's seq.
    function forge(s: FakeSocket, nsid: number, truncated = false) {
      return (...messages: Buffer[]): void => s.deliver({ kind: 'datagram', data: Buffer.concat(messages), senderPid: 0, truncated, nsid });
    }

    it('a forged reply and DONE land in no table and do not end the dump', async () => {
      const h = harness();
      h.monitor.start();
      const s = h.socket();
      const seq = s.sentSeq(0);
      forge(s, 7)(dumpLink(s, seq, veth(66)));
      forge(s, 7)(dumpDone(s, seq));
      assert.equal(h.table.get(66), undefined, 'not in our own table');
      assert.equal(h.monitor.ready, false, 'the forged DONE did not end the dump');
      assert.equal(s.sent.length, 1);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'unknown_nsid' }), 2, 'dropped as from an unknown nsid');
      s.kernel(dumpLink(s, seq, veth(1)), dumpDone(s, seq));
      assert.equal(h.monitor.ready, true);
      assert.deepEqual([...h.table.links()].map((l) => l.ifindex), [1]);
      await h.monitor.close();
    });

    it('a forged DONE with an error, NLM_F_DUMP_INTR or a truncated datagram neither ends nor spoils the dump', async () => {
      const h = harness();
      h.monitor.start();
      const s = h.socket();
      const seq = s.sentSeq(0);
      forge(s, 7)(dumpLink(s, seq, veth(66), NLM_F_DUMP_INTR), dumpDone(s, seq, NLM_F_DUMP_INTR));
      forge(s, 7)(nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: s.portId }, int32(-90)));
      forge(s, 7, true)(dumpLink(s, seq, veth(67)).subarray(0, 40));
      assert.equal(h.monitor.ready, false);
      assert.equal(s.sent.length, 1, 'the dump still runs: no retry asked for');
      s.kernel(dumpLink(s, seq, veth(1)), dumpDone(s, seq));
      assert.equal(h.monitor.ready, true, 'the real dump completed');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dumps_interrupted_total'), 0);
      for (const reason of ['done_error', 'truncated', 'undecodable']) {
        assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason }), 0, reason);
      }
      assert.deepEqual([...h.table.links()].map((l) => l.ifindex), [1]);
      await h.monitor.close();
    });
  });

  it('logs one info line per carrier transition with device, from and to', () => {
    const h = harness();
    h.monitor.start();
    const s = h.socket();
    s.kernel(dumpLink(s, s.sentSeq(0), veth(7)), dumpDone(s, s.sentSeq(0)));
    s.kernel(linkMessageBytes(veth(7, { carrier: 0, flags: IFF_UP, carrierChanges: 3, carrierDownCount: 2 })));
    const lines = h.logs.filter((l) => l['msg'] === 'carrier changed');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!['device'], 'veth7');
    assert.equal(lines[0]!['from'], 'up');
    assert.equal(lines[0]!['to'], 'down');
  });

  it('a failed socket is reopened with backoff and a fresh dump; not ready meanwhile', async () => {
    const h = harness({ failOpen: 1 });
    h.monitor.start();
    const first = h.socket();
    first.kernel(dumpDone(first, first.sentSeq(0)));
    assert.equal(h.monitor.ready, true);
    first.deliver({ kind: 'error', error: new NetlinkSocketError('recvmsg', 9) });
    assert.equal(h.monitor.ready, false);
    assert.equal(first.closed, true);
    // first reopen attempt fails (failOpen: 1), the second succeeds (5 then 10 ms of backoff)
    h.clock.advance(4);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_socket_reopens_total'), 1, 'not reopened at once');
    h.clock.advance(1);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_socket_reopens_total'), 2, 'the first attempt, after 5 ms, failed');
    h.clock.advance(9);
    assert.equal(h.sockets.length, 1);
    h.clock.advance(1);
    assert.equal(h.sockets.length, 2);
    const second = h.socket();
    assert.equal(second.sent.length, 1);
    second.kernel(dumpDone(second, second.sentSeq(0)));
    assert.equal(h.monitor.ready, true);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_socket_reopens_total'), 2);
    assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_resyncs_total'), 1);
    await h.monitor.close();
  });

  it('waits for a reopen on an unref\'d timer: a failed socket does not hold the process', () => {
    const h = harness();
    const unrefs: number[] = [];
    const setTimeout = h.clock.setTimeout.bind(h.clock);
    h.clock.setTimeout = (callback, ms) => {
      const timer = setTimeout(callback, ms);
      const unref = timer.unref.bind(timer);
      (timer as { unref: () => unknown }).unref = () => (unrefs.push(ms), unref());
      return timer;
    };
    h.monitor.start();
    const first = h.socket();
    first.kernel(dumpDone(first, first.sentSeq(0)));
    unrefs.length = 0;
    first.deliver({ kind: 'error', error: new NetlinkSocketError('recvmsg', 9) });
    assert.deepEqual(unrefs, [5], 'the 5 ms reopen timer is unref\'d');
    h.clock.advance(5);
    assert.equal(h.sockets.length, 2, 'and still fires');
  });

  describe('one dump session: every failure ends it without pruning and asks again', () => {
    /** A ready monitor with links 1, 2 and 3, then an overrun: the resync dump is in flight. */
    function resyncInFlight(): { h: Harness; s: FakeSocket; seq: number } {
      const h = harness();
      h.monitor.start();
      const s = h.socket();
      const seq0 = s.sentSeq(0);
      s.kernel(dumpLink(s, seq0, veth(1)), dumpLink(s, seq0, veth(2)), dumpLink(s, seq0, veth(3)), dumpDone(s, seq0));
      assert.equal(h.monitor.ready, true);
      s.deliver({ kind: 'overrun' });
      assert.equal(s.sent.length, 2);
      return { h, s, seq: s.sentSeq(1) };
    }

    const links = (h: Harness): number[] => [...h.table.links()].map((l) => l.ifindex).sort();
    /** Lets the first backoff (5 ms) pass. */
    const afterBackoff = (h: Harness): void => h.clock.advance(5);

    it('DONE(-EMSGSIZE) after a partial resync prunes nothing and dumps again after a backoff', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(dumpLink(s, seq, veth(1)));
      s.kernel(nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: s.portId }, int32(-90)));
      assert.deepEqual(links(h), [1, 2, 3], 'links the partial dump did not reach are kept');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'done_error' }), 1);
      assert.equal(s.sent.length, 2, 'not at once: after a backoff');
      afterBackoff(h);
      assert.equal(s.sent.length, 3);
      const seq2 = s.sentSeq(2);
      s.kernel(dumpLink(s, seq2, veth(1)), dumpLink(s, seq2, veth(3)), dumpDone(s, seq2));
      assert.deepEqual(links(h), [1, 3], 'the complete dump that follows prunes');
      await h.monitor.close();
    });

    it('NLMSG_ERROR for the dump request (EBUSY) prunes nothing and dumps again', async () => {
      const { h, s } = resyncInFlight();
      s.kernel(errorMessage(-16, s.sent[1]!.subarray(0, 16)));
      assert.deepEqual(links(h), [1, 2, 3]);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'refused' }), 1);
      afterBackoff(h);
      assert.equal(s.sent.length, 3);
      assert.equal(h.monitor.ready, true, 'a failed resync does not make a ready exporter unready');
      await h.monitor.close();
    });

    it('an NLMSG_ERROR answering another request does not end the dump', async () => {
      const { h, s, seq } = resyncInFlight();
      const other = Buffer.from(s.sent[1]!.subarray(0, 16));
      other.writeUInt32LE(seq + 1000, 8);
      s.kernel(errorMessage(-16, other));
      s.kernel(dumpLink(s, seq, veth(1)), dumpDone(s, seq));
      assert.deepEqual(links(h), [1], 'the dump completed and pruned');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'refused' }), 0);
      await h.monitor.close();
    });

    it('NLM_F_DUMP_INTR on a reply prunes nothing and dumps again after a backoff', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(dumpLink(s, seq, veth(1), NLM_F_DUMP_INTR), dumpDone(s, seq));
      assert.deepEqual(links(h), [1, 2, 3]);
      h.clock.advance(4);
      assert.equal(s.sent.length, 2, 'not at once');
      h.clock.advance(1);
      assert.equal(s.sent.length, 3);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dumps_interrupted_total'), 1);
      await h.monitor.close();
    });

    it('a dump datagram dropped as truncated (MSG_TRUNC) ends the dump: nothing pruned, dumped again', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(dumpLink(s, seq, veth(1)));
      s.deliver({ kind: 'datagram', data: Buffer.concat([dumpLink(s, seq, veth(3)), dumpDone(s, seq)]).subarray(0, 40), senderPid: 0, truncated: true });
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'truncated' }), 1);
      // the DONE may have been in the lost datagram: do not wait for it
      s.kernel(dumpDone(s, seq));
      assert.deepEqual(links(h), [1, 2, 3]);
      afterBackoff(h);
      assert.equal(s.sent.length, 3);
      await h.monitor.close();
    });

    it('a truncated notification (not a reply) leaves the dump running', async () => {
      const { h, s, seq } = resyncInFlight();
      s.deliver({ kind: 'datagram', data: linkMessageBytes(veth(9)).subarray(0, 40), senderPid: 0, truncated: true });
      s.kernel(dumpLink(s, seq, veth(1)), dumpDone(s, seq));
      assert.deepEqual(links(h), [1]);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'truncated' }), 0);
      await h.monitor.close();
    });

    it('an undecodable dump datagram ends the dump: nothing pruned, counted, dumped again', async () => {
      const { h, s, seq } = resyncInFlight();
      const bad = dumpLink(s, seq, veth(1));
      bad.writeUInt32LE(bad.length + 64, 0); // nlmsg_len past the end of the datagram
      s.kernel(bad);
      s.kernel(dumpDone(s, seq));
      assert.deepEqual(links(h), [1, 2, 3]);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'undecodable' }), 1);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'truncated' }), 1);
      afterBackoff(h);
      assert.equal(s.sent.length, 3);
      await h.monitor.close();
    });

    it('a socket error mid-dump prunes nothing; the reopened socket dumps afresh', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(dumpLink(s, seq, veth(1)));
      s.deliver({ kind: 'error', error: new NetlinkSocketError('recvmsg', 9) });
      assert.deepEqual(links(h), [1, 2, 3]);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'socket_error' }), 1);
      afterBackoff(h);
      const fresh = h.socket();
      assert.notEqual(fresh, s);
      assert.equal(fresh.sent.length, 1);
      fresh.kernel(dumpLink(fresh, fresh.sentSeq(0), veth(2)), dumpDone(fresh, fresh.sentSeq(0)));
      assert.deepEqual(links(h), [2]);
      await h.monitor.close();
    });

    it('an overrun during a dump: it completes without pruning and another dump follows, which prunes', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(dumpLink(s, seq, veth(1)));
      s.deliver({ kind: 'overrun' });
      s.kernel(dumpDone(s, seq));
      assert.deepEqual(links(h), [1, 2, 3]);
      assert.equal(s.sent.length, 3);
      const seq2 = s.sentSeq(2);
      s.kernel(dumpLink(s, seq2, veth(2)), dumpDone(s, seq2));
      assert.deepEqual(links(h), [2]);
      await h.monitor.close();
    });

    it('a dump whose answer never comes (lost in a full buffer) is given up without pruning and asked again', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(dumpLink(s, seq, veth(1)));
      h.clock.advance(100);
      s.kernel(dumpLink(s, seq, veth(2))); // still making progress: not stalled
      h.clock.advance(100);
      assert.equal(s.sent.length, 2, 'a dump that makes progress is left alone');
      // the check at 150 ms saw progress; the one at 300 ms sees none since: given up, then the backoff
      h.clock.advance(99);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'stalled' }), 0);
      h.clock.advance(1);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'stalled' }), 1);
      assert.deepEqual(links(h), [1, 2, 3]);
      assert.equal(s.sent.length, 2, 'not at once: after a backoff');
      afterBackoff(h);
      assert.equal(s.sent.length, 3, 'asked again');
      const latest = s.sentSeq(s.sent.length - 1);
      s.kernel(dumpLink(s, latest, veth(2)), dumpDone(s, latest));
      assert.deepEqual(links(h), [2]);
      await h.monitor.close();
    });

    /** The first dump done with these veths; the per-link hook (the ethtool client's) records removals. */
    function dumped(...ifindexes: number[]): { h: Harness; s: FakeSocket; removed: () => number[] } {
      const results: LinkChange[] = [];
      const h = harness({ onChange: (r) => results.push(r) });
      h.monitor.start();
      const s = h.socket();
      const seq0 = s.sentSeq(0);
      s.kernel(...ifindexes.map((i) => dumpLink(s, seq0, veth(i))), dumpDone(s, seq0));
      return { h, s, removed: () => results.flatMap((r) => (r.kind === 'removed' || r.kind === 'evicted' || r.kind === 'pruned' ? [r.link.ifindex] : [])) };
    }

    it('after an overrun the resync waits until the socket has been read empty (the kernel reports no loss before that)', async () => {
      const { h, s } = dumped(1);
      // an overrun, then a round that filled up before the socket was empty
      s.deliverBatch([{ kind: 'overrun' }, { kind: 'datagram', data: linkMessageBytes(veth(1)), senderPid: 0, truncated: false }], false);
      assert.equal(s.sent.length, 1, 'no dump while the kernel may still be dropping silently');
      s.deliverBatch([{ kind: 'datagram', data: linkMessageBytes(veth(1)), senderPid: 0, truncated: false }], false);
      assert.equal(s.sent.length, 1);
      s.deliverBatch([], true); // read empty: from now on every loss is reported
      assert.equal(s.sent.length, 2, 'the resync is asked for once the socket was drained');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_resyncs_total'), 1);
      await h.monitor.close();
    });

    it('after an overrun the notifications still queued are skipped undecoded and counted; the resync dump sets the table', async () => {
      const { h, s } = dumped(1);
      const down = { carrier: 0, flags: IFF_UP, carrierChanges: 3, carrierDownCount: 2 };
      const logsBefore = h.logs.length;
      s.deliverBatch(
        [
          { kind: 'overrun' },
          { kind: 'datagram', data: linkMessageBytes(veth(1, down)), senderPid: 0, truncated: false },
          { kind: 'datagram', data: linkMessageBytes(veth(9)), senderPid: 0, truncated: false },
          // not even decoded: a body that would not decode is no drop either
          { kind: 'datagram', data: nlmsg({ type: RTM_NEWLINK }, Buffer.alloc(4)), senderPid: 0, truncated: false },
        ],
        true,
      );
      assert.equal(h.table.get(1)!.carrier, true, 'the queued change was not applied');
      assert.equal(h.table.get(9), undefined, 'nor the queued new link');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_superseded_total'), 3);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_messages_total', { type: 'newlink' }), 4, 'still counted as received');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_dropped_total', { reason: 'short_ifinfomsg' }), 0);
      assert.ok(!h.logs.slice(logsBefore).some((l) => l['msg'] === 'carrier changed'), 'no line for a change the dump will tell');
      // drained: the resync; its replies and the notifications after it are applied again
      assert.equal(s.sent.length, 2);
      const seq1 = s.sentSeq(1);
      s.kernel(dumpLink(s, seq1, veth(1, down)), dumpLink(s, seq1, veth(9)), dumpDone(s, seq1));
      assert.equal(h.table.get(1)!.carrier, false);
      assert.equal(h.table.get(1)!.carrierChanges, 3);
      assert.deepEqual(links(h), [1, 9]);
      assert.ok(h.logs.slice(logsBefore).some((l) => l['msg'] === 'carrier changed' && l['device'] === 'veth1'), 'the dump logs the change it found');
      s.kernel(linkMessageBytes(veth(1, { carrierChanges: 4, carrierUpCount: 2, carrierDownCount: 2 })));
      assert.equal(h.table.get(1)!.carrier, true);
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_superseded_total'), 3);
      await h.monitor.close();
    });

    it('a link whose deletion was lost is removed by the resync, and the per-link hook (ethtool) hears it is gone', async () => {
      const { h, s, removed } = dumped(1, 2);
      s.deliver({ kind: 'overrun' }); // veth2's RTM_DELLINK was lost in it
      const seq1 = s.sentSeq(1);
      s.kernel(dumpLink(s, seq1, veth(1)), dumpDone(s, seq1));
      assert.deepEqual(links(h), [1]);
      assert.deepEqual(removed(), [2]);
      await h.monitor.close();
    });

    it('a stale link dropped because a new link took its name: the per-link hook (ethtool) hears it is gone', async () => {
      const { h, s, removed } = dumped(1, 2);
      // veth2 (ifindex 2) was deleted unseen; a new device of that name has ifindex 7
      s.kernel(linkMessageBytes(veth(7, { ifname: 'veth2' })));
      assert.deepEqual(links(h), [1, 7]);
      assert.deepEqual(removed(), [2]);
      assert.ok(h.logs.some((l) => l['msg'] === 'link gone (a new link took its name), removed' && l['ifindex'] === 2));
      await h.monitor.close();
    });

    it('while a namespace\'s dumps are failing, an overrun skips none of its notifications (no dump would supersede them)', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid: s.portId }, int32(-90))); // the resync failed
      s.deliverBatch(
        [{ kind: 'overrun' }, { kind: 'datagram', data: linkMessageBytes(veth(1, { carrier: 0, flags: IFF_UP, carrierChanges: 3, carrierDownCount: 2 })), senderPid: 0, truncated: false }],
        true,
      );
      assert.equal(h.table.get(1)!.carrier, false, 'applied');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_superseded_total'), 0);
      await h.monitor.close();
    });

    it('a dump in flight when the overrun comes still gets every notification (it is repeated afterwards)', async () => {
      const { h, s, seq } = resyncInFlight();
      s.deliverBatch([{ kind: 'overrun' }, { kind: 'datagram', data: linkMessageBytes(veth(10)), senderPid: 0, truncated: false }], false);
      s.kernel(dumpLink(s, seq, veth(1)), dumpDone(s, seq));
      assert.ok(h.table.get(10) !== undefined, 'the notification was applied');
      assert.equal(await value(h.metrics, 'linkstate_exporter_netlink_superseded_total'), 0);
      await h.monitor.close();
    });

    it('a link created by an event during the dump survives its prune; one deleted during it is gone', async () => {
      const { h, s, seq } = resyncInFlight();
      s.kernel(dumpLink(s, seq, veth(1)), dumpLink(s, seq, veth(2)));
      s.kernel(linkMessageBytes(veth(10))); // created after the dump passed its index
      s.kernel(linkMessageBytes({ ...veth(2), kind: 'del' })); // deleted after the dump reported it
      s.kernel(dumpDone(s, seq));
      assert.deepEqual(links(h), [1, 10]);
      await h.monitor.close();
    });
  });
});

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return b;
}
