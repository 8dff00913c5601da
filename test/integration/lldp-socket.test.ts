// The LLDP packet socket against the real kernel: opened inside a throwaway namespace (the test
// enters it on the main thread), fed by Debian's lldpd or by an AF_PACKET sender in a peer
// namespace at the other end of a veth. Namespaces are named lldpsock-*.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { decodeLldpdu } from '../../src/lldp/lldpdu.js';
import { LLDP_MULTICAST, LldpPacketSocket, isLldpDestination, type LldpFrame } from '../../src/lldp/packet-socket.js';
import { END_TLV, ethernetFrame, idTlv, ttlTlv } from '../helpers/lldp-bytes.js';
import { startLldpd } from '../helpers/lldpd.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { openPacketSender, type PacketSender } from '../helpers/packet-sender.js';

const SOCKET_MODULE = new URL('../../src/lldp/packet-socket.js', import.meta.url).href;
const FLOOD_SCRIPT = fileURLToPath(new URL('../helpers/lldp-flood.js', import.meta.url));
const PEER_MAC = '02:00:5e:10:00:07';
const BROADCAST = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const LLDP_DESTINATION = Buffer.from([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e]);

/** A namespace with the socket (rx) and a peer namespace (tx) joined by a veth: peer0 ↔ lldp0. */
interface Lab {
  rx: Netns;
  tx: Netns;
  /** ifindex of lldp0 in rx. */
  ifindex: number;
  socket: LldpPacketSocket;
  frames: LldpFrame[];
  /** Lengths of the listener's calls, in order. */
  rounds: number[];
  /** A sender on peer0 in tx. */
  sender: PacketSender;
  /** Resolves once a frame satisfying `test` has arrived (rejects after `ms`). */
  waitFor(test: (frame: LldpFrame) => boolean, ms?: number): Promise<LldpFrame>;
}

async function ifindexOf(netns: Netns, name: string): Promise<number> {
  const [link] = JSON.parse(await netns.run('ip', ['-j', 'link', 'show', 'dev', name])) as { ifindex: number }[];
  assert.ok(link, `link ${name} in ${netns.name}`);
  return link.ifindex;
}

async function operstateUp(netns: Netns, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [link] = JSON.parse(await netns.run('ip', ['-j', 'link', 'show', 'dev', name])) as { operstate: string }[];
    if (link?.operstate === 'UP') return;
    await delay(50);
  }
  assert.fail(`${name} in ${netns.name} is not UP after 5 s`);
}

async function makeLab(
  t: TestContext,
  opts: { receiveBufferBytes?: number; roundFrames?: number; onRound?: (rounds: number) => void } = {},
): Promise<Lab> {
  const rx = await createNetns('lldpsock-rx');
  t.after(() => rx.destroy());
  const tx = await createNetns('lldpsock-tx');
  t.after(() => tx.destroy());
  await tx.ipBatch([`link add peer0 address ${PEER_MAC} type veth peer name lldp0 netns ${rx.name}`, 'link set peer0 up']);
  await rx.ipBatch(['link set lldp0 up']);
  // linkwatch gives a link its qdisc when the carrier comes up; frames sent before are dropped
  await operstateUp(tx, 'peer0');
  await operstateUp(rx, 'lldp0');
  const ifindex = await ifindexOf(rx, 'lldp0');
  let back = enterNetns(rx.name);
  let socket: LldpPacketSocket;
  try {
    socket = LldpPacketSocket.open({
      ...(opts.receiveBufferBytes === undefined ? {} : { receiveBufferBytes: opts.receiveBufferBytes }),
      ...(opts.roundFrames === undefined ? {} : { roundFrames: opts.roundFrames }),
    });
  } finally {
    back();
  }
  t.after(() => socket.close());
  back = enterNetns(tx.name);
  let sender: PacketSender;
  try {
    sender = openPacketSender('peer0');
  } finally {
    back();
  }
  t.after(() => sender.close());
  const frames: LldpFrame[] = [];
  const rounds: number[] = [];
  const waiters = new Set<() => void>();
  socket.start(
    (batch) => {
      rounds.push(batch.length);
      frames.push(...batch);
      opts.onRound?.(rounds.length);
      for (const wake of waiters) wake();
    },
    (error) => assert.fail(`socket failed: ${error.message}`),
  );
  const waitFor = (match: (frame: LldpFrame) => boolean, ms = 10_000): Promise<LldpFrame> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = frames.find(match);
        if (found === undefined) return false;
        waiters.delete(wake);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        // what the links counted, to tell a frame lost on the way from one the socket missed
        void Promise.all([rx.run('ip', ['-s', 'link', 'show', 'lldp0']), tx.run('ip', ['-s', 'link', 'show', 'peer0'])]).then(
          ([here, there]) =>
            reject(new Error(`no such frame within ${ms} ms (${frames.length} frames in ${rounds.length} rounds; failure ${socket.failure?.message})\n${here}${there}`)),
          reject,
        );
      }, ms);
      if (!check()) waiters.add(wake);
    });
  return { rx, tx, ifindex, socket, frames, rounds, sender, waitFor };
}

const lldpdu = (portId: string): Buffer => Buffer.concat([idTlv(1, 7, 'probe'), idTlv(2, 7, portId), ttlTlv(120), END_TLV]);
const portIdOf = (frame: LldpFrame): string | undefined => {
  const decoded = decodeLldpdu(frame.payload);
  return decoded.ok ? decoded.neighbor.portId : undefined;
};

/**
 * Sends an LLDP frame labelled LABEL to 01:80:c2:00:00:0e, then a marker to the broadcast address
 * (which every filter lets through); frames of one link arrive in order, so once the marker is
 * in, the LLDP frame is in too, or was not delivered. Returns whether it was.
 */
async function delivered(lab: Lab, label: string, ifindex: number): Promise<boolean> {
  lab.sender.send(ethernetFrame([0x02, 0x00, 0x5e, 0x10, 0x00, 0x07], lldpdu(label)));
  lab.sender.send(ethernetFrame([0x02, 0x00, 0x5e, 0x10, 0x00, 0x07], lldpdu(`marker-${label}`), BROADCAST));
  await lab.waitFor((f) => f.ifindex === ifindex && portIdOf(f) === `marker-${label}`);
  return lab.frames.some((f) => f.ifindex === ifindex && portIdOf(f) === label);
}

async function maddr(netns: Netns, dev: string): Promise<string> {
  return netns.run('ip', ['maddr', 'show', 'dev', dev]);
}

test('without CAP_NET_RAW open() fails with EPERM; with it the same child opens the socket', async (t) => {
  if (!requireRoot(t)) return;
  const script = `import(${JSON.stringify(SOCKET_MODULE)}).then(async (m) => {
    try { const s = m.LldpPacketSocket.open(); await s.close(); console.log('opened'); }
    catch (e) { console.log(e.code + ' ' + e.operation + ' ' + e.errnoName + ' ' + e.errno); }
  })`;
  const dropped = spawnSync('setpriv', ['--inh-caps=-net_raw', '--bounding-set=-net_raw', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(dropped.status, 0, dropped.stderr);
  assert.equal(dropped.stdout.trim(), 'LLDP_SOCKET socket EPERM 1');
  const kept = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(kept.status, 0, kept.stderr);
  assert.equal(kept.stdout.trim(), 'opened');
});

test("lldpd's frames arrive with the link's ifindex and lldpd's MAC, and decode to what it was told", async (t) => {
  if (!requireRoot(t)) return;
  const lab = await makeLab(t);
  lab.socket.join(lab.ifindex);
  const lldpd = await startLldpd(lab.tx, 'peer0');
  t.after(() => lldpd.stop());
  await lldpd.cli(['configure', 'lldp', 'tx-interval', '1']);
  await lldpd.cli(['configure', 'system', 'hostname', 'leaf-07']);
  await lldpd.cli(['configure', 'ports', 'peer0', 'lldp', 'portidsubtype', 'local', 'Ethernet1/12', 'description', 'uplink to db-12 eth3']);
  assert.equal(lab.frames.length, 0, 'lldpd sends nothing while paused');
  await lldpd.cli(['resume']);
  const frame = await lab.waitFor((f) => f.source === PEER_MAC);
  assert.equal(frame.ifindex, lab.ifindex);
  assert.equal(frame.destination, LLDP_MULTICAST);
  assert.ok(isLldpDestination(frame.destination));
  assert.equal(frame.truncated, false);
  const decoded = decodeLldpdu(frame.payload);
  assert.ok(decoded.ok, JSON.stringify(decoded));
  assert.equal(decoded.neighbor.systemName, 'leaf-07');
  assert.equal(decoded.neighbor.portId, 'Ethernet1/12');
  assert.equal(decoded.neighbor.portDescription, 'uplink to db-12 eth3');
  assert.equal(decoded.neighbor.chassisId, PEER_MAC);
  // lldpd's SIGTERM sends a shutdown LLDPDU, which arrives too
  const before = lab.frames.length;
  await lldpd.stop();
  const shutdown = await lab.waitFor((f) => lab.frames.indexOf(f) >= before && !decodeLldpdu(f.payload).ok);
  assert.deepEqual(decodeLldpdu(shutdown.payload), { ok: false, reason: 'shutdown', chassisId: PEER_MAC, portId: 'Ethernet1/12' });
});

test('veth: join and leave add and remove 01:80:c2:00:00:0e on the link, and frames arrive either way', async (t) => {
  if (!requireRoot(t)) return;
  const lab = await makeLab(t);
  assert.doesNotMatch(await maddr(lab.rx, 'lldp0'), /01:80:c2:00:00:0e/);
  // veth hands its peer every frame (no multicast filter): delivered without a membership
  assert.equal(await delivered(lab, 'before-join', lab.ifindex), true);
  lab.socket.join(lab.ifindex);
  lab.socket.join(lab.ifindex); // idempotent: one membership, left by one leave
  assert.match(await maddr(lab.rx, 'lldp0'), /link\s+01:80:c2:00:00:0e/);
  assert.deepEqual(lab.socket.joinedLinks(), [lab.ifindex]);
  assert.equal(await delivered(lab, 'joined', lab.ifindex), true);
  lab.socket.leave(lab.ifindex);
  assert.doesNotMatch(await maddr(lab.rx, 'lldp0'), /01:80:c2:00:00:0e/);
  assert.equal(await delivered(lab, 'left', lab.ifindex), true);
  lab.socket.leave(lab.ifindex); // not joined: nothing to do
});

test('join on a missing link fails with ENODEV; leave of a deleted link is no error', async (t) => {
  if (!requireRoot(t)) return;
  const lab = await makeLab(t);
  assert.throws(() => lab.socket.join(99_999), (e: Error & { errnoName?: string }) => e.errnoName === 'ENODEV');
  await lab.rx.ipBatch(['link add lldpbr0 type bridge', 'link set lldpbr0 up']);
  const bridge = await ifindexOf(lab.rx, 'lldpbr0');
  lab.socket.join(bridge);
  assert.match(await maddr(lab.rx, 'lldpbr0'), /01:80:c2:00:00:0e/);
  await lab.rx.ipBatch(['link del lldpbr0']);
  lab.socket.leave(bridge);
  assert.deepEqual(lab.socket.joinedLinks(), []);
});

test('macvlan: frames to 01:80:c2:00:00:0e pass its multicast filter only once joined', async (t) => {
  if (!requireRoot(t)) return;
  const lab = await makeLab(t);
  // The filter is a 256-bit hash; another address of the link may share the LLDP address's bit
  // (a salt per macvlan). Then a fresh macvlan is taken, at most three times.
  let mv = 0;
  for (let attempt = 0; attempt < 3 && mv === 0; attempt++) {
    const name = `lldpmv${attempt}`;
    await lab.rx.ipBatch([`link add ${name} link lldp0 type macvlan mode bridge`, `link set ${name} up`]);
    const index = await ifindexOf(lab.rx, name);
    if (!(await delivered(lab, `unjoined-${attempt}`, index))) mv = index;
  }
  assert.ok(mv !== 0, 'three macvlans all let the LLDP address through unjoined');
  lab.socket.join(mv);
  assert.equal(await delivered(lab, 'joined', mv), true);
});

test('a flood of 20,000 frames from another process is read in bounded rounds while timers keep running', async (t) => {
  if (!requireRoot(t)) return;
  const roundFrames = 64;
  const lab = await makeLab(t, { roundFrames, receiveBufferBytes: 4 * 1024 * 1024 });
  lab.socket.join(lab.ifindex);
  const count = 20_000;
  const child = spawn('ip', ['netns', 'exec', lab.tx.name, process.execPath, FLOOD_SCRIPT, 'peer0', String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Timers while the flood is read: the largest lateness of a 5 ms interval, and the loop's delay.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let maxLagMs = 0;
  let last = performance.now();
  const interval = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last - 5);
    last = now;
  }, 5);
  t.after(() => clearInterval(interval));
  const started = performance.now();
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /sent 20000/);
  // the last frames may still be queued: wait until nothing new arrives for 200 ms
  for (let seen = -1; seen !== lab.frames.length; ) {
    seen = lab.frames.length;
    await delay(200);
  }
  clearInterval(interval);
  loopDelay.disable();
  const elapsedMs = performance.now() - started;
  const floods = lab.frames.filter((f) => portIdOf(f) === 'Ethernet1/1');
  const drops = lab.socket.takeKernelDrops();
  const ms = (ns: number): string => (ns / 1e6).toFixed(1);
  console.log(
    `flood: ${floods.length} of ${count} frames read in ${lab.rounds.length} rounds (largest ${Math.max(...lab.rounds)}) within ${elapsedMs.toFixed(0)} ms, ` +
      `${drops} dropped by the kernel; timer lag at most ${maxLagMs.toFixed(1)} ms, loop delay p50 ${ms(loopDelay.percentile(50))} p99 ${ms(loopDelay.percentile(99))} max ${ms(loopDelay.max)} ms`,
  );
  assert.ok(floods.length > 0);
  assert.ok(floods.length + drops <= count, `${floods.length} read + ${drops} dropped > ${count} sent`);
  assert.ok(Math.max(...lab.rounds) <= roundFrames, `a round of ${Math.max(...lab.rounds)} frames`);
  assert.ok(lab.rounds.length >= Math.ceil(floods.length / roundFrames));
  // On this 2-core machine the lag is mostly the flooding process and the kernel's softirq work
  // taking the CPU; rounds without a bound would hold the loop for the whole backlog.
  assert.ok(maxLagMs < 1000, `timers waited ${maxLagMs.toFixed(1)} ms`);
  // every frame has its ifindex and sender
  for (const f of floods) {
    assert.equal(f.ifindex, lab.ifindex);
    assert.equal(f.source, '02:00:5e:10:0f:01');
  }
});

test('a backlog larger than one round is read in several, and a timer runs between them', async (t) => {
  if (!requireRoot(t)) return;
  const roundFrames = 32;
  // A timer set during the first round, with a listener that takes 2 ms a round (as decoding
  // might), must fire before the last round: the rounds give the loop back.
  let roundsWhenTimerFired = -1;
  const onRound = (n: number): void => {
    if (n === 1) setTimeout(() => (roundsWhenTimerFired = lab.rounds.length), 0);
    const until = performance.now() + 2;
    while (performance.now() < until);
  };
  const lab = await makeLab(t, { roundFrames, receiveBufferBytes: 4 * 1024 * 1024, onRound });
  // 200 frames sent while the loop is busy here: all queued before the first round runs
  for (let i = 0; i < 200; i++) lab.sender.send(ethernetFrame([0x02, 0x00, 0x5e, 0x10, 0x00, 0x07], lldpdu(`backlog-${i}`)));
  await lab.waitFor((f) => portIdOf(f) === 'backlog-199');
  const rounds = lab.rounds;
  assert.equal(lab.frames.length, 200);
  assert.ok(rounds.length >= Math.ceil(200 / roundFrames), `rounds: ${rounds.join(',')}`);
  assert.ok(rounds.every((n) => n <= roundFrames), `rounds: ${rounds.join(',')}`);
  assert.ok(roundsWhenTimerFired > 0 && roundsWhenTimerFired < rounds.length, `timer fired after ${roundsWhenTimerFired} of ${rounds.length} rounds`);
  assert.deepEqual(
    lab.frames.map(portIdOf),
    Array.from({ length: 200 }, (_, i) => `backlog-${i}`),
  );
});

test('frames that overflow a small receive buffer are counted by the kernel: read + dropped = sent', async (t) => {
  if (!requireRoot(t)) return;
  const lab = await makeLab(t, { receiveBufferBytes: 1 }); // the kernel's minimum
  const sent = 200;
  // sent while the loop is busy here: the buffer holds only a few of them
  for (let i = 0; i < sent; i++) lab.sender.send(ethernetFrame([0x02, 0x00, 0x5e, 0x10, 0x00, 0x07], lldpdu(`overflow-${i}`)));
  await lab.waitFor((f) => portIdOf(f)?.startsWith('overflow-') === true);
  // then, once read, two more (an LLDP frame and a marker) fit: everything before them is in
  assert.equal(await delivered(lab, 'after-overflow', lab.ifindex), true);
  const read = lab.frames.filter((f) => portIdOf(f)?.startsWith('overflow-')).length;
  const drops = lab.socket.takeKernelDrops();
  assert.ok(drops > 0, `no drops: ${read} read`);
  assert.equal(read + drops, sent, `${read} read + ${drops} dropped`);
  assert.equal(lab.socket.takeKernelDrops(), 0, 'reading the statistics resets them');
});

// The kernel's doing (outgoing frames go only to ETH_P_ALL sockets): this guards the binding to
// ETH_P_LLDP, which an ETH_P_ALL socket with a filter would lose.
test('frames this host sends on the link are not read back', async (t) => {
  if (!requireRoot(t)) return;
  const lab = await makeLab(t);
  // a sender in the socket's own namespace, on the socket's link
  const back = enterNetns(lab.rx.name);
  let own: PacketSender;
  try {
    own = openPacketSender('lldp0');
  } finally {
    back();
  }
  t.after(() => own.close());
  own.send(ethernetFrame([0x02, 0x00, 0x5e, 0x10, 0x00, 0x12], lldpdu('outgoing'), LLDP_DESTINATION));
  assert.equal(await delivered(lab, 'incoming', lab.ifindex), true);
  assert.equal(lab.frames.some((f) => portIdOf(f) === 'outgoing'), false);
});
