// The exporter inside a memory cgroup at the memory limit a shipped deployment sets, with that
// deployment's flags, through a flap storm at 1,001 interfaces (one `ip -batch` flipping 50 peers
// per request, 2,000 requests) while it is scraped once a second: it survives, /metrics answers
// every scrape within the ServiceMonitor's scrapeTimeout, every carrier counter equals the
// kernel's afterwards, and the cgroup never reached its limit nor saw an OOM (v1
// memory.failcnt / memory.oom_control, v2 memory.events max / oom / oom_kill). Two deployments:
// the DaemonSet (limits.memory and args of deploy/kubernetes/daemonset.yaml) and the systemd unit
// (MemoryMax= of deploy/systemd/linkstate-exporter.service, flags of its environment file). The
// numbers are read from those files, never restated here.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  daemonSetContainer,
  eventsSince,
  requireMemoryCgroup,
  serviceMonitorScrapeTimeoutMs,
  systemdService,
  type MemoryCgroup,
} from '../helpers/cgroup.js';
import { eventually, MAIN } from '../helpers/exporter.js';
import { parseSamples, sampleValue, type Sample } from '../helpers/exposition.js';
import { expectExact, mib, readKernelCounters } from '../helpers/kernel-match.js';
import { enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { createVethLab } from '../helpers/veth-lab.js';

const PAIRS = 500; // 1,001 interfaces with lo
const STORM_PEERS = 50;
const STORM_GROUP = 79;
const STORM_FLIPS = 1_000; // down + up: 2,000 requests
const PORT = 19391;
const SCRAPE_EVERY_MS = 1_000;
const STDERR_KEPT = 64 * 1024;
const BASE = `http://127.0.0.1:${PORT}`;

async function get(path: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(BASE + path, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

function vmRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface Deployment {
  readonly name: string;
  readonly limitBytes: number;
  /** the deployment's flags; --web.listen-address is replaced by a loopback port of the lab */
  readonly args: readonly string[];
}

/** The exporter with the deployment's flags in a fresh cgroup at its limit; resolves once ready. */
async function startLimited(ns: Netns, cgroup: MemoryCgroup, deployment: Deployment, timeoutMs: number): Promise<{ child: ChildProcess; stderr: () => string }> {
  const args = [MAIN, ...deployment.args.filter((a) => !a.startsWith('--web.listen-address')), `--web.listen-address=127.0.0.1:${PORT}`];
  // The cgroup first, then the namespace: `ip netns exec` mounts the namespace's own /sys, where
  // the cgroup file system is not mounted. Both keep the pid (exec), so it is the exporter's.
  const [cmd, wrapped] = cgroup.wrap('ip', ['netns', 'exec', ns.name, process.execPath, ...args]);
  const child = spawn(cmd, wrapped, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_KEPT)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exporter exited (${child.exitCode ?? child.signalCode}):\n${stderr}`);
    try {
      if ((await get('/-/ready', timeoutMs)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`exporter not ready within 20 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, stderr: () => stderr };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function stormUnderLimit(t: TestContext, ns: Netns, deployment: Deployment): Promise<void> {
  const cgroup = requireMemoryCgroup(t, 'lsx-memlimit', deployment.limitBytes);
  if (cgroup === undefined) return;
  const timeoutMs = serviceMonitorScrapeTimeoutMs();
  const scrape = async (): Promise<Sample[]> => {
    const res = await get('/metrics', timeoutMs);
    assert.equal(res.status, 200);
    return parseSamples(res.text);
  };
  let child: ChildProcess | undefined;
  try {
    const started = await startLimited(ns, cgroup, deployment, timeoutMs);
    child = started.child;
    const pid = child.pid as number;
    assert.deepEqual(cgroup.pids(), [pid], 'the exporter, and only it, is in the cgroup');
    assert.ok(cgroup.usage().currentBytes > 16 * 2 ** 20, 'its memory is charged to the cgroup');
    assert.equal(sampleValue(await scrape(), 'linkstate_exporter_links'), 1 + 2 * PAIRS);
    await expectExact(ns, scrape);

    const events0 = cgroup.events();
    const rssBefore = vmRss(pid);
    const usageBefore = cgroup.usage().currentBytes;
    // RSS and the cgroup's usage every 100 ms, for the figures in the diagnostics.
    let peakRss = rssBefore;
    let peakUsage = usageBefore;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, vmRss(pid));
        peakUsage = Math.max(peakUsage, cgroup.usage().currentBytes);
      } catch {
        // the process is gone: the assertions below say so
      }
    }, 100);

    // Scraped once a second from the start of the storm until the counters are exact.
    let scraping = true;
    const scrapes: Array<{ ok: boolean; ms: number; detail: string }> = [];
    const scraper = (async () => {
      while (scraping) {
        const s0 = Date.now();
        try {
          const res = await get('/metrics', timeoutMs);
          scrapes.push({ ok: res.status === 200, ms: Date.now() - s0, detail: `status ${res.status}` });
        } catch (error) {
          scrapes.push({ ok: false, ms: Date.now() - s0, detail: (error as Error).message });
        }
        await new Promise((r) => setTimeout(r, Math.max(0, SCRAPE_EVERY_MS - (Date.now() - s0))));
      }
    })();

    const storm: string[] = [];
    for (let i = 0; i < STORM_FLIPS; i++) storm.push(`link set group ${STORM_GROUP} down`, `link set group ${STORM_GROUP} up`);
    const t0 = Date.now();
    let stormError: unknown;
    let exactError: unknown;
    let exactMs = Number.NaN;
    let samples: Sample[] = [];
    try {
      await ns.ipBatch(storm);
    } catch (error) {
      stormError = error;
    }
    const stormMs = Date.now() - t0;
    try {
      if (stormError === undefined && child.exitCode === null && child.signalCode === null) {
        samples = await expectExact(ns, scrape, 20_000);
        exactMs = Date.now() - t0 - stormMs;
      }
    } catch (error) {
      exactError = error;
    } finally {
      scraping = false;
      await scraper;
      clearInterval(sampler);
    }
    const events = eventsSince(events0, cgroup.events());
    const usage = cgroup.usage();
    const slowest = Math.max(0, ...scrapes.map((s) => s.ms));
    t.diagnostic(
      `${deployment.name}: limit ${mib(cgroup.limitBytes)} MiB (cgroup v${cgroup.version}), flags ${deployment.args.join(' ')}; ` +
        `storm ${stormMs} ms, exact ${exactMs} ms after it; RSS ${mib(rssBefore)} -> peak ${mib(peakRss)} MiB; ` +
        `cgroup usage ${mib(usageBefore)} -> peak ${mib(Math.max(peakUsage, usage.peakBytes ?? 0))} MiB; ` +
        `${scrapes.length} scrapes, slowest ${slowest} ms; limit hits ${events.limitHits}, oom ${events.oom}, oom kills ${events.oomKills}`,
    );

    assert.ifError(stormError);
    assert.equal(child.exitCode, null, `the exporter exited (${child.exitCode}):\n${started.stderr()}`);
    assert.equal(child.signalCode, null, `the exporter was killed (${child.signalCode}); oom kills ${events.oomKills}:\n${started.stderr().slice(-2_000)}`);
    assert.deepEqual(events, { limitHits: 0, oom: 0, oomKills: 0 }, `the cgroup at ${mib(cgroup.limitBytes)} MiB reached its limit or saw an OOM`);
    assert.ifError(exactError);
    assert.equal(sampleValue(samples, 'linkstate_exporter_links'), 1 + 2 * PAIRS);
    assert.deepEqual(
      scrapes.filter((s) => !s.ok),
      [],
      `every scrape during and after the storm answered 200 within the ServiceMonitor's scrapeTimeout (${timeoutMs} ms)`,
    );
    assert.ok(scrapes.length >= Math.floor(stormMs / SCRAPE_EVERY_MS), `${scrapes.length} scrapes in a ${stormMs} ms storm: /metrics stopped answering`);
    assert.deepEqual(cgroup.pids(), [pid], 'still in the cgroup');
  } finally {
    if (child) await stop(child);
    await cgroup.destroy();
  }
}

describe('exporter under the shipped memory limits, through a storm at 1,001 interfaces', { timeout: 150_000 }, () => {
  let ns: Netns | undefined;
  let leave: (() => void) | undefined;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createVethLab('lsx-mem', PAIRS, 'lnk', 'peer', (i) => (i < STORM_PEERS ? STORM_GROUP : 0));
    // Carrier changes wait behind the kernel's linkwatch backlog until every veth is operationally up.
    const netns = ns;
    await eventually(
      'every veth operationally up',
      async () => [...(await readKernelCounters(netns))].filter(([device, k]) => device !== 'lo' && k.operstate !== 'up').length === 0,
      60_000,
      200,
    );
    leave = enterNetns(ns.name);
  });

  after(async () => {
    leave?.();
    await ns?.destroy();
  });

  it('the DaemonSet: its limits.memory and args', async (t) => {
    if (!requireRoot(t) || ns === undefined) return;
    const d = daemonSetContainer();
    await stormUnderLimit(t, ns, { name: 'DaemonSet', limitBytes: d.memoryLimitBytes, args: d.args });
  });

  it("the systemd unit: its MemoryMax= and its environment file's flags", async (t) => {
    if (!requireRoot(t) || ns === undefined) return;
    const s = systemdService();
    await stormUnderLimit(t, ns, { name: 'systemd unit', limitBytes: s.memoryMaxBytes, args: s.args });
  });
});
