// LLDP on vs off (run as root: `npm run build && node dist/bench/lldp-run.js`). In lab namespaces
// of its own (lldpb-*):
// 1. at rest, no frames: RSS, CPU and wake-ups of the exporter with and without --collector.lldp,
//    interleaved runs;
// 2. a flood of 10,000 LLDP frames a second (random chassis ids) on one port from a sender in a
//    peer namespace, while a veth in the exporter's namespace flaps: the latency from the
//    `ip link set` to the carrier event on /api/v1/events, with and without the flood, and what
//    the exporter counted (frames read, dropped by the kernel's full receive buffer).
// Prints JSON; the machine may be busy (other builds): repeat and compare spreads.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNetns, enterNetns, type Netns } from '../test/helpers/netns.js';
import { startExporter, type RunningExporter } from '../test/helpers/exporter.js';
import { collectedMemory, startProbedExporter } from '../test/helpers/memory-probe.js';
import { contextSwitches, cpuSeconds, memory } from './lib/proc.js';
import { sleep, monoMs } from './lib/clock.js';

const SENDER = fileURLToPath(new URL('./lldp-sender.js', import.meta.url));
const REST_SETTLE_S = Number(process.env['LLDP_BENCH_SETTLE'] ?? 5);
const REST_WINDOW_S = Number(process.env['LLDP_BENCH_WINDOW'] ?? 20);
const REPS = Number(process.env['LLDP_BENCH_REPS'] ?? 3);
const RATE = 10_000;
const FLOOD_S = Number(process.env['LLDP_BENCH_FLOOD'] ?? 12);
const FLAPS = 40;

const stat = (xs: number[]): { median: number; p95: number; max: number; n: number } => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? NaN, n: s.length };
};
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

async function start(exp: Netns, lldp: boolean): Promise<RunningExporter> {
  return startExporter(exp, [...(lldp ? ['--collector.lldp'] : []), '--log.level=info']);
}

async function rest(exp: Netns): Promise<Record<string, unknown>> {
  const runs: Record<'off' | 'on', { rssMiB: number; cpuPercent: number; wakeupsPerSecond: number }[]> = { off: [], on: [] };
  for (let rep = 0; rep < REPS; rep++) {
    for (const mode of ['off', 'on'] as const) {
      const exporter = await start(exp, mode === 'on');
      const pid = exporter.child.pid!;
      await exporter.get('/metrics'); // one scrape, as Prometheus would have made
      await sleep(REST_SETTLE_S * 1000);
      const cpu0 = cpuSeconds(pid);
      const cs0 = contextSwitches(pid);
      const t0 = monoMs();
      await sleep(REST_WINDOW_S * 1000);
      const wall = (monoMs() - t0) / 1000;
      runs[mode].push({
        rssMiB: round(memory(pid).rss / 2 ** 20),
        cpuPercent: round(((cpuSeconds(pid) - cpu0) / wall) * 100, 3),
        wakeupsPerSecond: round((contextSwitches(pid) - cs0) / wall),
      });
      await exporter.stop();
    }
  }
  return runs;
}

/** Flaps fl1 FLAPS times; resolves to the latencies (ms) from each `ip link set` to its event. */
async function flapLatencies(exp: Netns, exporter: RunningExporter): Promise<number[]> {
  const controller = new AbortController();
  const res = await fetch(`${exporter.base}/api/v1/events`, { signal: controller.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const waiters: ((to: string) => void)[] = [];
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith('data: ')) continue;
        const e = JSON.parse(line.slice(6)) as { device: string; type: string; to: string };
        if (e.device === 'fl0' && e.type === 'carrier') waiters.shift()?.(e.to);
      }
    }
  })();
  await sleep(300);
  const latencies: number[] = [];
  for (let i = 0; i < FLAPS; i++) {
    const to = i % 2 === 0 ? 'down' : 'up';
    const seen = new Promise<string>((resolve) => waiters.push(resolve));
    const t0 = performance.now();
    spawnSync('ip', ['-n', exp.name, 'link', 'set', 'fl1', to]);
    const got = await Promise.race([seen, sleep(5000).then(() => 'timeout')]);
    if (got !== to) throw new Error(`flap ${i}: expected ${to}, got ${got}`);
    latencies.push(performance.now() - t0);
    await sleep(100);
  }
  controller.abort();
  await pump;
  return latencies;
}

function counter(body: string, name: string): number {
  return Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);
}

async function flood(exp: Netns, peer: Netns): Promise<Record<string, unknown>> {
  const exporter = await start(exp, true);
  const pid = exporter.child.pid!;
  try {
    await sleep(1000);
    const quiet = await flapLatencies(exp, exporter);
    const before = (await exporter.get('/metrics')).text;
    const cpu0 = cpuSeconds(pid);
    const seconds = FLOOD_S;
    // RSS every 2 s of the flood: flat when nothing accumulates.
    const rssSamples: number[] = [];
    const sampler = setInterval(() => rssSamples.push(round(memory(pid).rss / 2 ** 20)), 2000);
    const sender = spawn('ip', ['netns', 'exec', peer.name, process.execPath, SENDER, 'lpeer0', String(RATE), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    sender.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const senderDone = new Promise<void>((resolve) => sender.once('exit', () => resolve()));
    const t0 = monoMs();
    await sleep(1000);
    const flooded = await flapLatencies(exp, exporter);
    await senderDone;
    clearInterval(sampler);
    const wall = (monoMs() - t0) / 1000;
    await sleep(500);
    const after = (await exporter.get('/metrics')).text;
    const frames = counter(after, 'linkstate_exporter_lldp_frames_total') - counter(before, 'linkstate_exporter_lldp_frames_total');
    const kernelDrops =
      counter(after, 'linkstate_exporter_lldp_frames_dropped_total{reason="receive_buffer"}') -
      counter(before, 'linkstate_exporter_lldp_frames_dropped_total{reason="receive_buffer"}');
    const limited =
      counter(after, 'linkstate_exporter_lldp_frames_dropped_total{reason="neighbor_limit"}') -
      counter(before, 'linkstate_exporter_lldp_frames_dropped_total{reason="neighbor_limit"}');
    const neighbours = (after.match(/^linkstate_lldp_neighbor_info\{/gm) ?? []).length;
    return {
      sent: out.trim(),
      framesRead: frames,
      kernelDrops,
      refusedByLimit: limited,
      neighboursHeld: neighbours,
      exporterCpuPercentDuringFlood: round(((cpuSeconds(pid) - cpu0) / wall) * 100, 1),
      rssMiBAfterFlood: round(memory(pid).rss / 2 ** 20),
      rssMiBEvery2sDuringFlood: rssSamples,
      flapLatencyMsQuiet: Object.fromEntries(Object.entries(stat(quiet)).map(([k, v]) => [k, round(v)])),
      flapLatencyMsFlood: Object.fromEntries(Object.entries(stat(flooded)).map(([k, v]) => [k, round(v)])),
    };
  } finally {
    await exporter.stop();
  }
}

function runSender(peer: Netns, seconds: number): Promise<string> {
  const sender = spawn('ip', ['netns', 'exec', peer.name, process.execPath, SENDER, 'lpeer0', String(RATE), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  sender.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  return new Promise((resolve) => sender.once('exit', () => resolve(out.trim())));
}

/** Memory after a forced full GC (memory-probe.ts): before, after one flood, after a second one. */
async function floodMemory(exp: Netns, peer: Netns, seconds: number): Promise<Record<string, unknown>[]> {
  const exporter = await startProbedExporter(exp, ['--collector.lldp', '--log.level=info']);
  const out: Record<string, unknown>[] = [];
  const probe = async (when: string): Promise<void> => {
    const m = await collectedMemory(exporter);
    out.push({
      when,
      heapUsedMiB: round(m.heapUsedBytes / 2 ** 20),
      rssMiB: round(m.rssBytes / 2 ** 20),
      externalMiB: round(m.externalBytes / 2 ** 20),
      arrayBuffersMiB: round(m.arrayBuffersBytes / 2 ** 20),
    });
  };
  try {
    await sleep(2000);
    await probe('before');
    await runSender(peer, seconds);
    await sleep(500);
    await probe(`after ${seconds} s of flood`);
    await runSender(peer, seconds);
    await sleep(500);
    await probe(`after ${2 * seconds} s of flood`);
    await runSender(peer, seconds);
    await sleep(500);
    await probe(`after ${3 * seconds} s of flood`);
    await sleep(5000);
    await probe(`5 s later, quiet`);
  } finally {
    await exporter.stop();
  }
  return out;
}

async function main(): Promise<void> {
  const exp = await createNetns('lldpb-exp');
  const peer = await createNetns('lldpb-peer');
  const leave = enterNetns(exp.name);
  try {
    await exp.ipBatch([
      `link add lldpb0 type veth peer name lpeer0 netns ${peer.name}`,
      'link set lldpb0 up',
      'link add fl0 type veth peer name fl1',
      'link set fl0 up',
      'link set fl1 up',
    ]);
    await peer.ipBatch(['link set lpeer0 up']);
    const result = {
      loadavg: spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim(),
      rest: REPS > 0 ? await rest(exp) : {},
      flood: process.env['LLDP_BENCH_SKIP_FLOOD'] === '1' ? {} : await flood(exp, peer),
      floodMemoryAfterGc: await floodMemory(exp, peer, FLOOD_S),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    leave();
    await peer.destroy();
    await exp.destroy();
  }
}

await main();
