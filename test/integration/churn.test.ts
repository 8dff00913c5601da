// Churn against the real kernel: a few hundred veth pairs created and deleted, several times,
// while the exporter is scraped without pause. Deleted links leave no series behind, the links
// gauge returns to its baseline, and the exporter's memory returns close to its baseline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, type RunningExporter } from '../helpers/exporter.js';
import { parseSamples, sampleValue, type Sample } from '../helpers/exposition.js';
import { DISABLE_IPV6, kernelMismatches, mib, readKernelCounters } from '../helpers/kernel-match.js';
import { collectedMemory, startProbedExporter } from '../helpers/memory-probe.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';

const PAIRS = 1000;
/** One warm-up round (JIT, heap growth, caches) before the memory baseline, then the measured rounds. */
const ROUNDS = 5;
const GROUP = 7;
/**
 * Memory is read right after a forced full GC (memory-probe.ts), with no scrape in flight, after
 * each round's deletions. The JS heap in use must come back to the baseline (taken after a
 * warm-up round) within HEAP_TOLERANCE (a link's rendered series live in Buffers, outside the
 * heap). The test asserts that all the measured rounds' links, had they leaked, would exceed
 * twice the bound, so a leak of half of what each link holds fails it.
 * External memory (Buffers) is reported, not asserted: after GC it still swings from one reading
 * to the next. RSS gets a loose bound: V8 keeps the heap it grew to committed (its memory reducer
 * shrinks it only after a while idle) and glibc keeps freed native memory for reuse, so RSS after
 * GC settles above the warm-up baseline and stays there; it does not keep growing with more
 * rounds. The figures are in RELIABILITY.md (Churn).
 */
const HEAP_TOLERANCE_BYTES = 1024 * 1024;
const RSS_TOLERANCE_BYTES = 32 * 1024 * 1024;

function devices(samples: readonly Sample[]): Set<string> {
  const out = new Set<string>();
  for (const s of samples) if (s.labels['device'] !== undefined) out.add(s.labels['device']);
  return out;
}

describe('churn: veth pairs created and deleted while scraped', { timeout: 120_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-churn');
    await ns.run('sysctl', DISABLE_IPV6);
    leave = enterNetns(ns.name);
    exporter = await startProbedExporter(ns, ['--log.level=warn']);
  });

  after(async () => {
    if (exporter) await exporter.stop();
    leave?.();
    if (ns) await ns.destroy();
  });

  it(`${ROUNDS} rounds of ${PAIRS} pairs: series go with their links, links and memory return to baseline`, async (t) => {
    if (!requireRoot(t)) return;
    const scrape = async (): Promise<Sample[]> => {
      const res = await exporter.get('/metrics');
      assert.equal(res.status, 200);
      return parseSamples(res.text);
    };
    await eventually('ready', async () => (await exporter.get('/-/ready')).status === 200);
    const baselineLinks = sampleValue(await scrape(), 'linkstate_exporter_links');
    assert.equal(baselineLinks, 1, 'only lo in a fresh namespace');

    // A scraper that pauses only while memory is read (so that no scrape is in flight then):
    // every answer must be a complete, parsable 200.
    let scraping = true;
    let scrapes = 0;
    let gate: Promise<void> | undefined;
    let inFlight: Promise<unknown> = Promise.resolve();
    const failures: string[] = [];
    const scraper = (async () => {
      while (scraping) {
        if (gate) await gate;
        inFlight = scrape().then(
          (samples) => {
            if (sampleValue(samples, 'linkstate_exporter_links') === undefined) failures.push('no links gauge');
            scrapes += 1;
          },
          (error: Error) => failures.push(error.message),
        );
        await inFlight;
      }
    })();
    const quietMemory = async (): Promise<{ rss: number; heap: number; external: number }> => {
      let open = (): void => undefined;
      gate = new Promise((resolve) => (open = resolve));
      try {
        await inFlight;
        const m = await collectedMemory(exporter);
        return { rss: m.rssBytes, heap: m.heapUsedBytes, external: m.externalBytes };
      } finally {
        gate = undefined;
        open();
      }
    };

    const memory: { round: number; rss: number; heap: number; external: number }[] = [];
    let loaded = { rss: NaN, heap: NaN, external: NaN };
    try {
      for (let round = 0; round <= ROUNDS; round++) {
        const add: string[] = [];
        for (let i = 0; i < PAIRS; i++) add.push(`link add c${round}x${i} group ${GROUP} type veth peer name c${round}p${i} group ${GROUP}`);
        for (let i = 0; i < PAIRS; i++) add.push(`link set c${round}x${i} up`, `link set c${round}p${i} up`);
        await ns.ipBatch(add);
        const full: Sample[] = await eventually<Sample[]>(`round ${round}: ${2 * PAIRS} links exported, exact`, async () => {
          const samples = await scrape();
          if (sampleValue(samples, 'linkstate_exporter_links') !== 1 + 2 * PAIRS) return undefined;
          const wrong = kernelMismatches(samples, await readKernelCounters(ns));
          if (wrong.length > 0) throw new Error(wrong.slice(0, 3).join('; '));
          return samples;
        }, 30_000, 100);
        assert.equal(devices(full).size, 1 + 2 * PAIRS);
        if (round === ROUNDS) loaded = await quietMemory();

        await ns.ipBatch([`link del group ${GROUP}`]);
        const empty: Sample[] = await eventually<Sample[]>(`round ${round}: back to lo only`, async () => {
          const samples = await scrape();
          return sampleValue(samples, 'linkstate_exporter_links') === baselineLinks ? samples : undefined;
        }, 30_000, 100);
        // no trace of the deleted devices: no series with any device label but lo
        // (typed and named first: TypeScript 5.9 crashes on these calls inside an assertion in this loop)
        const left: string[] = [...devices(empty)];
        assert.deepEqual(left, ['lo']);
        const wrong: string[] = kernelMismatches(empty, await readKernelCounters(ns));
        assert.deepEqual(wrong, []);
        memory.push({ round, ...(await quietMemory()) });
      }
    } finally {
      scraping = false;
      await scraper;
    }

    assert.deepEqual(failures, []);
    assert.ok(scrapes >= 2 * (ROUNDS + 1), `only ${scrapes} scrapes during the churn`);
    const [baseline, ...measured] = memory;
    const end = measured[measured.length - 1]!;
    const report = [
      ...memory.map((m) => `after round ${m.round} (lo only): rss ${mib(m.rss)}, heap ${mib(m.heap)}, external ${mib(m.external)} MiB`),
      `with ${2 * PAIRS} links: rss ${mib(loaded.rss)}, heap ${mib(loaded.heap)}, external ${mib(loaded.external)} MiB`,
    ].join('; ');
    t.diagnostic(report);
    // the check must be able to see a leak: everything the measured rounds held, kept, is more than twice the bound.
    // What a round's links hold is read within the last round (loaded, then end after the deletions): the
    // baseline, right after the warm-up round, may still hold start-up memory that V8 frees later.
    assert.ok(ROUNDS * (loaded.heap - end.heap) > 2 * HEAP_TOLERANCE_BYTES, `the rounds are too small to show a leak: ${report}`);
    assert.ok(end.heap <= baseline!.heap + HEAP_TOLERANCE_BYTES, `heap did not return to its baseline: ${report}`);
    assert.ok(end.rss <= baseline!.rss + RSS_TOLERANCE_BYTES, `RSS did not return close to its baseline: ${report}`);
    // the exporter stayed healthy: nothing dropped, no socket trouble
    const final = await scrape();
    assert.equal(sampleValue(final, 'linkstate_exporter_netlink_socket_reopens_total'), 0);
    for (const s of final) {
      if (s.name === 'linkstate_exporter_netlink_dropped_total') assert.equal(s.value, 0, `dropped ${JSON.stringify(s.labels)}`);
    }
  });
});
