// Storm CPU per message with the ethtool client on and off: the same flap storm against the built
// exporter (dist/src/main.js) started with and without --no-collector.ethtool, alternating, three
// times per log level. Run as root INSIDE a throwaway namespace (it makes its links there):
//
//   ip netns add lsx-storm && ip netns exec lsx-storm node dist/bench/micro/storm-ethtool.js; ip netns del lsx-storm
//
// Lab: 200 veth pairs, IPv6 off, the first 50 peers in link group 79; a storm is one `ip -batch`
// of 1,000 `link set group 79 down|up` pairs. CPU = utime + stime of the exporter from before the
// storm until its CPU stopped moving for 0.5 s, over the netlink messages it counted. Not part of
// `npm run bench` or `npm test`; on a busy machine the figures are noisy (the storm's own speed
// varies with the load), so compare medians of several rounds.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const PAIRS = 200;
const GROUP = 50;
const FLIPS = 1000;
const ROUNDS = 3;

const sh = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...(input === undefined ? {} : { input }) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

function sum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function quiet(pid: number): Promise<void> {
  let last = cpuSeconds(pid);
  for (let i = 0; i < 240; i++) {
    await sleep(500);
    const now = cpuSeconds(pid);
    if (now === last) return;
    last = now;
  }
}

interface Run {
  readonly ethtool: 'on' | 'off';
  readonly level: string;
  readonly stormMs: number;
  readonly messages: number;
  readonly cpuSecondsPer100k: number;
  readonly ethtoolRequests: number;
  readonly overruns: number;
}

async function run(ethtool: 'on' | 'off', level: string, port: number, storm: string): Promise<Run> {
  const args = [MAIN, `--web.listen-address=127.0.0.1:${port}`, `--log.level=${level}`];
  if (ethtool === 'off') args.push('--no-collector.ethtool');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const pid = child.pid as number;
  for (;;) {
    try {
      if ((await get(port, '/-/ready')).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  await quiet(pid);
  const before = (await get(port, '/metrics')).text;
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  sh('ip', ['-batch', '-'], storm);
  const stormMs = Date.now() - t0;
  await quiet(pid);
  const cpu1 = cpuSeconds(pid);
  const after = (await get(port, '/metrics')).text;
  const delta = (name: string): number => sum(after, name) - sum(before, name);
  const messages = delta('linkstate_exporter_netlink_messages_total');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return {
    ethtool,
    level,
    stormMs,
    messages,
    cpuSecondsPer100k: +(((cpu1 - cpu0) / messages) * 1e5).toFixed(3),
    ethtoolRequests: delta('linkstate_exporter_ethtool_requests_total'),
    overruns: delta('linkstate_exporter_netlink_overruns_total'),
  };
}

sh('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
const lab = ['link set lo up'];
for (let i = 0; i < PAIRS; i++) lab.push(`link add lnk${i} type veth peer name peer${i}`);
for (let i = 0; i < PAIRS; i++) lab.push(`link set lnk${i} up`, `link set peer${i} up`);
for (let i = 0; i < GROUP; i++) lab.push(`link set peer${i} group 79`);
sh('ip', ['-batch', '-'], `${lab.join('\n')}\n`);
const flips: string[] = [];
for (let i = 0; i < FLIPS; i++) flips.push('link set group 79 down', 'link set group 79 up');
const storm = `${flips.join('\n')}\n`;

const runs: Run[] = [];
let port = 19500;
for (let round = 0; round < ROUNDS; round++) {
  for (const level of ['info', 'warn']) {
    for (const ethtool of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const r = await run(ethtool, level, port++, storm);
      runs.push(r);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
  }
}
for (const level of ['info', 'warn']) {
  const median = (ethtool: 'on' | 'off'): number => {
    const v = runs.filter((r) => r.ethtool === ethtool && r.level === level).map((r) => r.cpuSecondsPer100k).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)] as number;
  };
  const on = median('on');
  const off = median('off');
  process.stdout.write(`--log.level=${level}: median CPU s per 100k messages, ethtool on ${on}, off ${off}: ${(on / off).toFixed(2)}x\n`);
}
