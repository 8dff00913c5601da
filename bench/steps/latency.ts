// Latency of a single carrier change. For each change, `ip link set peerK down|up` flips lnkK's
// carrier. The C listener (watch mode, its own RTMGRP_LINK socket, real-time priority set by the
// caller) stamps the kernel's RTM_NEWLINK for lnkK with CLOCK_MONOTONIC when it receives it; the
// exporter logs `msg="carrier changed" device=lnkK` right after applying that message to its
// table, with a wall-clock `ts` in ms. As soon as the harness reads that line, it scrapes
// /metrics once (plain) and checks that the body shows lnkK's new linkstate_carrier value.
// Reported per change, from the kernel's message:
//   applied = the log line's ts (ms resolution: the true value is up to 1 ms later);
//   visible = the end of that scrape (an upper bound for /metrics showing the change: it includes
//             the line's wait in the exporter's log writer, up to 20 ms, the harness reading it,
//             and the whole scrape).
// Nothing else scrapes meanwhile, as between Prometheus's scrapes. A change the scrape did not
// show counts as a failure. One untimed down-and-up comes first.
import { execFile } from 'node:child_process';
import { ScrapeClient, PLAIN_HEADERS } from '../lib/http.js';
import type { Listener } from '../lib/listener.js';
import type { LineFeed } from '../lib/lines.js';
import { lnk, peer } from '../lib/lab.js';
import { monoMs, sleep } from '../lib/clock.js';
import { summarize, type Summary } from '../lib/stats.js';

export interface LatencyResult {
  readonly changes: number;
  readonly failures: number;
  readonly applied: Summary;
  readonly visible: Summary;
  /** duration of the checking scrapes, ms */
  readonly scrapeMs: Summary;
}

function ipLinkSet(device: string, state: 'up' | 'down'): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['link', 'set', device, state], (error) => (error ? reject(error) : resolve()));
  });
}

/** ts=2026-01-02T03:04:05.678Z … → epoch ms */
function logTimestamp(line: string): number {
  const m = /(?:^|\s)ts=(\S+)/.exec(line);
  const t = m ? Date.parse(m[1] as string) : Number.NaN;
  if (Number.isNaN(t)) throw new Error(`no ts in log line: ${line}`);
  return t;
}

export async function measureLatency(client: ScrapeClient, watch: Listener, log: LineFeed, pairs: number, changes: number): Promise<LatencyResult> {
  const links = Math.min(pairs, Math.ceil(changes / 2));
  const stride = Math.max(1, Math.floor(pairs / links));
  const applied: number[] = [];
  const visible: number[] = [];
  const scrapeMs: number[] = [];
  let failures = 0;
  // Untimed, as the scrapes step's first scrape: the first carrier changes after start run code
  // nothing ran before (lazy compilation of the log line, the event log, the loss accounting).
  for (const state of ['down', 'up'] as const) {
    const logged = log.next((l) => l.includes('msg="carrier changed"') && l.includes(` device=${lnk(0)} `) && l.includes(` to=${state}`), 10_000);
    await ipLinkSet(peer(0), state);
    await logged;
    await sleep(20);
  }
  for (let i = 0; i < changes; i++) {
    const k = (Math.floor(i / 2) % links) * stride;
    const down = i % 2 === 0;
    const device = lnk(k);
    const expected = down ? 0 : 1;
    const needle = Buffer.from(`linkstate_carrier{device="${device}"} ${expected}\n`);
    const seen = watch.next((l) => l.startsWith('CARRIER ') && l.endsWith(` ${device} ${expected}`), 10_000);
    const logged = log.next((l) => l.includes('msg="carrier changed"') && l.includes(` device=${device} `) && l.includes(` to=${down ? 'down' : 'up'}`), 10_000);
    seen.catch(() => undefined);
    logged.catch(() => undefined);
    const wallMinusMono = Date.now() - monoMs();
    try {
      await ipLinkSet(peer(k), down ? 'down' : 'up');
      const line = await logged;
      const r = await client.get('/metrics', PLAIN_HEADERS, false, 10_000, needle);
      const kernelMs = Number((await seen).split(' ')[1]) / 1e6;
      scrapeMs.push(r.ms);
      if (r.found !== true) {
        failures++;
      } else {
        applied.push(logTimestamp(line) - wallMinusMono - kernelMs);
        visible.push(r.endMs - kernelMs);
      }
    } catch {
      failures++;
    }
    await sleep(20);
  }
  return { changes, failures, applied: summarize(applied), visible: summarize(visible), scrapeMs: summarize(scrapeMs) };
}
