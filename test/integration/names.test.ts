// Device names that are not UTF-8, from the real kernel: two veths named 'a' + 0xff and 'a' + 0xfe
// (the kernel accepts any byte but NUL, '/', ':' and whitespace) in a namespace of the test's own,
// the built exporter inside it. Both are exported, escaped as `\xHH` and distinct, in the labels,
// /api/v1/links, the status page, the event stream and the log; flapping both never makes the
// table take one for a stale entry of the other.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { parseSamples, sampleValue } from '../helpers/exposition.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { openEvents, type SseStream } from '../helpers/sse-client.js';

// The exported text of the names (a backslash, 'x', two hex digits) and of one alias.
const FF = 'a\\xff';
const FE = 'a\\xfe';
const ALIAS = 'up\\xc3link';
// Shell words giving the raw bytes (octal escapes of printf).
const FF_BYTES = `"$(printf 'a\\377')"`;
const FE_BYTES = `"$(printf 'a\\376')"`;
const ALIAS_BYTES = `"$(printf 'up\\303link')"`;

describe('device names that are not UTF-8, on the real kernel', { timeout: 120_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter;
  let events: SseStream | undefined;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-names');
    await ns.run('sh', [
      '-c',
      [
        `ip link add ${FF_BYTES} type veth peer name lsxn-p0`,
        `ip link add ${FE_BYTES} type veth peer name lsxn-p1`,
        `ip link set dev ${FF_BYTES} alias ${ALIAS_BYTES}`,
        `ip link set dev ${FF_BYTES} up`,
        `ip link set dev ${FE_BYTES} up`,
        'ip link set dev lsxn-p0 up',
        'ip link set dev lsxn-p1 up',
      ].join(' && '),
    ]);
    leave = enterNetns(ns.name);
    exporter = await startExporter(ns);
  });

  after(async () => {
    events?.close();
    if (exporter) await exporter.stop();
    leave?.();
    if (ns) await ns.destroy();
  });

  it('exports both links, escaped and distinct, in labels, JSON and the page', async (t) => {
    if (!requireRoot(t)) return;
    // The kernel's own view: two names that differ in their second byte only.
    const sysfs = await ns.run('sh', ['-c', 'ls /sys/class/net | od -An -c']);
    assert.match(sysfs, /a +377/);
    assert.match(sysfs, /a +376/);
    await eventually('ready', async () => (await exporter.get('/-/ready')).status === 200);
    const samples = parseSamples((await exporter.get('/metrics')).text);
    const devices = samples.filter((s) => s.name === 'linkstate_up').map((s) => s.labels['device']).sort();
    assert.deepEqual(devices, [FE, FF, 'lo', 'lsxn-p0', 'lsxn-p1']);
    assert.equal(sampleValue(samples, 'linkstate_exporter_links'), 5);
    assert.equal(sampleValue(samples, 'linkstate_info', { device: FF, ifalias: ALIAS }), 1);

    const api = JSON.parse((await exporter.get('/api/v1/links')).text) as { links: Array<{ device: string; alias?: string }> };
    assert.deepEqual(api.links.map((l) => l.device).sort(), [FE, FF, 'lo', 'lsxn-p0', 'lsxn-p1']);
    assert.equal(api.links.find((l) => l.device === FF)?.alias, ALIAS);

    const page = (await exporter.get('/')).text;
    assert.ok(page.includes(`data-device="${FF}"`) && page.includes(`<td class="device">${FF}</td>`), 'a\\xff on the page');
    assert.ok(page.includes(`data-device="${FE}"`) && page.includes(`<td class="device">${FE}</td>`), 'a\\xfe on the page');
  });

  it('flapping both: two links throughout, carrier events and log lines under each name, nothing evicted', async (t) => {
    if (!requireRoot(t)) return;
    events = await openEvents(`${exporter.base}/api/v1/events`);
    await events.until('the replay', (s) => s.frames.some((f) => f.event === 'live'));
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) lines.push('link set lsxn-p0 down', 'link set lsxn-p1 down', 'link set lsxn-p0 up', 'link set lsxn-p1 up');
    await ns.ipBatch(lines);
    // A carrier event under each name: a loss, or (when an overrun's resync saw only the final
    // state) an up-to-up event whose counters moved.
    const flapped = (device: string) => (s: SseStream): boolean => s.links().some((e) => e['device'] === device && e['type'] === 'carrier');
    await events.until('a carrier event of a\\xff', flapped(FF));
    await events.until('a carrier event of a\\xfe', flapped(FE));
    // After the flaps: both links still there, each with its own kernel counter.
    const kernelDowns = async (word: string): Promise<number> => Number(await ns.run('sh', ['-c', `cat /sys/class/net/${word}/carrier_down_count`]));
    const [ffDowns, feDowns] = [await kernelDowns(FF_BYTES), await kernelDowns(FE_BYTES)];
    assert.ok(ffDowns >= 5 && feDowns >= 5, `the kernel counted the flaps (${ffDowns}, ${feDowns})`);
    const samples = await eventually('the last flaps applied', async () => {
      const s = parseSamples((await exporter.get('/metrics')).text);
      const down = (device: string): number | undefined => sampleValue(s, 'linkstate_carrier_down_changes_total', { device });
      return down(FF) === ffDowns && down(FE) === feDowns && s;
    });
    assert.equal(sampleValue(samples, 'linkstate_exporter_links'), 5);
    // The log (logfmt: the backslash doubled inside quotes) names each; no link was dropped as
    // stale because another took its name (there is no counter of that: the debug line is it).
    const log = await exporter.logged(/msg="carrier changed".*device="a\\\\xfe"/);
    assert.match(log, /msg="carrier changed".*device="a\\\\xff"/);
    assert.doesNotMatch(log, /took its name/);
    assert.doesNotMatch(log, /\uFFFD/);
  });
});
