// Latency of a single carrier change to /metrics. For each change, `ip link set peerK down|up`
// flips lnkK's carrier; the C listener (watch mode, its own RTMGRP_LINK socket) stamps the
// kernel's RTM_NEWLINK for lnkK with CLOCK_MONOTONIC when it receives it, while the harness scrapes
// /metrics back to back (plain, one keep-alive connection) until a body shows lnkK's new
// linkstate_carrier value. Reported per change, relative to the listener's stamp:
//   end   = when the last byte of the first body showing the change arrived (an upper bound: it
//           includes that whole scrape's render and transfer);
//   start = when that request was sent (a lower bound: the body was rendered between the two).
import { execFile } from 'node:child_process';
import { ScrapeClient, PLAIN_HEADERS } from '../lib/http.js';
import type { Listener } from '../lib/listener.js';
import { lnk, peer } from '../lib/lab.js';
import { monoMs, sleep } from '../lib/clock.js';
import { summarize, type Summary } from '../lib/stats.js';

export interface LatencyResult {
  readonly changes: number;
  readonly failures: number;
  readonly end: Summary;
  readonly start: Summary;
  /** median duration of the polling scrapes, ms */
  readonly pollMs: Summary;
}

function ipLinkSet(device: string, state: 'up' | 'down'): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['link', 'set', device, state], (error) => (error ? reject(error) : resolve()));
  });
}

export async function measureLatency(client: ScrapeClient, watch: Listener, pairs: number, changes: number): Promise<LatencyResult> {
  const links = Math.min(pairs, Math.ceil(changes / 2));
  const stride = Math.max(1, Math.floor(pairs / links));
  const end: number[] = [];
  const start: number[] = [];
  const pollMs: number[] = [];
  let failures = 0;
  for (let i = 0; i < changes; i++) {
    const k = (Math.floor(i / 2) % links) * stride;
    const down = i % 2 === 0;
    const device = lnk(k);
    const expected = down ? 0 : 1;
    const needle = Buffer.from(`linkstate_carrier{device="${device}"} ${expected}\n`);
    const seen = watch.next((l) => l.startsWith(`CARRIER `) && l.endsWith(` ${device} ${expected}`), 10_000);
    const flip = ipLinkSet(peer(k), down ? 'down' : 'up');
    // Both are awaited below; until then a rejection must not count as unhandled.
    seen.catch(() => undefined);
    flip.catch(() => undefined);
    let shown: { startMs: number; endMs: number } | undefined;
    const deadline = monoMs() + 10_000;
    while (shown === undefined && monoMs() < deadline) {
      const r = await client.get('/metrics', PLAIN_HEADERS, true);
      pollMs.push(r.ms);
      if ((r.body as Buffer).indexOf(needle) >= 0) shown = { startMs: r.startMs, endMs: r.endMs };
    }
    await flip;
    let kernelMs: number;
    try {
      kernelMs = Number((await seen).split(' ')[1]) / 1e6;
    } catch {
      failures++;
      continue;
    }
    if (shown === undefined) {
      failures++;
      continue;
    }
    end.push(shown.endMs - kernelMs);
    start.push(shown.startMs - kernelMs);
    await sleep(10);
  }
  return { changes, failures, end: summarize(end), start: summarize(start), pollMs: summarize(pollMs) };
}
