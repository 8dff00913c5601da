// --collector.netns against the real kernel. Everything happens in a lab (helpers/netns-collector-lab.ts):
// a network namespace where the exporter runs, and a private mount namespace whose /run/netns is
// a fresh tmpfs, so `ip netns add` and the exporter's --collector.netns.paths see only the lab's
// namespaces, never the host's. Each namespace's counters are compared with its own sysfs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { eventually, MAIN, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { parseSamples, sampleValue, type Sample } from '../helpers/exposition.js';
import { kernelMismatches, readKernelCounters } from '../helpers/kernel-match.js';
import { expectForgedDropped } from '../helpers/forge.js';
import { enterNetnsOf, linkSocketPortId, NetnsLab, nsInode, type UnnamedNetns } from '../helpers/netns-collector-lab.js';
import { requireRoot, type Netns } from '../helpers/netns.js';

const NETNS_FLAGS = ['--collector.netns', '--collector.netns.paths=/run/netns'] as const;
/** Drops the two capabilities --collector.netns needs (root keeps the rest). */
const WITHOUT_NETNS_CAPS = ['--inh-caps=-all', '--bounding-set=-net_admin,-net_broadcast'] as const;

/** One namespace whose links must be exported: label undefined is the exporter's own. */
interface Space {
  readonly label: string | undefined;
  readonly ns: Netns;
}

async function scrape(exporter: RunningExporter): Promise<Sample[]> {
  const res = await exporter.get('/metrics');
  assert.equal(res.status, 200);
  return parseSamples(res.text);
}

const inSpace = (samples: readonly Sample[], label: string | undefined): Sample[] => samples.filter((s) => s.labels['netns'] === label);

/** Every difference between the exported links and the kernel's, namespace by namespace. */
async function mismatches(samples: readonly Sample[], spaces: readonly Space[]): Promise<string[]> {
  const out: string[] = [];
  const kernels = await Promise.all(spaces.map((space) => readKernelCounters(space.ns)));
  spaces.forEach((space, i) => {
    for (const m of kernelMismatches(inSpace(samples, space.label), kernels[i]!)) out.push(`${space.label ?? '(own)'}: ${m}`);
  });
  const expected = new Set(spaces.map((s) => s.label));
  for (const label of new Set(samples.map((s) => s.labels['netns']))) {
    if (label !== undefined && !expected.has(label)) out.push(`netns="${label}" is exported but should not be`);
  }
  return out;
}

/** Scrapes until every namespace's counters and carrier gauges equal its own sysfs; the last scrape. */
async function expectAllExact(exporter: RunningExporter, spaces: readonly Space[], timeoutMs = 10_000): Promise<Sample[]> {
  let last: string[] = [];
  try {
    return await eventually(
      'every namespace’s exported counters to equal its sysfs',
      async () => {
        const samples = await scrape(exporter);
        last = await mismatches(samples, spaces);
        return last.length === 0 ? samples : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${last.join('\n')}`);
  }
}

interface Info {
  readonly netns: string;
  readonly nsid: string;
  readonly inode: string;
}

function netnsInfo(samples: readonly Sample[]): Info[] {
  return samples
    .filter((s) => s.name === 'linkstate_netns_info')
    .map((s) => {
      assert.equal(s.value, 1);
      return { netns: s.labels['netns'] ?? '', nsid: s.labels['nsid'] ?? '', inode: s.labels['inode'] ?? '' };
    })
    .sort((a, b) => (a.netns < b.netns ? -1 : 1));
}

/** Pairs with both ends in the lab, in one link group: one request flips them all (a flood of notifications). */
const FLOOD_PAIRS = 16;
const FLOOD_GROUP = 31;
const FLOOD_ROUNDS = 5;

const flaps = (device: string, times: number): string[] => Array.from({ length: times }, () => [`link set ${device} down`, `link set ${device} up`]).flat();

describe('--collector.netns in a lab with its own /run/netns', { timeout: 150_000 }, () => {
  let lab: NetnsLab;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter;
  const named = new Map<string, Netns>();
  let unnamed: UnnamedNetns;
  /** nsid of the unnamed namespace in the lab (IFLA_LINK_NETNSID of its veth peer vu). */
  let unnamedNsid: number;
  let spaces: Space[];

  const nsOf = (name: string): Netns => named.get(name)!;
  const expectedInfo = async (names: readonly string[], withUnnamed: boolean): Promise<Info[]> => {
    const nsids = await lab.namedNsids();
    const out: Info[] = [];
    for (const name of names) {
      const nsid = nsids.get(name);
      assert.ok(nsid !== undefined, `${name} has no nsid in the lab (ip netns list): ${JSON.stringify([...nsids])}`);
      out.push({ netns: name, nsid: String(nsid), inode: String(await lab.namedInode(name)) });
    }
    if (withUnnamed) out.push({ netns: `nsid-${unnamedNsid}`, nsid: String(unnamedNsid), inode: String(unnamed.inode) });
    return out.sort((a, b) => (a.netns < b.netns ? -1 : 1));
  };

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    lab = await NetnsLab.create();
    for (const name of ['a', 'b', 'c', 'd']) named.set(name, await lab.addNamed(name));
    unnamed = await lab.addUnnamed('unnamed');
    // veth pairs made in the lab, one end moved out into a, b, c and the unnamed namespace
    await lab.own.ipBatch([
      'link add va type veth peer name pa',
      'link add va2 type veth peer name pa2',
      'link add vb type veth peer name pb',
      'link add vc type veth peer name pc',
      'link add vu type veth peer name pu',
      'link set pa netns a',
      'link set pa2 netns a',
      'link set pb netns b',
      'link set pc netns c',
      `link set pu netns ${unnamed.pid}`,
      'link set va up',
      'link set va2 up',
      'link set vb up',
      'link set vc up',
      'link set vu up',
      ...Array.from({ length: FLOOD_PAIRS }, (_, i) => `link add fl${i} group ${FLOOD_GROUP} type veth peer name fp${i} group ${FLOOD_GROUP}`),
      `link set group ${FLOOD_GROUP} up`,
    ]);
    await nsOf('a').ipBatch(['link set pa name eth0', 'link set pa2 name eth1', 'link set eth0 up', 'link set eth1 up']);
    // b also has a device named like one of the lab's own
    await nsOf('b').ipBatch(['link set pb name eth0', 'link set eth0 up', 'link add va type bridge', 'link set va up']);
    await nsOf('c').ipBatch(['link set pc name eth0', 'link set eth0 up']);
    // d has no link to the lab: no nsid until the exporter gives it one
    await nsOf('d').ipBatch(['link add eth0 type veth peer name eth0p', 'link set eth0 up', 'link set eth0p up']);
    await unnamed.ipBatch(['link set pu name eth0', 'link set eth0 up']);
    unnamedNsid = await lab.linkNetnsid('vu');
    // a file under the paths that is not a namespace
    await lab.run('sh', ['-c', 'echo not a namespace > /run/netns/not-a-netns']);
    spaces = [
      { label: undefined, ns: lab.own },
      ...['a', 'b', 'c', 'd'].map((name) => ({ label: name, ns: nsOf(name) })),
      { label: `nsid-${unnamedNsid}`, ns: unnamed },
    ];
    leave = enterNetnsOf(lab.pid);
    exporter = await startExporter(lab.own, NETNS_FLAGS);
  });

  after(async () => {
    if (exporter) await exporter.stop();
    leave?.();
    if (lab) await lab.destroy();
  });

  it('is ready with every namespace dumped: each namespace’s links under its netns label, exactly its sysfs', async (t) => {
    if (!requireRoot(t)) return;
    await eventually('ready', async () => (await exporter.get('/-/ready')).status === 200);
    const samples = await scrape(exporter);
    assert.deepEqual(await mismatches(samples, spaces), []);
    // every dump's replies (ours and IFLA_TARGET_NETNSID's) came without an nsid control message
    // and were taken for replies: none waited for its DONE in vain
    assert.equal(sampleValue(samples, 'linkstate_exporter_netlink_dump_failures_total', { reason: 'stalled' }), 0);
    // the exporter's own links keep their series, without a netns label
    assert.equal(sampleValue(samples, 'linkstate_up', { device: 'vu' }), 1);
    assert.ok(inSpace(samples, undefined).some((s) => s.name === 'linkstate_up' && s.labels['device'] === 'lo'));
    // the label follows device
    const text = (await exporter.get('/metrics')).text;
    assert.match(text, /^linkstate_up\{device="eth0",netns="a"\} 1$/m);
    assert.match(text, new RegExp(`^linkstate_up\\{device="eth0",netns="nsid-${unnamedNsid}"\\} 1$`, 'm'));
  });

  it('linkstate_netns_info names each namespace with its nsid and inode; linkstate_exporter_namespaces counts them and ours', async (t) => {
    if (!requireRoot(t)) return;
    const samples = await scrape(exporter);
    const want = await expectedInfo(['a', 'b', 'c', 'd'], true);
    assert.deepEqual(netnsInfo(samples), want);
    // the nsids agree with the kernel's own view of the veth peers' namespaces
    const nsids = await lab.namedNsids();
    assert.equal(await lab.linkNetnsid('va'), nsids.get('a'));
    assert.equal(await lab.linkNetnsid('vb'), nsids.get('b'));
    // the inode of the unnamed one is its /proc/PID/ns/net; the lab's own is not among them
    assert.equal(unnamed.inode, nsInode(`/proc/${unnamed.pid}/ns/net`));
    assert.ok(!want.some((i) => i.inode === String(nsInode(`/proc/${lab.pid}/ns/net`))));
    assert.equal(sampleValue(samples, 'linkstate_exporter_namespaces'), 6);
  });

  it('after flaps in every namespace, every counter and carrier gauge equals that namespace’s sysfs', async (t) => {
    if (!requireRoot(t)) return;
    // different counts everywhere, so that a link counted in the wrong namespace shows
    await lab.own.ipBatch([...flaps('va', 3), ...flaps('vu', 5), ...flaps('vc', 1), 'link set vb down']);
    await nsOf('a').ipBatch(flaps('eth1', 4));
    await nsOf('c').ipBatch(['link set eth0 down']);
    await nsOf('d').ipBatch(flaps('eth0p', 2));
    await unnamed.ipBatch(flaps('eth0', 7));
    const samples = await expectAllExact(exporter, spaces);
    // spot checks against what the flaps must have done
    assert.equal(sampleValue(samples, 'linkstate_carrier', { device: 'eth0', netns: 'b' }), 0);
    assert.equal(sampleValue(samples, 'linkstate_up', { device: 'eth0', netns: 'c' }), 0);
    assert.ok((sampleValue(samples, 'linkstate_carrier_changes_total', { device: 'eth0', netns: `nsid-${unnamedNsid}` }) ?? 0) >= 14);
  });

  it('the same device name in several namespaces gives one series per namespace', async (t) => {
    if (!requireRoot(t)) return;
    const samples = await scrape(exporter);
    const eth0 = samples.filter((s) => s.name === 'linkstate_carrier' && s.labels['device'] === 'eth0');
    assert.deepEqual(eth0.map((s) => s.labels['netns']).sort(), ['a', 'b', 'c', 'd', `nsid-${unnamedNsid}`].sort());
    assert.equal(sampleValue(samples, 'linkstate_carrier', { device: 'eth0', netns: 'a' }), 1);
    assert.equal(sampleValue(samples, 'linkstate_carrier', { device: 'eth0', netns: 'b' }), 0);
    // va: the lab's veth (no netns label) and b's bridge
    const va = samples.filter((s) => s.name === 'linkstate_info' && s.labels['device'] === 'va');
    assert.deepEqual(
      va.map((s) => `${s.labels['netns'] ?? '(own)'}:${s.labels['kind']}`).sort(),
      ['(own):veth', 'b:bridge'],
    );
    assert.equal(inSpace(samples, undefined).find((s) => s.name === 'linkstate_up' && s.labels['device'] === 'va')?.value, 1);
    assert.equal(sampleValue(samples, 'linkstate_up', { device: 'va', netns: 'b' }), 1);
  });

  it('a namespace created after ready is exported within a second, with an nsid the exporter gave it', async (t) => {
    if (!requireRoot(t)) return;
    const t0 = Date.now();
    await lab.run('ip', ['netns', 'add', 'late']);
    const created = Date.now();
    const late = lab.named('late');
    named.set('late', late);
    await late.ipBatch(['link set lo up', 'link add eth0 type veth peer name eth0p', 'link set eth0 up', 'link set eth0p up']);
    const seen = await eventually(
      'the late namespace to be exported',
      async () => {
        const s = await scrape(exporter);
        return netnsInfo(s).some((i) => i.netns === 'late') ? Date.now() : undefined;
      },
      5000,
      20,
    );
    assert.ok(seen - created <= 1000, `exported ${seen - created} ms after ip netns add (which took ${created - t0} ms)`);
    spaces.push({ label: 'late', ns: late });
    await late.run('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
    // a veth peer moved in afterwards, flapped
    await lab.own.ipBatch(['link add vl type veth peer name pl', 'link set pl netns late', 'link set vl up']);
    await late.ipBatch(['link set pl name eth1', 'link set eth1 up', ...flaps('eth1', 3)]);
    const samples = await expectAllExact(exporter, spaces);
    assert.deepEqual(netnsInfo(samples), await expectedInfo(['a', 'b', 'c', 'd', 'late'], true));
    assert.equal(sampleValue(samples, 'linkstate_exporter_namespaces'), 7);
  });

  it('a file under the paths that is not a namespace is counted and skipped', async (t) => {
    if (!requireRoot(t)) return;
    const errors = (s: readonly Sample[]): number | undefined =>
      sampleValue(s, 'linkstate_exporter_netns_errors_total', { reason: 'not_a_namespace' });
    await eventually('the file present at start to be counted', async () => errors(await scrape(exporter)) === 1);
    await lab.run('sh', ['-c', 'echo later > /run/netns/not-a-netns-either']);
    const samples = await eventually('the file made later to be counted', async () => {
      const s = await scrape(exporter);
      return errors(s) === 2 ? s : undefined;
    });
    assert.equal(exporter.child.exitCode, null);
    assert.equal(sampleValue(samples, 'linkstate_exporter_namespaces'), 7);
    assert.ok(samples.every((s) => !String(s.labels['netns']).startsWith('not-a-netns')));
    assert.deepEqual(await mismatches(samples, spaces), []);
    await exporter.logged(/not a network namespace/);
  });

  it('a file named like another namespace\'s nsid-N label does not take it: every label stays unique', async (t) => {
    if (!requireRoot(t)) return;
    const impostor = `nsid-${unnamedNsid}`;
    await lab.run('ip', ['netns', 'add', impostor]);
    try {
      const samples = await eventually('the impostor namespace to be exported', async () => {
        const s = await scrape(exporter);
        return sampleValue(s, 'linkstate_exporter_namespaces') === 8 ? s : undefined;
      });
      const info = netnsInfo(samples);
      assert.equal(new Set(info.map((i) => i.netns)).size, info.length, `labels unique: ${info.map((i) => i.netns).join(',')}`);
      const unnamedInfo = info.filter((i) => i.netns === impostor);
      assert.deepEqual(unnamedInfo.map((i) => i.nsid), [String(unnamedNsid)], 'nsid-N stays the unnamed namespace of nsid N');
      const inode = (await lab.run('stat', ['-L', '-c', '%i', `/run/netns/${impostor}`])).trim();
      const theirs = info.find((i) => i.inode === inode);
      assert.ok(theirs !== undefined, 'the impostor namespace is exported');
      assert.equal(theirs.netns, `nsid-${theirs.nsid}`, 'under its own nsid-M');
      assert.notEqual(theirs.nsid, String(unnamedNsid));
      const keys = samples.filter((x) => x.name === 'linkstate_up').map((x) => `${x.labels['device']}|${x.labels['netns'] ?? ''}`);
      assert.equal(new Set(keys).size, keys.length, 'no duplicate series');
    } finally {
      await lab.run('ip', ['netns', 'del', impostor]);
      await eventually('the impostor namespace to go', async () => sampleValue(await scrape(exporter), 'linkstate_exporter_namespaces') === 7);
    }
  });

  it('namespace files whose names are not UTF-8 get distinct, escaped netns labels', async (t) => {
    if (!requireRoot(t)) return;
    // 'n' + 0xff and 'n' + 0xfe: one label 'n\uFFFD' for both, were the names decoded lossily
    const names = [`"$(printf 'n\\377')"`, `"$(printf 'n\\376')"`];
    await lab.run('sh', ['-c', names.map((n) => `ip netns add ${n}`).join(' && ')]);
    try {
      // Counted as soon as they are known; their links land with their first dump, a moment later.
      const lo = (s: Awaited<ReturnType<typeof scrape>>, netns: string): boolean =>
        s.some((x) => x.name === 'linkstate_up' && x.labels['device'] === 'lo' && x.labels['netns'] === netns);
      const samples = await eventually('both namespaces and their links to be exported', async () => {
        const s = await scrape(exporter);
        return sampleValue(s, 'linkstate_exporter_namespaces') === 9 && lo(s, 'n\\xff') && lo(s, 'n\\xfe') ? s : undefined;
      });
      const labels = netnsInfo(samples).map((i) => i.netns);
      assert.ok(labels.includes('n\\xff') && labels.includes('n\\xfe'), `labels: ${labels.join(',')}`);
      assert.equal(new Set(labels).size, labels.length, 'labels unique');
      const keys = samples.filter((x) => x.name === 'linkstate_up').map((x) => `${x.labels['device']}|${x.labels['netns'] ?? ''}`);
      assert.ok(keys.includes('lo|n\\xff') && keys.includes('lo|n\\xfe'), 'the lo of each, under its own label');
      assert.equal(new Set(keys).size, keys.length, 'no duplicate series');
    } finally {
      await lab.run('sh', ['-c', names.map((n) => `ip netns del ${n}`).join('; ')]);
      await eventually('the two namespaces to go', async () => sampleValue(await scrape(exporter), 'linkstate_exporter_namespaces') === 7);
    }
  });

  it('drops and counts a netlink message forged by a user-space process', async (t) => {
    if (!requireRoot(t)) return;
    // this thread is in the lab: the forger's socket lives where the exporter's does
    const portId = linkSocketPortId(exporter.child.pid!);
    const samples = await expectForgedDropped(portId, () => scrape(exporter));
    assert.deepEqual(await mismatches(samples, spaces), []);
  });

  it('the netns filters leave namespaces out by label, and the device filters apply inside every namespace', async (t) => {
    if (!requireRoot(t)) return;
    const filtered = await startExporter(lab.own, [...NETNS_FLAGS, '--collector.netns.exclude=a|nsid-.*', '--collector.device-exclude=lo', '--no-collector.ethtool']);
    try {
      await eventually('filtered exporter ready', async () => (await filtered.get('/-/ready')).status === 200);
      const samples = await scrape(filtered);
      const labels = new Set(samples.filter((x) => x.name === 'linkstate_up').map((x) => x.labels['netns']));
      assert.ok(!labels.has('a'), 'a is excluded');
      assert.ok(![...labels].some((l) => l?.startsWith('nsid-')), 'the unnamed namespace (nsid-N) is excluded');
      for (const kept of ['b', 'd']) assert.ok(labels.has(kept), `${kept} is exported`);
      assert.ok(samples.every((x) => x.labels['device'] !== 'lo'), 'lo excluded in every namespace');
      const info = samples.filter((x) => x.name === 'linkstate_netns_info').map((x) => x.labels['netns']);
      assert.ok(!info.includes('a') && info.includes('b'), `info: ${info.join(',')}`);
      // what is exported stays exact, namespace by namespace
      const kept = spaces.filter((space) => space.label === undefined || (space.label !== 'a' && !space.label.startsWith('nsid-')));
      // (lo is in every namespace's sysfs but excluded here: its lines are the only ones expected)
      const mismatched = (await mismatches(samples, kept)).filter((m) => !/^[^:]+: lo: /.test(m));
      assert.deepEqual(mismatched, []);
    } finally {
      await filtered.stop();
    }
  });

  it('an overrun storm across namespaces leaves every count exact', async (t) => {
    if (!requireRoot(t)) return;
    const tiny = await startExporter(lab.own, [...NETNS_FLAGS, '--netlink.receive-buffer-bytes=4096', '--log.level=warn', '--no-collector.ethtool']);
    let stopped = false;
    try {
      await eventually('tiny exporter ready', async () => (await tiny.get('/-/ready')).status === 200);
      assert.deepEqual(await mismatches(await scrape(tiny), spaces), []);
      // One batch in the lab flips the lab's ends of the veth pairs: carrier events in a, b, late
      // and the unnamed namespace too, while a and d flap on their own.
      const rounds = 150;
      const storm: string[] = [];
      for (let i = 0; i < rounds; i++) for (const dev of ['va', 'va2', 'vb', 'vu', 'vl']) storm.push(`link set ${dev} down`, `link set ${dev} up`);
      await Promise.all([lab.own.ipBatch(storm), nsOf('a').ipBatch(flaps('eth0', rounds)), nsOf('d').ipBatch(flaps('eth0p', rounds))]);
      // Then the end of the storm while the exporter is not reading (stopped, as a busy host may
      // deschedule it): a flood of the lab's own pairs fills its queue, so the last changes of
      // every namespace are certainly lost; only a dump of every namespace after the overrun can
      // make their counts exact.
      tiny.child.kill('SIGSTOP');
      stopped = true;
      const tail: string[] = [];
      for (let i = 0; i < FLOOD_ROUNDS; i++) tail.push(`link set group ${FLOOD_GROUP} down`, `link set group ${FLOOD_GROUP} up`);
      await lab.own.ipBatch(tail);
      await lab.own.ipBatch([...flaps('va', 2), ...flaps('vb', 3), ...flaps('vu', 1), ...flaps('vl', 2), 'link set va2 down']);
      await Promise.all([nsOf('a').ipBatch(flaps('eth0', 2)), nsOf('d').ipBatch(flaps('eth0p', 3)), nsOf('late').ipBatch(flaps('eth0', 1))]);
      await new Promise((r) => setTimeout(r, 200)); // linkwatch's late carrier notifications, lost as well
      tiny.child.kill('SIGCONT');
      stopped = false;
      const samples = await expectAllExact(tiny, spaces, 15_000);
      const overruns = sampleValue(samples, 'linkstate_exporter_netlink_overruns_total') ?? 0;
      assert.ok(overruns > 0, 'a 4 KiB receive buffer must overrun during the storm');
      assert.ok((sampleValue(samples, 'linkstate_exporter_netlink_resyncs_total') ?? 0) >= 1);
      assert.equal(sampleValue(samples, 'linkstate_exporter_namespaces'), 7);
      await expectAllExact(exporter, spaces, 15_000);
      const exit = await tiny.stop();
      assert.equal(exit.code, 0);
    } finally {
      if (stopped) tiny.child.kill('SIGCONT');
      await tiny.stop();
    }
  });

  it('a deleted namespace loses its series and really dies: no fd keeps it (its veth peer in the lab goes too)', async (t) => {
    if (!requireRoot(t)) return;
    const before = await scrape(exporter);
    assert.ok(inSpace(before, 'c').length > 0);
    assert.ok(inSpace(before, `nsid-${unnamedNsid}`).length > 0);
    const namespacesBefore = sampleValue(before, 'linkstate_exporter_namespaces');
    await nsOf('c').destroy(); // ip netns del c
    await unnamed.destroy(); // its only process exits
    named.delete('c');
    spaces = spaces.filter((s) => s.label !== 'c' && s.label !== `nsid-${unnamedNsid}`);
    await eventually('vc and vu (the peers of the deleted namespaces’ eth0) to disappear', async () => !(await lab.hasDevice('vc')) && !(await lab.hasDevice('vu')), 10_000);
    const samples = await expectAllExact(exporter, spaces);
    assert.ok(samples.every((s) => s.labels['netns'] !== 'c' && s.labels['netns'] !== `nsid-${unnamedNsid}`));
    assert.deepEqual(netnsInfo(samples), await expectedInfo(['a', 'b', 'd', 'late'], false));
    assert.equal(sampleValue(samples, 'linkstate_exporter_namespaces'), (namespacesBefore ?? NaN) - 2);
  });

  it('without CAP_NET_ADMIN and CAP_NET_BROADCAST the flag fails with one line and exit 1', async (t) => {
    if (!requireRoot(t)) return;
    const cases: Array<[string, readonly string[], RegExp]> = [
      ['root without both', WITHOUT_NETNS_CAPS, /lacks CAP_NET_ADMIN and CAP_NET_BROADCAST$/],
      ['root without CAP_NET_BROADCAST', ['--inh-caps=-all', '--bounding-set=-net_broadcast'], /lacks CAP_NET_BROADCAST$/],
      ['root without CAP_NET_ADMIN', ['--inh-caps=-all', '--bounding-set=-net_admin'], /lacks CAP_NET_ADMIN$/],
      ['nobody', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'], /lacks CAP_NET_ADMIN and CAP_NET_BROADCAST$/],
    ];
    for (const [what, setpriv, lacks] of cases) {
      const result = await lab.runResult('setpriv', [...setpriv, '--', process.execPath, MAIN, ...NETNS_FLAGS, '--web.listen-address=127.0.0.1:19199']);
      assert.equal(result.code, 1, `${what}: exit ${result.code ?? result.signal}, stderr ${result.stderr}`);
      const stderr = result.stderr.replace(/\n$/, '');
      assert.equal(stderr.split('\n').length, 1, `${what}: not one line: ${result.stderr}`);
      assert.match(stderr, /--collector\.netns/, what);
      assert.match(stderr, lacks, what);
    }
  });

  it('without the flag the same unprivileged exporter starts and exports its own links', async (t) => {
    if (!requireRoot(t)) return;
    for (const setpriv of [WITHOUT_NETNS_CAPS, ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']]) {
      const unprivileged: Netns = { ...lab.own, spawn: (cmd, args, opts) => lab.own.spawn('setpriv', [...setpriv, '--', cmd, ...args], opts) };
      const plain = await startExporter(unprivileged, ['--log.level=warn']);
      try {
        await eventually('unprivileged exporter ready', async () => (await plain.get('/-/ready')).status === 200);
        const status = readFileSync(`/proc/${plain.child.pid}/status`, 'utf8');
        const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
        assert.equal((eff >> 12n) & 1n, 0n, 'the exporter must run without CAP_NET_ADMIN');
        assert.equal((eff >> 11n) & 1n, 0n, 'the exporter must run without CAP_NET_BROADCAST');
        const samples = await scrape(plain);
        assert.deepEqual(kernelMismatches(samples, await readKernelCounters(lab.own)), []);
        assert.ok(samples.every((s) => s.labels['netns'] === undefined && s.name !== 'linkstate_netns_info'));
      } finally {
        const stopped = await plain.stop();
        assert.equal(stopped.code, 0);
      }
    }
  });

  it('exits 0 within a second of SIGTERM', async (t) => {
    if (!requireRoot(t)) return;
    const result = await exporter.stop();
    assert.equal(result.code, 0);
    assert.ok(result.ms < 1000, `exit took ${result.ms} ms`);
  });
});
